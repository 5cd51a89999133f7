CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(60) NOT NULL, email varchar(120));
INSERT INTO customers VALUES (10, 'Aiko Tanaka', 'aiko@example.com'), (11, 'Bruno Costa', NULL);
