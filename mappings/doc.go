// Package mappings is beamsync's declarative mapping engine: one YAML file
// per view says how the rows of one source table become the rows of the
// view, with expressions in expr-lang (https://expr-lang.org). It imports no
// Beam package: the pipeline wraps it.
//
// # Mapping files
//
//	view: customer_orders          # required, [a-z0-9_]+
//	source: public.orders          # required: "table", "schema.table" or "db.table"
//	key: [order_id]                # the view key (output field names); default: the
//	                               # primary key, when its columns pass through unrenamed
//	where: status != "draft"       # optional bool expression
//	all_columns: false             # true: pass every column through; fields add or
//	exclude: [secret]              # override, exclude removes
//	fields:                        # in order; each an expression over the row's columns
//	  order_id: id
//	  customer: upper(customer_name)
//	  total: decimal(amount)
//	  address:                     # a nested object (*change.Doc)
//	    city: city
//	    zip: coalesce(zip, "")
//	deletes: delete                # delete (default) | ignore | soft
//	on_error: dead_letter          # dead_letter (default) | fail
//	schema_change: fail            # fail (default) | dead_letter | null
//
// YAML removes the quotes around a quoted value: a string literal is
// written '"draft"' or as part of a larger expression. Parse reports every
// problem it finds (unknown settings with a did-you-mean, missing or bad
// values, expression syntax errors), and Compile every type error, each as a
// [CompileError] "file:line:col: message" followed by the source line and a
// caret; positions inside expressions are positions in the file.
//
// # Rows and values
//
// An expression reads the row's columns by name, with the types of the
// change package's values (int64, float64, change.Decimal, string, []byte,
// time.Time, change.Date, change.TimeOfDay, change.Interval, change.JSON,
// []any; objects and columns of kind any are untyped). It can also read
// _op ("r", "c", "u" or "d"), _position (int), _commit_time (time.Time, UTC)
// and _table ("schema.table"); a column of the same name takes precedence,
// and a helper stays callable when a column has its name. Expressions are
// type-checked at Compile: "amount * 2" on a decimal or "upper(id)" on an int
// is refused. expr's now() is disabled (views must not depend on when rows
// are mapped; use _commit_time).
//
// Values keep their meaning: a decimal never goes through float64 unless
// float() is called, timestamps stay time.Time in UTC, JSON stays
// change.JSON, NULL stays nil. Results that are not in the change package's
// value set are normalised (int to int64, time.Duration to an ISO 8601
// interval, []string to []any).
//
// NULL behaves much as in SQL: arithmetic on null gives null; an ordering
// comparison or a text test (contains, startsWith, endsWith, matches) with
// null is false; null counts as false in &&, ||, ?: and where; x == nil and
// x != nil test for null; helpers return null for a null argument unless
// documented otherwise. Decimals compare
// exactly with numbers (amount > 100, amount == 0.1); dates and times of day
// compare with text ("2024-01-01"). Arithmetic on decimals, dates and
// intervals is refused: convert with float() (approximate) or compare.
//
// A field that is a bare column name, and every column of all_columns,
// copies the value without running an expression; a field that is a plain
// call of a helper on columns and literals calls it directly. A mapping that
// passes every column through unchanged shares the change's row image as the
// doc's values. The docs and keys an Evaluator returns must not be modified.
//
// # Applying changes
//
// [Evaluator.Apply] maps one change to 0, 1 or 2 records. Reads and inserts
// matching where become upserts. An update matching where is an upsert; one
// that does not is a delete of its key (a row that stops matching leaves the
// view); an update that changes the view key is preceded by a delete of the
// old key, when the before image holds the columns the key is built from. A
// delete (where is not evaluated) becomes a delete of the key computed from
// the before image (deletes: delete), nothing (ignore), or the mapped before
// image with _deleted: true (soft; upserts then carry _deleted: false).
//
// A column the source did not send (change.Unchanged: an unchanged TOAST
// value, or a column missing from a partial before image) never becomes
// null: reading it makes the row fail with a [RowError] wrapping
// [ErrNoValue]. So does a runtime failure (int("x"), a bad zone), while other
// rows still map.
//
// # Helper functions
//
// Casts (they replace expr's builtins of the same names, which fail on null
// and know no decimals):
//
//	decimal(x, scale?)    int, float, decimal or text to decimal; floats by their shortest
//	                      exact text (0.1 → 0.1), text parsed (1e3 → 1000); scale rounds
//	                      half away from zero
//	int(x)                to int64; floats and decimals truncate toward zero; text must
//	                      be an integer; true → 1
//	float(x)              to float64
//	string(x)             canonical text: decimals as written, timestamps RFC 3339 in UTC,
//	                      arrays and objects as JSON; bytes must be UTF-8 (see hex, base64)
//	bool(x)               true/false/t/f/yes/no/y/n/on/off/1/0, numbers ≠ 0
//
// Nulls:
//
//	coalesce(a, b, ...)   the first non-null argument (all of one kind)
//	default(x, d)         x, or d when x is null
//	nullif(a, b)          null when a equals b, else a
//	is_null(x)            whether x is null (never null)
//
// Strings (lengths and positions count characters, so emoji are one each):
//
//	upper(s), lower(s)    case mapping, character by character (Unicode)
//	trim(s, chars?)       remove white space (or any of chars) at both ends
//	ltrim(s, chars?)      ... at the start
//	rtrim(s, chars?)      ... at the end
//	length(s)             the number of characters
//	concat(a, ...)        the text of the arguments joined; nulls are skipped; never null
//	substr(s, start, n?)  SQL substring: start counts from 1
//	replace(s, old, new)  replace every occurrence (an empty old changes nothing)
//	split(s, sep)         an array of the parts
//	join(arr, sep?)       the text of the elements joined; nulls are skipped
//	left(s, n), right(s, n) the first / last n characters (all but the last / first -n)
//	lpad(s, n, fill?)     pad on the left to n characters with fill (a space), or cut to n
//	rpad(s, n, fill?)     pad on the right
//	regex_match(s, re)    whether the regexp (Go RE2 syntax) matches
//	regex_replace(s, re, r) replace every match; $1 and ${name} expand groups
//	regex_extract(s, re, group?) the first match or its group; null when none
//	hex(x), base64(x)     encode bytes (or text)
//
// Regular expressions, zone names, units and JSON paths given as literals are
// checked at Compile; regexps are compiled once.
//
// Dates and times (a zone is an IANA name, "UTC" or an offset "+09:00";
// "Local" is refused):
//
//	parse_time(s, layout?, zone?) text to a UTC timestamp; the layout is a Go layout
//	                      ("2006-01-02 15:04") or a name (RFC3339, DateTime, DateOnly...);
//	                      without one RFC 3339 and "2006-01-02[ 15:04[:05[.999]]]" are
//	                      tried; text without an offset is read in zone (UTC)
//	format_time(t, layout, zone?) a timestamp as text, as a wall clock in zone (UTC)
//	to_tz(t, zone)        RFC 3339 text with the zone's offset, "2024-05-02T05:00:00+09:00".
//	                      Text, not a timestamp: views store timestamps in UTC, which
//	                      would lose the zone
//	date_of(t, zone?)     the calendar date (change.Date) in zone (UTC)
//	trunc_time(t, unit, zone?) the start of the microsecond, millisecond, second, minute,
//	                      hour, day, week (Monday), month, quarter or year, as a wall
//	                      clock in zone (UTC); a UTC timestamp
//	unix_ms(t)            milliseconds since 1970-01-01 UTC
//	from_unix_ms(ms)      the timestamp of Unix milliseconds
//	year(t, zone?)        the year of a timestamp (in zone, UTC) or of a date, as int
//	month(t, zone?)       the month, 1 to 12
//	day(t, zone?)         the day of the month
//
// JSON and hashing:
//
//	json_get(j, path)     the value at "a.b[0].c" ("$." optional; ["key"] quotes keys;
//	                      [-1] is the last element) of JSON, JSON text or an array or
//	                      object; null when absent. Strings, bools and null as such,
//	                      integers as int, other numbers as exact decimals, objects and
//	                      arrays as JSON
//	json_parse(s)         check JSON text and make it a JSON value
//	json_string(v)        any value as JSON text
//	sha256(x), md5(x)     hex digest of the bytes of x (text as UTF-8, other values
//	                      by their canonical text)
//	hash64(a, ...)        16 hex digits: FNV-1a 64 of the canonical JSON of the
//	                      arguments as an array; stable, for building keys; never null
//
// expr's other builtins (len, abs, round, filter, map, ...) remain available.
package mappings
