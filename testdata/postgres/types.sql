-- Fixture for the PostgreSQL source: one column per common type, with edge
-- values, and a table with a composite primary key. Self-contained: load it
-- into an empty database (public schema). Values are chosen so that they do
-- not depend on the session's TimeZone, DateStyle or locale.

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'very happy');

CREATE TABLE all_types (
  id          integer PRIMARY KEY,
  c_int2      smallint,
  c_int4      integer,
  c_int8      bigint,
  c_num38     numeric(38,0),
  c_num3810   numeric(38,10),
  c_numeric   numeric,
  c_float4    real,
  c_float8    double precision,
  c_text      text,
  c_varchar   varchar(20),
  c_char      char(5),
  c_bytea     bytea,
  c_bool      boolean,
  c_date      date,
  c_time      time,
  c_timetz    timetz,
  c_ts        timestamp,
  c_tstz      timestamptz,
  c_interval  interval,
  c_uuid      uuid,
  c_json      json,
  c_jsonb     jsonb,
  c_int_arr   integer[],
  c_text_arr  text[],
  c_mood      mood,
  c_int_2d    integer[][],
  c_num_arr   numeric[],
  c_tstz_arr  timestamptz[],
  c_mood_arr  mood[],
  c_inet      inet
);

-- 1: ordinary values, maxima, long numerics, Unicode, micros, non-UTC zones.
INSERT INTO all_types VALUES (
  1,
  32767,
  2147483647,
  9223372036854775807,
  12345678901234567890123456789012345678,
  1234567890123456789012345678.0123456789,
  3.14159265358979323846264338327950288419716939937510582097494459,
  1.1,
  3.141592653589793,
  'héllo wörld 👋🏽 日本語 ✓ "quoted" \ tab	end',
  'abc',
  'ab',
  '\x00010203ff00'::bytea,
  true,
  '2024-02-29',
  '13:45:30.123456',
  '13:45:30+02',
  '2024-02-29 13:45:30.123456',
  '2024-02-29 13:45:30.123456+05:30',
  '1 year 2 mons 3 days 04:05:06.5',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '{"b": 1, "a": [1, 2]}',
  '{"nested": {"x": [1, {"y": null}], "s": "t"}, "n": 1.50}',
  '{1,NULL,3}',
  '{"a b","c,d","NULL",NULL,"q\"uote","back\\slash","","{braces}"}',
  'very happy',
  '{{1,2},{3,NULL}}',
  '{1.50,NaN,NULL,-0.000000000000000000001}',
  '{"2024-01-01 00:00:00+00",NULL,"2024-06-30 23:59:59.999999-02"}',
  '{happy,NULL,"very happy"}',
  '192.168.0.1/24'
);

-- 2: minima, special floats and numerics, empty values, infinities.
INSERT INTO all_types VALUES (
  2,
  -32768,
  -2147483648,
  -9223372036854775808,
  -99999999999999999999999999999999999999,
  -0.0000000001,
  'NaN',
  'NaN',
  'Infinity',
  '',
  '',
  '',
  '\x'::bytea,
  false,
  'infinity',
  '00:00:00',
  '23:59:59.999999-07:30',
  'infinity',
  '-infinity',
  '-1 days -02:00:00',
  '00000000-0000-0000-0000-000000000000',
  '[]',
  '"str"',
  '{}',
  '{}',
  'sad',
  '{}',
  '{}',
  '{}',
  '{}',
  '::1'
);

-- 3: the other infinities, BC dates, zero, negative interval parts.
INSERT INTO all_types VALUES (
  3,
  0,
  0,
  0,
  0,
  0,
  'Infinity',
  '-Infinity',
  '-Infinity',
  ' leading and trailing spaces ',
  'x',
  'abcde',
  '\xdeadbeef'::bytea,
  true,
  '0044-03-15 BC',
  '24:00:00',
  '00:00:00+00',
  '1999-12-31 23:59:59.999999',
  'infinity',
  'P-1Y-2M3DT-4H-5M-6S',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'null',
  '{"a": {"b": {"c": [true, false, null, 1e100, "x"]}}}',
  '{-1}',
  '{NULL}',
  'ok',
  '{{NULL,NULL}}',
  '{-Infinity}',
  '{infinity}',
  '{sad}',
  '10.0.0.0/8'
);

-- 4: NULL in every column but the key.
INSERT INTO all_types (id) VALUES (4);

-- A composite primary key of mixed types.
CREATE TABLE composite_pk (
  tenant  text,
  id      bigint,
  day     date,
  amount  numeric(12,2) NOT NULL,
  note    text,
  PRIMARY KEY (tenant, id, day)
);

INSERT INTO composite_pk VALUES
  ('acme',   1, '2024-01-01', 10.00, 'first'),
  ('acme',   1, '2024-01-02', 11.50, NULL),
  ('acme',   2, '2024-01-01', -3.25, 'negative'),
  ('Acme',   1, '2024-01-01',  0.00, 'capital A sorts apart'),
  ('bücher', 7, '1999-12-31', 99.99, 'unicode tenant'),
  ('zeta',   9223372036854775807, '2038-01-19', 1.00, 'max id');
