CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text NOT NULL);
CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
  line_no int NOT NULL, sku text NOT NULL, qty int NOT NULL, unit_cents int NOT NULL);
INSERT INTO orders VALUES (1, 10, 'paid'), (2, 11, 'draft'), (3, 99, 'paid'), (4, NULL, 'paid');
INSERT INTO order_lines VALUES
  (100, 1, 2, 'TEA-01', 2, 450), (101, 1, 1, 'CUP-07', 1, 1200),
  (102, 2, 1, 'TEA-01', 5, 450), (103, 3, 1, 'POT-02', 1, 3900);
