-- Fixture of the MySQL/MariaDB source: every column type it decodes, at its
-- edges, and a table with a composite primary key. Self-contained: run it in
-- an empty utf8mb4 database (statements end with ";" at the end of a line).
-- TIMESTAMP values are written with FROM_UNIXTIME so that they mean the same
-- instant whatever the session's time zone. Expected values: see
-- sources/mysql/types_test.go.

CREATE TABLE all_types (
  id          INT NOT NULL PRIMARY KEY,
  c_tinyint   TINYINT,
  c_smallint  SMALLINT,
  c_mediumint MEDIUMINT,
  c_int       INT,
  c_bigint    BIGINT,
  c_tinyint_u TINYINT UNSIGNED,
  c_bigint_u  BIGINT UNSIGNED,
  c_decimal   DECIMAL(65,30),
  c_money     DECIMAL(10,2),
  c_float     FLOAT,
  c_double    DOUBLE,
  c_varchar   VARCHAR(100),
  c_char      CHAR(5),
  c_text      TEXT,
  c_blob      BLOB,
  c_binary    BINARY(16),
  c_varbinary VARBINARY(20),
  c_bool      BOOL,
  c_bit       BIT(8),
  c_bit1      BIT(1),
  c_date      DATE,
  c_datetime  DATETIME(6),
  c_timestamp TIMESTAMP(6) NULL DEFAULT NULL,
  c_time      TIME(6),
  c_year      YEAR,
  c_json      JSON,
  c_enum      ENUM('small','medium','large'),
  c_set       SET('red','green','blue')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- 1: maximum values
INSERT INTO all_types VALUES (1,
  127, 32767, 8388607, 2147483647, 9223372036854775807,
  255, 18446744073709551615,
  99999999999999999999999999999999999.999999999999999999999999999999, 99999999.99,
  3.1415927, 1.7976931348623157e308,
  'héllo wörld 😀🎉', 'abcde', 'line one\nline "two"\ttab',
  x'000102FF0000', x'0102', x'DEADBEEF',
  TRUE, b'10101010', b'1',
  '9999-12-31', '9999-12-31 23:59:59.999999', FROM_UNIXTIME(2147483647.999999),
  '838:59:59.000000', 2155,
  '{"a": {"b": [1, 2.5, "x", null, true]}, "emoji": "😀"}',
  'large', 'red,blue');

-- 2: minimum and empty values
INSERT INTO all_types VALUES (2,
  -128, -32768, -8388608, -2147483648, -9223372036854775808,
  0, 0,
  -99999999999999999999999999999999999.999999999999999999999999999999, -0.01,
  -1.5, -2.2250738585072014e-308,
  '', '', '',
  '', x'', x'',
  FALSE, b'0', b'0',
  '1000-01-01', '1000-01-01 00:00:00.000000', FROM_UNIXTIME(1),
  '-838:59:59.000000', 1901,
  '[]',
  'small', '');

-- 3: NULL in every nullable column
INSERT INTO all_types (id) VALUES (3);

-- 4: everyday values
INSERT INTO all_types VALUES (4,
  1, 2, 3, 4, 5,
  6, 9223372036854775808,
  0.000000000000000000000000000001, 12.50,
  0.1, 0.1,
  'it''s a "quote" \\ backslash', 'a', 'ünïcödé ✓',
  x'00', x'00112233445566778899AABBCCDDEEFF', x'00',
  2, b'1111111', b'0',
  '2024-02-29', '2024-02-29 12:34:56.789012', FROM_UNIXTIME(1709210096.789012),
  '12:34:56.789012', 2024,
  'null',
  'medium', 'green');

CREATE TABLE order_lines (
  order_id BIGINT NOT NULL,
  line_no  INT NOT NULL,
  sku      VARCHAR(32) NOT NULL,
  qty      INT NOT NULL,
  price    DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO order_lines VALUES
  (1001, 1, 'SKU-A', 2, 9.99),
  (1001, 2, 'SKU-B', 1, 120.00),
  (1002, 1, 'SKU-A', 5, 9.99),
  (1003, 1, 'SKU-C', 1, 0.50),
  (1003, 2, 'SKU-A', 3, 9.99),
  (1003, 3, 'SKU-D', 10, 1.25);
