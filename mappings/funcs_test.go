package mappings

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// kindsTable has a nullable column of every kind.
func kindsTable() *change.Table {
	return &change.Table{Name: "k", Key: []int{0}, Columns: []change.Column{
		{Name: "id", Kind: change.KindInt},
		{Name: "s", Kind: change.KindString, Nullable: true},
		{Name: "s2", Kind: change.KindString, Nullable: true},
		{Name: "n", Kind: change.KindInt, Nullable: true},
		{Name: "f", Kind: change.KindFloat, Nullable: true},
		{Name: "d", Kind: change.KindDecimal, Nullable: true},
		{Name: "t", Kind: change.KindTimestamp, Nullable: true},
		{Name: "dt", Kind: change.KindDate, Nullable: true},
		{Name: "j", Kind: change.KindJSON, Nullable: true},
		{Name: "b", Kind: change.KindBytes, Nullable: true},
		{Name: "arr", Kind: change.KindArray, Nullable: true},
		{Name: "x", Kind: change.KindAny, Nullable: true},
	}}
}

// evalExpr maps one row through a mapping whose field v is code; vals set
// columns of kindsTable (the others are null).
func evalExpr(t *testing.T, code string, vals map[string]any) (any, error) {
	t.Helper()
	tb := kindsTable()
	spec := &Spec{View: "k", Source: "k", Fields: []FieldSpec{{Name: "id", Expr: "id"}, {Name: "v", Expr: code}}}
	m, err := Compile(spec, tb)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	row := make([]any, len(tb.Columns))
	row[0] = int64(1)
	for k, v := range vals {
		i := tb.ColumnIndex(k)
		if i < 0 {
			t.Fatalf("no column %s", k)
		}
		row[i] = v
	}
	recs, err := m.NewEvaluator().Apply(&change.Change{Op: change.OpCreate, After: row}, nil)
	if err != nil {
		return nil, err
	}
	v, _ := recs[0].Doc.Get("v")
	return v, nil
}

type helperCase struct {
	code string
	vals map[string]any
	want any    // the value, when err is ""
	err  string // a substring of the error
}

type vals = map[string]any

const digits38 = "12345678901234567890123456789012345678"

var ts = time.Date(2024, 5, 1, 20, 30, 15, 123456789, time.UTC)

func fnvHex(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}

var helperCases = []helperCase{
	// decimal
	{code: `decimal(n)`, vals: vals{"n": int64(5)}, want: change.Decimal("5")},
	{code: `decimal(f)`, vals: vals{"f": 0.1}, want: change.Decimal("0.1")},
	{code: `decimal(f)`, vals: vals{"f": math.Inf(-1)}, want: change.Decimal("-Infinity")},
	{code: `decimal(s)`, vals: vals{"s": " 1.50 "}, want: change.Decimal("1.50")},
	{code: `decimal("1e3")`, want: change.Decimal("1000")},
	{code: `decimal("-1.5e-3")`, want: change.Decimal("-0.0015")},
	{code: `decimal(".5")`, want: change.Decimal("0.5")},
	{code: `decimal("+007.10")`, want: change.Decimal("7.10")},
	{code: `decimal("-0.00")`, want: change.Decimal("0.00")},
	{code: `decimal("nan")`, want: change.Decimal("NaN")},
	{code: `decimal(s)`, vals: vals{"s": digits38}, want: change.Decimal(digits38)},
	{code: `decimal(s)`, vals: vals{"s": "-0." + digits38}, want: change.Decimal("-0." + digits38)},
	{code: `decimal(d)`, vals: vals{"d": change.Decimal(digits38)}, want: change.Decimal(digits38)},
	{code: `decimal(d, 2)`, vals: vals{"d": change.Decimal("2.345")}, want: change.Decimal("2.35")},
	{code: `decimal(d, 2)`, vals: vals{"d": change.Decimal("-2.345")}, want: change.Decimal("-2.35")},
	{code: `decimal("9.995", 2)`, want: change.Decimal("10.00")},
	{code: `decimal("1", 3)`, want: change.Decimal("1.000")},
	{code: `decimal("-0.004", 2)`, want: change.Decimal("0.00")},
	{code: `decimal(s, 0)`, vals: vals{"s": "9999999999999999999999999999999999999.5"}, want: change.Decimal("10000000000000000000000000000000000000")},
	{code: `decimal(f, 2)`, vals: vals{"f": 3.14159}, want: change.Decimal("3.14")},
	{code: `decimal(s)`, vals: vals{"s": "abc"}, err: `cannot convert "abc" to decimal`},
	{code: `decimal(s)`, vals: vals{"s": "1e99999"}, err: `cannot convert "1e99999" to decimal`},
	{code: `decimal(d, n)`, vals: vals{"d": change.Decimal("1"), "n": int64(-1)}, err: "scale must be an int"},
	{code: `decimal(s)`, want: nil},
	{code: `decimal(t)`, err: "decimal: cannot convert timestamp"},
	// int
	{code: `int(s)`, vals: vals{"s": "42"}, want: int64(42)},
	{code: `int(s)`, vals: vals{"s": "x"}, err: `cannot convert "x" to int`},
	{code: `int(f)`, vals: vals{"f": 3.9}, want: int64(3)},
	{code: `int(f)`, vals: vals{"f": -3.9}, want: int64(-3)},
	{code: `int(f)`, vals: vals{"f": math.NaN()}, err: "out of range"},
	{code: `int(d)`, vals: vals{"d": change.Decimal("123.99")}, want: int64(123)},
	{code: `int(d)`, vals: vals{"d": change.Decimal(digits38)}, err: "out of range"},
	{code: `int(true)`, want: int64(1)},
	{code: `int(x)`, vals: vals{"x": uint64(math.MaxUint64)}, err: "out of range"},
	{code: `int(n)`, want: nil},
	// float
	{code: `float(d)`, vals: vals{"d": change.Decimal("12.5")}, want: 12.5},
	{code: `float("1e3")`, want: 1000.0},
	{code: `float(n)`, vals: vals{"n": int64(2)}, want: 2.0},
	{code: `float(s)`, vals: vals{"s": "x"}, err: `cannot convert "x" to float`},
	{code: `float(s)`, want: nil},
	// string
	{code: `string(n)`, vals: vals{"n": int64(42)}, want: "42"},
	{code: `string(d)`, vals: vals{"d": change.Decimal("12.50")}, want: "12.50"},
	{code: `string(t)`, vals: vals{"t": ts}, want: "2024-05-01T20:30:15.123456789Z"},
	{code: `string(dt)`, vals: vals{"dt": change.Date("2024-05-01")}, want: "2024-05-01"},
	{code: `string(f)`, vals: vals{"f": 0.5}, want: "0.5"},
	{code: `string(f)`, vals: vals{"f": math.NaN()}, want: "NaN"},
	{code: `string(true)`, want: "true"},
	{code: `string(arr)`, vals: vals{"arr": []any{int64(1), "a", nil}}, want: `[1,"a",null]`},
	{code: `string(j)`, vals: vals{"j": change.JSON(`{"a":1}`)}, want: `{"a":1}`},
	{code: `string(b)`, vals: vals{"b": []byte("héllo")}, want: "héllo"},
	{code: `string(b)`, vals: vals{"b": []byte{0xff}}, err: "not UTF-8"},
	{code: `string(s)`, want: nil},
	// bool
	{code: `bool(s)`, vals: vals{"s": "Yes"}, want: true},
	{code: `bool(s)`, vals: vals{"s": "off"}, want: false},
	{code: `bool(s)`, vals: vals{"s": "maybe"}, err: `cannot convert "maybe" to bool`},
	{code: `bool(n)`, vals: vals{"n": int64(0)}, want: false},
	{code: `bool(d)`, vals: vals{"d": change.Decimal("0.00")}, want: false},
	{code: `bool(d)`, vals: vals{"d": change.Decimal("-0.01")}, want: true},
	{code: `bool(n)`, want: nil},
	// nulls
	{code: `coalesce(s, "x")`, want: "x"},
	{code: `coalesce(s, "x")`, vals: vals{"s": "a"}, want: "a"},
	{code: `coalesce(s, s2)`, want: nil},
	{code: `coalesce(n, 0)`, want: int64(0)},
	{code: `coalesce(s, n)`, err: "arguments of different kinds"},
	{code: `default(s, "d")`, want: "d"},
	{code: `nullif(s, "")`, vals: vals{"s": ""}, want: nil},
	{code: `nullif(s, "")`, vals: vals{"s": "a"}, want: "a"},
	{code: `nullif(d, 0)`, vals: vals{"d": change.Decimal("0.00")}, want: nil},
	{code: `nullif(s, "")`, want: nil},
	{code: `is_null(s)`, want: true},
	{code: `is_null(s)`, vals: vals{"s": ""}, want: false},
	// strings
	{code: `upper(s)`, vals: vals{"s": "straße"}, want: "STRAßE"}, // per-character mapping
	{code: `upper(s)`, vals: vals{"s": "héllo 😀"}, want: "HÉLLO 😀"},
	{code: `lower(s)`, vals: vals{"s": "ÀB"}, want: "àb"},
	{code: `upper(s)`, want: nil},
	{code: `upper(x)`, vals: vals{"x": int64(3)}, err: "upper: argument 1 must be a string, got int64"},
	{code: `trim(s)`, vals: vals{"s": " \ta\n "}, want: "a"},
	{code: `trim(s, "x")`, vals: vals{"s": "xxaxx"}, want: "a"},
	{code: `ltrim(s)`, vals: vals{"s": "  a "}, want: "a "},
	{code: `rtrim(s)`, vals: vals{"s": " a  "}, want: " a"},
	{code: `ltrim(s, "x😀")`, vals: vals{"s": "😀xa😀"}, want: "a😀"},
	{code: `trim(s)`, want: nil},
	{code: `length(s)`, vals: vals{"s": "😀a"}, want: int64(2)},
	{code: `length(s)`, want: nil},
	{code: `concat("a", s, 1, d)`, vals: vals{"d": change.Decimal("12.50")}, want: "a112.50"},
	{code: `concat()`, want: ""},
	{code: `concat(b)`, vals: vals{"b": []byte{0xff}}, err: "concat: bytes are not UTF-8"},
	{code: `substr(s, 2, 3)`, vals: vals{"s": "héllo😀"}, want: "éll"},
	{code: `substr(s, 2)`, vals: vals{"s": "😀😀😀"}, want: "😀😀"},
	{code: `substr(s, 0, 2)`, vals: vals{"s": "abc"}, want: "a"},
	{code: `substr(s, 5)`, vals: vals{"s": "abc"}, want: ""},
	{code: `substr(s, -5, 100)`, vals: vals{"s": "abc"}, want: "abc"},
	{code: `substr(s, 1, n)`, vals: vals{"s": "abc", "n": int64(-1)}, err: "negative length"},
	{code: `substr(s, 1)`, want: nil},
	{code: `replace(s, ".", "/")`, vals: vals{"s": "a.b.c"}, want: "a/b/c"},
	{code: `replace(s, "", "x")`, vals: vals{"s": "abc"}, want: "abc"},
	{code: `replace(replace(repeat("a", 100000), "a", repeat("b", 1000)), "b", repeat("c", 1000))`, err: "replace: the result would exceed"},
	{code: `replace(s, "😀", "!")`, vals: vals{"s": "a😀b"}, want: "a!b"},
	{code: `split(s, ",")`, vals: vals{"s": "a,b,,c"}, want: []any{"a", "b", "", "c"}},
	{code: `split(s, "")`, vals: vals{"s": "😀é"}, want: []any{"😀", "é"}},
	{code: `split(s, ",")`, want: nil},
	{code: `join(arr, "-")`, vals: vals{"arr": []any{"a", nil, int64(1)}}, want: "a-1"},
	{code: `join(split("a b", " "))`, want: "ab"},
	{code: `join(x, ",")`, vals: vals{"x": "nope"}, err: "must be an array"},
	{code: `left(s, 2)`, vals: vals{"s": "héllo"}, want: "hé"},
	{code: `left(s, -1)`, vals: vals{"s": "abc"}, want: "ab"},
	{code: `left(s, 10)`, vals: vals{"s": "abc"}, want: "abc"},
	{code: `right(s, 2)`, vals: vals{"s": "héllo😀"}, want: "o😀"},
	{code: `right(s, -1)`, vals: vals{"s": "abc"}, want: "bc"},
	{code: `right(s, -9)`, vals: vals{"s": "abc"}, want: ""},
	{code: `left(s, 1)`, want: nil},
	{code: `lpad(s, 3, "0")`, vals: vals{"s": "7"}, want: "007"},
	{code: `lpad(s, 3)`, vals: vals{"s": "😀"}, want: "  😀"},
	{code: `lpad(s, 3)`, vals: vals{"s": "abcdef"}, want: "abc"},
	{code: `rpad(s, 4, "xy")`, vals: vals{"s": "a"}, want: "axyx"},
	{code: `lpad(s, 3, "")`, vals: vals{"s": "a"}, want: "a"},
	{code: `lpad(s, 2000000)`, vals: vals{"s": "a"}, err: "length must be from 0"},
	{code: `rpad(s, 3)`, want: nil},
	{code: `regex_match(s, "[0-9]+$")`, vals: vals{"s": "abc123"}, want: true},
	{code: `regex_match(s, "^[0-9]+$")`, vals: vals{"s": "abc123"}, want: false},
	{code: `regex_match(s, s2)`, vals: vals{"s": "a", "s2": "("}, err: "invalid regular expression"},
	{code: `regex_match(s, "a")`, want: nil},
	{code: `regex_replace(s, "[0-9]+", "#")`, vals: vals{"s": "a1b22"}, want: "a#b#"},
	{code: `regex_replace(s, "(\\w+) (\\w+)", "$2 $1")`, vals: vals{"s": "john smith"}, want: "smith john"},
	{code: `regex_extract(s, "([0-9]+)", 1)`, vals: vals{"s": "order-123-x"}, want: "123"},
	{code: `regex_extract(s, "[0-9]+")`, vals: vals{"s": "abc"}, want: nil},
	{code: `regex_extract(s, "(x)?([0-9])", 1)`, vals: vals{"s": "a1"}, want: nil},
	{code: `regex_extract(s, "a", 2)`, vals: vals{"s": "a"}, err: "no group 2"},
	{code: `hex(b)`, vals: vals{"b": []byte{0xde, 0xad}}, want: "dead"},
	{code: `base64(s)`, vals: vals{"s": "hi"}, want: "aGk="},
	{code: `hex(b)`, want: nil},
	// times
	{code: `parse_time(s)`, vals: vals{"s": "2024-05-01T10:00:00+02:00"}, want: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)},
	{code: `parse_time(s)`, vals: vals{"s": "2024-05-01 10:00:00.5"}, want: time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC)},
	{code: `parse_time(s)`, vals: vals{"s": "2024-05-01"}, want: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
	{code: `parse_time(s, "02/01/2006 15:04", "Asia/Tokyo")`, vals: vals{"s": "01/05/2024 10:00"}, want: time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC)},
	{code: `parse_time(s, "DateTime", "+02:00")`, vals: vals{"s": "2024-05-01 10:00:00"}, want: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)},
	{code: `parse_time(s)`, vals: vals{"s": "nope"}, err: `parse_time: cannot parse "nope"`},
	{code: `parse_time(s, "2006", s2)`, vals: vals{"s": "2024", "s2": "Nowhere/Zone"}, err: `unknown time zone "Nowhere/Zone"`},
	{code: `parse_time(s)`, want: nil},
	{code: `format_time(t, "2006-01-02 15:04", "Asia/Tokyo")`, vals: vals{"t": ts}, want: "2024-05-02 05:30"},
	{code: `format_time(t, "RFC3339")`, vals: vals{"t": ts}, want: "2024-05-01T20:30:15Z"},
	{code: `format_time(t, "2006")`, want: nil},
	{code: `to_tz(t, "America/New_York")`, vals: vals{"t": ts}, want: "2024-05-01T16:30:15.123456789-04:00"},
	{code: `to_tz(t, "America/New_York")`, vals: vals{"t": time.Date(2024, 3, 10, 7, 30, 0, 0, time.UTC)}, want: "2024-03-10T03:30:00-04:00"},
	{code: `to_tz(t, "America/New_York")`, vals: vals{"t": time.Date(2024, 3, 10, 6, 30, 0, 0, time.UTC)}, want: "2024-03-10T01:30:00-05:00"},
	{code: `to_tz(t, "+05:30")`, vals: vals{"t": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, want: "2024-01-01T05:30:00+05:30"},
	{code: `to_tz(t, "UTC")`, vals: vals{"t": time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, want: "2024-01-01T00:00:00Z"},
	{code: `to_tz(t, s)`, vals: vals{"t": ts, "s": "Local"}, err: `unknown time zone "Local"`},
	{code: `to_tz(t, "Local")`, err: `compile: `},
	{code: `to_tz(t, "UTC")`, want: nil},
	{code: `date_of(t)`, vals: vals{"t": ts}, want: change.Date("2024-05-01")},
	{code: `date_of(t, "Asia/Tokyo")`, vals: vals{"t": ts}, want: change.Date("2024-05-02")},
	{code: `trunc_time(t, "day", "Asia/Tokyo")`, vals: vals{"t": ts}, want: time.Date(2024, 5, 1, 15, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, "hour")`, vals: vals{"t": ts}, want: time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, "minute")`, vals: vals{"t": ts}, want: time.Date(2024, 5, 1, 20, 30, 0, 0, time.UTC)},
	{code: `trunc_time(t, "millisecond")`, vals: vals{"t": ts}, want: time.Date(2024, 5, 1, 20, 30, 15, 123000000, time.UTC)},
	{code: `trunc_time(t, "week")`, vals: vals{"t": ts}, want: time.Date(2024, 4, 29, 0, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, "month")`, vals: vals{"t": ts}, want: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, "quarter")`, vals: vals{"t": ts}, want: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, "year", "-05:00")`, vals: vals{"t": time.Date(2024, 1, 1, 3, 0, 0, 0, time.UTC)}, want: time.Date(2023, 1, 1, 5, 0, 0, 0, time.UTC)},
	{code: `trunc_time(t, s)`, vals: vals{"t": ts, "s": "fortnight"}, err: `unknown unit "fortnight"`},
	{code: `unix_ms(t)`, vals: vals{"t": ts}, want: int64(1714595415123)},
	{code: `from_unix_ms(n)`, vals: vals{"n": int64(1714595415123)}, want: time.Date(2024, 5, 1, 20, 30, 15, 123000000, time.UTC)},
	{code: `unix_ms(t)`, want: nil},
	{code: `year(t)`, vals: vals{"t": ts}, want: int64(2024)},
	{code: `month(t)`, vals: vals{"t": ts}, want: int64(5)},
	{code: `day(t)`, vals: vals{"t": ts}, want: int64(1)},
	{code: `day(t, "Asia/Tokyo")`, vals: vals{"t": ts}, want: int64(2)},
	{code: `month(dt)`, vals: vals{"dt": change.Date("2024-12-31")}, want: int64(12)},
	{code: `year(dt)`, vals: vals{"dt": change.Date("infinity")}, err: `cannot read date "infinity"`},
	{code: `year(t)`, want: nil},
	// Infinite timestamps stay infinite or fail the row, never become finite.
	{code: `date_of(t, "Asia/Tokyo")`, vals: vals{"t": change.TimestampInfinity}, want: change.Date("infinity")},
	{code: `date_of(t)`, vals: vals{"t": change.TimestampNegInfinity}, want: change.Date("-infinity")},
	{code: `format_time(t, "2006")`, vals: vals{"t": change.TimestampInfinity}, want: "infinity"},
	{code: `to_tz(t, "Asia/Tokyo")`, vals: vals{"t": change.TimestampNegInfinity}, want: "-infinity"},
	{code: `trunc_time(t, "day", "Asia/Tokyo")`, vals: vals{"t": change.TimestampInfinity}, want: change.TimestampInfinity},
	{code: `trunc_time(t, "year")`, vals: vals{"t": change.TimestampNegInfinity}, want: change.TimestampNegInfinity},
	{code: `unix_ms(t)`, vals: vals{"t": change.TimestampInfinity}, err: `unix_ms: the timestamp is infinity`},
	{code: `year(t)`, vals: vals{"t": change.TimestampNegInfinity}, err: `year: the timestamp is -infinity`},
	{code: `month(t)`, vals: vals{"t": change.TimestampInfinity}, err: `month: the timestamp is infinity`},
	{code: `day(t)`, vals: vals{"t": change.TimestampInfinity}, err: `day: the timestamp is infinity`},
	// JSON
	{code: `json_get(j, "a.b[1]")`, vals: vals{"j": change.JSON(`{"a":{"b":[1,2.5,"x"]}}`)}, want: change.Decimal("2.5")},
	{code: `json_get(j, "a.b[0]")`, vals: vals{"j": change.JSON(`{"a":{"b":[1,2.5,"x"]}}`)}, want: int64(1)},
	{code: `json_get(j, "$.a.b[-1]")`, vals: vals{"j": change.JSON(`{"a":{"b":[1,2.5,"x"]}}`)}, want: "x"},
	{code: `json_get(j, "a.c")`, vals: vals{"j": change.JSON(`{"a":{"b":[1,2.5,"x"]}}`)}, want: nil},
	{code: `json_get(j, "a[0]")`, vals: vals{"j": change.JSON(`{"a":{"b":1}}`)}, want: nil},
	{code: `json_get(j, "a")`, vals: vals{"j": change.JSON(`{"a": {"b": [1, 2]}}`)}, want: change.JSON(`{"b":[1,2]}`)},
	{code: `json_get(j, "[\"k.d\"]")`, vals: vals{"j": change.JSON(`{"k.d": true}`)}, want: true},
	{code: `json_get(j, "['k']")`, vals: vals{"j": change.JSON(`{"k": null}`)}, want: nil},
	{code: `json_get(j, "n")`, vals: vals{"j": change.JSON(`{"n": 123456789012345678901234567890}`)}, want: change.Decimal("123456789012345678901234567890")},
	{code: `json_get(j, "e")`, vals: vals{"j": change.JSON(`{"e": "😀\u00e9"}`)}, want: "😀é"},
	{code: `json_get(s, "a")`, vals: vals{"s": `{"a": 1}`}, want: int64(1)},
	{code: `json_get(j, "a")`, vals: vals{"j": change.JSON(`{bad`)}, err: "invalid JSON"},
	{code: `json_get(arr, "[1][0]")`, vals: vals{"arr": []any{int64(1), []any{"two"}}}, want: "two"},
	{code: `json_get(x, "a.b")`, vals: vals{"x": map[string]any{"a": map[string]any{"b": 2.5}}}, want: 2.5},
	{code: `json_get(j, s)`, vals: vals{"j": change.JSON(`{}`), "s": "a["}, err: "invalid JSON path"},
	{code: `json_get(j, "a..b")`, err: "compile: "},
	{code: `json_get(j, "a")`, want: nil},
	{code: `json_parse(s)`, vals: vals{"s": " {\"a\": 1} "}, want: change.JSON(`{"a": 1}`)},
	{code: `json_parse(s)`, vals: vals{"s": "nope"}, err: "invalid JSON"},
	{code: `json_parse(s)`, want: nil},
	{code: `json_string(arr)`, vals: vals{"arr": []any{int64(1), "a"}}, want: `[1,"a"]`},
	{code: `json_string(d)`, vals: vals{"d": change.Decimal("12.50")}, want: `12.50`},
	{code: `json_string(s)`, vals: vals{"s": "x\"😀"}, want: `"x\"😀"`},
	{code: `json_string(j)`, vals: vals{"j": change.JSON(`{ "a" : 1 }`)}, want: `{"a":1}`},
	{code: `json_string(s)`, want: nil},
	// hashing
	{code: `sha256(s)`, vals: vals{"s": "abc"}, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{code: `sha256(b)`, vals: vals{"b": []byte("abc")}, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{code: `md5(s)`, vals: vals{"s": "abc"}, want: "900150983cd24fb0d6963f7d28e17f72"},
	{code: `md5(n)`, vals: vals{"n": int64(1)}, want: "c4ca4238a0b923820dcc509a6f75849b"},
	{code: `sha256(s)`, want: nil},
	{code: `hash64(1, "a")`, want: fnvHex(`[1,"a"]`)},
	{code: `hash64(n, "a")`, vals: vals{"n": int64(1)}, want: fnvHex(`[1,"a"]`)},
	{code: `hash64(s, d, t)`, vals: vals{"d": change.Decimal("1.50"), "t": ts}, want: fnvHex(`[null,1.50,"2024-05-01T20:30:15.123456789Z"]`)},
	{code: `hash64()`, want: fnvHex(`[]`)},
}

func TestHelpers(t *testing.T) {
	for _, tc := range helperCases {
		name := tc.code
		if len(tc.vals) > 0 {
			name += fmt.Sprint(" ", tc.vals)
		}
		t.Run(name, func(t *testing.T) {
			got, err := evalExpr(t, tc.code, tc.vals)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %#v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

// TestHelpersCovered checks that every helper has test cases and is
// documented in doc.go's table.
func TestHelpersCovered(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range helperNames() {
		tested := false
		for _, tc := range helperCases {
			tested = tested || strings.HasPrefix(tc.code, name+"(") || strings.Contains(tc.code, "("+name+"(")
		}
		if !tested {
			t.Errorf("helper %s has no test case", name)
		}
		if !strings.Contains(string(doc), name+"(") && !strings.Contains(string(doc), " "+name+",") && !strings.Contains(string(doc), " "+name+"\n") {
			t.Errorf("helper %s is not documented in doc.go", name)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, bad := range []string{"", ".", "-", "1.2.3", "1e", "e5", "--1", "1_000", "0x10", "1e1001", " "} {
		if d, err := parseDecimal(bad); err == nil {
			t.Errorf("parseDecimal(%q) = %q", bad, d)
		}
	}
}

func TestDurationInterval(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                "PT0S",
		90 * time.Minute:                 "PT1H30M",
		-1500 * time.Millisecond:         "-PT1.5S",
		26*time.Hour + 3*time.Second + 1: "PT26H3.000000001S",
		time.Duration(math.MinInt64):     "-PT2562047H47M16.854775808S",
	} {
		if got := durationInterval(d); string(got) != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}

// TestExprBuiltins checks that expr's own builtins and syntax work with the
// guard's rewrites (predicates, let, ternaries, optional chaining).
func TestExprBuiltins(t *testing.T) {
	arr := []any{int64(1), int64(5), nil, int64(7)}
	for _, tc := range []helperCase{
		{code: `filter(arr, # > 2)`, vals: vals{"arr": arr}, want: []any{int64(5), int64(7)}},
		{code: `map(filter(arr, # != nil), # * 2)`, vals: vals{"arr": arr}, want: []any{int64(2), int64(10), int64(14)}},
		{code: `len(arr)`, vals: vals{"arr": arr}, want: int64(4)},
		{code: `let y = n * 2; y + 1`, vals: vals{"n": int64(3)}, want: int64(7)},
		{code: `n > 2 ? "big" : "small"`, vals: vals{"n": int64(3)}, want: "big"},
		{code: `n > 2 ? "big" : "small"`, want: "small"},
		{code: `x?.a ?? "none"`, vals: vals{"x": map[string]any{"a": "A"}}, want: "A"},
		{code: `x?.a ?? "none"`, want: "none"},
		{code: `abs(n)`, vals: vals{"n": int64(-3)}, want: int64(3)},
		{code: `round(f)`, vals: vals{"f": 2.5}, want: 3.0},
		{code: `s + "!"`, vals: vals{"s": "hi"}, want: "hi!"},
		{code: `s + "!"`, want: nil},
		{code: `n / 0`, vals: vals{"n": int64(1)}, want: math.Inf(1)},
		{code: `n % m`, vals: vals{"n": int64(1)}, err: "compile: "},
		{code: `n % 0`, vals: vals{"n": int64(1)}, err: "integer divide by zero"},
		{code: `t + duration("1h")`, vals: vals{"t": ts}, want: ts.Add(time.Hour)},
		{code: `t > parse_time("2024-01-01")`, vals: vals{"t": ts}, want: true},
		{code: `date("2024-05-01 10:00:00", "2006-01-02 15:04:05")`, want: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{code: `{"k": n, "l": [s]}`, vals: vals{"n": int64(1), "s": "a"}, want: map[string]any{"k": int64(1), "l": []any{"a"}}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			got, err := evalExpr(t, tc.code, tc.vals)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %#v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}
