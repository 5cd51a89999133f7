package bigquery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"

	"github.com/beamsync/beamsync/change"
)

// allTypes is a view with a field of every kind.
var allTypes = change.ViewSchema{Name: "types", Key: []string{"id"}, Fields: []change.Field{
	{Name: "id", Kind: change.KindInt},
	{Name: "i", Kind: change.KindInt, Nullable: true},
	{Name: "d", Kind: change.KindDecimal, Nullable: true},
	{Name: "f", Kind: change.KindFloat, Nullable: true},
	{Name: "s", Kind: change.KindString, Nullable: true},
	{Name: "b", Kind: change.KindBytes, Nullable: true},
	{Name: "bo", Kind: change.KindBool, Nullable: true},
	{Name: "ts", Kind: change.KindTimestamp, Nullable: true},
	{Name: "dt", Kind: change.KindDate, Nullable: true},
	{Name: "tm", Kind: change.KindTime, Nullable: true},
	{Name: "iv", Kind: change.KindInterval, Nullable: true},
	{Name: "j", Kind: change.KindJSON, Nullable: true},
	{Name: "a", Kind: change.KindArray, Elem: change.KindInt, Nullable: true},
	{Name: "sa", Kind: change.KindArray, Elem: change.KindString, Nullable: true},
	{Name: "mixed", Kind: change.KindArray, Elem: change.KindAny, Nullable: true},
	{Name: "st", Kind: change.KindObject, Fields: []change.Field{
		{Name: "x", Kind: change.KindInt},
		{Name: "y", Kind: change.KindString},
		{Name: "z", Kind: change.KindObject, Fields: []change.Field{{Name: "q", Kind: change.KindBool}}},
	}},
	{Name: "anything", Kind: change.KindAny, Nullable: true},
}}

// typeRow is a row of allTypes: what is sent, in field order after id.
type typeRow []any

func (r typeRow) record(id int64) change.Record {
	names := []string{"id"}
	values := []any{id}
	for i, f := range allTypes.Fields[1:] {
		names = append(names, f.Name)
		values = append(values, r[i])
	}
	return change.Record{Key: []any{id}, Position: change.Position(id), Doc: &change.Doc{Names: names, Values: values}}
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

func TestEveryTypeRoundTrips(t *testing.T) {
	micros := time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC)
	rows := []typeRow{
		{int64(math.MinInt64), change.Decimal("12345678901234567890123456789012345678"), 1.5, "héllo 🌍 \"quoted\"\n\t\x01 \u2028", []byte{0, 1, 2, 255}, true,
			micros, change.Date("2024-02-29"), change.TimeOfDay("13:14:15.123456"), change.Interval("P1Y2M3DT4H5M6.5S"),
			change.JSON(`{"a": [1, 2.50, {"b": null}], "big": 123456789012345678901234567890}`), []any{int64(1), int64(-2)}, []any{"x", ""},
			[]any{int64(1), nil, "two", []any{true}}, &change.Doc{Names: []string{"x", "y", "z"}, Values: []any{int64(5), "why", &change.Doc{Names: []string{"q"}, Values: []any{true}}}},
			map[string]any{"k": []any{int64(1), "v"}}},
		{int64(math.MaxInt64), change.Decimal("-0.00000000000000000000000000000000000001"), math.Inf(1), "", []byte{}, false,
			time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), change.Date("0001-01-01"), change.TimeOfDay("00:00:00"), change.Interval("PT0S"),
			change.JSON(`[]`), []any{}, []any{}, []any{}, map[string]any{"x": int64(0), "y": "", "z": nil}, "text"},
		{int64(0), change.Decimal("12345678901234567890123456789012345678.12345678901234567890123456789012345678"), math.Inf(-1), "日本語", []byte("binary\x00"), nil,
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), change.Date("9999-12-31"), change.TimeOfDay("23:59:59.999999"), nil,
			change.JSON(`"a JSON string"`), nil, nil, nil, nil, int64(42)},
		{int64(-1), change.Decimal("0"), math.NaN(), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{nil, nil, 1e308, nil, nil, nil, time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", 3600)), nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	// What the client reads back, in field order after id.
	want := [][]bigquery.Value{
		{int64(math.MinInt64), rat("12345678901234567890123456789012345678"), 1.5, "héllo 🌍 \"quoted\"\n\t\x01 \u2028", []byte{0, 1, 2, 255}, true,
			micros, civil.Date{Year: 2024, Month: 2, Day: 29}, civil.Time{Hour: 13, Minute: 14, Second: 15, Nanosecond: 123456000}, "P1Y2M3DT4H5M6.5S",
			`{"a":[1,2.50,{"b":null}],"big":123456789012345678901234567890}`, []bigquery.Value{int64(1), int64(-2)}, []bigquery.Value{"x", ""},
			`[1,null,"two",[true]]`, []bigquery.Value{int64(5), "why", []bigquery.Value{true}}, `{"k":[1,"v"]}`},
		{int64(math.MaxInt64), rat("-0.00000000000000000000000000000000000001"), math.Inf(1), "", []byte{}, false,
			time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), civil.Date{Year: 1, Month: 1, Day: 1}, civil.Time{}, "PT0S",
			`[]`, []bigquery.Value(nil), []bigquery.Value(nil), `[]`, []bigquery.Value{int64(0), "", nil}, `"text"`},
		{int64(0), rat("12345678901234567890123456789012345678.12345678901234567890123456789012345678"), math.Inf(-1), "日本語", []byte("binary\x00"), nil,
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), civil.Date{Year: 9999, Month: 12, Day: 31}, civil.Time{Hour: 23, Minute: 59, Second: 59, Nanosecond: 999999000}, nil,
			`"a JSON string"`, []bigquery.Value(nil), []bigquery.Value(nil), nil, nil, `42`},
		{int64(-1), rat("0"), math.NaN(), nil, nil, nil, nil, nil, nil, nil, nil, []bigquery.Value(nil), []bigquery.Value(nil), nil, nil, nil},
		{nil, nil, 1e308, nil, nil, nil, time.Date(2024, 1, 2, 2, 4, 5, 999999000, time.UTC), nil, nil, nil, nil, []bigquery.Value(nil), []bigquery.Value(nil), nil, nil, nil},
	}
	cfg := testConfig(t, ModeReplace)
	var records []change.Record
	// The emulator refuses a JSON value that is a JSON string, which real
	// BigQuery stores: those values are wrapped in an object here.
	rows[2][10], want[2][10] = change.JSON(`{"s": "a JSON string"}`), `{"s":"a JSON string"}`
	rows[1][15], want[1][15] = map[string]any{"s": "text"}, `{"s":"text"}`
	for i, r := range rows {
		records = append(records, r.record(int64(i+1)))
	}
	var dead []change.DeadLetter
	runOnce(t, cfg, allTypes, records, WithDeadLetter(func(d change.DeadLetter) { dead = append(dead, d) }))
	if len(dead) > 0 {
		t.Fatalf("dead letters: %+v", dead)
	}
	got := readAll(t, cfg, "types")
	for i := range want {
		id := int64(i + 1)
		row, ok := got[id]
		if !ok {
			t.Errorf("row %d is missing", id)
			continue
		}
		for j, f := range allTypes.Fields[1:] {
			w, g := want[i][j], row[j+1]
			if emulatorQuirk(f.Name, w, g) {
				continue
			}
			if !sameValue(w, g) {
				t.Errorf("row %d field %s: got %#v, want %#v", id, f.Name, g, w)
			}
		}
	}
}

// emulatorQuirk reports a value the emulator is known to store wrongly,
// checking that it is wrong in exactly the known way:
//   - BYTES loaded from JSON are stored as the base64 text, not decoded;
//   - a FLOAT64 "NaN" is stored as NULL (±Infinity are kept).
func emulatorQuirk(field string, want, got bigquery.Value) bool {
	switch w := want.(type) {
	case []byte:
		g, ok := got.([]byte)
		return ok && string(g) == base64.StdEncoding.EncodeToString(w) && len(w) > 0
	case float64:
		return math.IsNaN(w) && got == nil
	}
	return false
}

// sameValue compares a value read back with the one expected: rationals by
// value, JSON texts as JSON, floats with NaN equal to NaN.
func sameValue(want, got bigquery.Value) bool {
	switch w := want.(type) {
	case *big.Rat:
		g, ok := got.(*big.Rat)
		return ok && w.Cmp(g) == 0
	case float64:
		g, ok := got.(float64)
		return ok && (w == g || math.IsNaN(w) && math.IsNaN(g))
	case string:
		g, ok := got.(string)
		if !ok {
			return false
		}
		if w == g {
			return true
		}
		var wj, gj any
		return json.Unmarshal([]byte(w), &wj) == nil && json.Unmarshal([]byte(g), &gj) == nil && reflect.DeepEqual(wj, gj)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && w.Equal(g)
	case []bigquery.Value:
		g, ok := got.([]bigquery.Value)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// readAll reads a table's rows with the client's iterator, by their first
// column.
func readAll(t testing.TB, cfg Config, table string) map[int64][]bigquery.Value {
	t.Helper()
	ctx := context.Background()
	bq, err := readClient(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	it, err := bq.Query(fmt.Sprintf("SELECT * FROM `%s.%s.%s`", cfg.Project, cfg.Dataset, table)).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]bigquery.Value{}
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(int64)] = row
	}
}
