package bigquery

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/beamsync/beamsync/change"
)

func TestRowEncoderWritesLoadLines(t *testing.T) {
	l, err := layoutOf(ordersView)
	if err != nil {
		t.Fatal(err)
	}
	e := newRowEncoder(l, forLoad, nil)
	for _, c := range []struct {
		r    change.Record
		want string
	}{
		{order(7, "ann \"a\"", 42), `{"id":"7","customer":"ann \"a\"","total":"7.50","placed":"2024-02-29","_beamsync_version":"42","_beamsync_deleted":false}`},
		{deleteOrder(7, 18446744073709551615), `{"id":"7","_beamsync_version":"18446744073709551615","_beamsync_deleted":true}`},
		{change.Record{Key: []any{int64(1)}, Position: 1, Doc: &change.Doc{Names: []string{"placed", "id"}, Values: []any{nil, int64(99)}}},
			`{"id":"1","_beamsync_version":"1","_beamsync_deleted":false}`}, // key from the record; fields by name
	} {
		b, err := e.appendRow(nil, &c.r)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != c.want+"\n" {
			t.Errorf("row:\n got %s\nwant %s", got, c.want)
		}
		if !json.Valid(b) {
			t.Errorf("row %s is not valid JSON", b)
		}
	}
}

func TestRowEncoderRefusesWhatWouldChangeAValue(t *testing.T) {
	l, err := layoutOf(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	e := newRowEncoder(l, forLoad, nil)
	field := func(name string, v any) change.Record {
		doc := &change.Doc{Names: []string{"id", name}, Values: []any{int64(1), v}}
		return change.Record{Key: []any{int64(1)}, Position: 1, Doc: doc}
	}
	for _, c := range []struct {
		r    change.Record
		want string
	}{
		{field("i", uint64(math.MaxUint64)), "above INT64's maximum"},
		{field("i", "12"), "a string value cannot be stored in a INT64 column"},
		{field("d", change.Decimal("1.000000000000000000000000000000000000001")), "39 digits after the point"},
		{field("d", change.Decimal("NaN")), "not a number"},
		{field("d", math.Inf(1)), "cannot be stored in a BIGNUMERIC"},
		{field("tm", change.TimeOfDay("25:00:00")), "not a time of day"},
		{field("tm", change.TimeOfDay("13:00:00+02:00")), "not a time of day"},
		{field("ts", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "outside TIMESTAMP's range"},
		{field("a", []any{int64(1), nil}), "element 1 is null"},
		{field("a", []any{"x"}), "element 0: a string value"},
		{field("st", &change.Doc{Names: []string{"x"}, Values: []any{"no"}}), "st: x: a string value"},
		{field("s", change.Unchanged), "did not send this value"},
		{field("bo", int64(1)), "a int value cannot be stored in a BOOL column"},
		{change.Record{Key: []any{nil}, Position: 1, Doc: &change.Doc{}}, "key field id is null"},
		{change.Record{Key: []any{int64(1), int64(2)}, Position: 1, Doc: &change.Doc{}}, "key has 2 values"},
		{change.Record{Key: []any{int64(1)}, Position: 1}, "has no row"},
	} {
		buf := []byte("prefix")
		b, err := e.appendRow(buf, &c.r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("record %+v: error %v, want one with %q", c.r.Doc, err, c.want)
		}
		if string(b) != "prefix" {
			t.Errorf("a refused row left %q in the buffer", b)
		}
	}
}

func TestValueEncodings(t *testing.T) {
	for _, c := range []struct {
		enc  valueEncoder
		v    any
		want string
	}{
		{encodeInt64, int64(math.MinInt64), `"-9223372036854775808"`},
		{encodeInt64, uint64(math.MaxInt64), `"9223372036854775807"`},
		{encodeBigNumeric, change.Decimal("-1.5e-30"), `"-1.5e-30"`},
		{encodeBigNumeric, 0.1, `"0.1"`},
		{encodeFloat64, math.NaN(), `"NaN"`},
		{encodeFloat64, math.Inf(-1), `"-Infinity"`},
		{encodeFloat64, 1e21, `1e+21`},
		{encodeFloat64, change.Decimal("2.5"), `2.5`},
		{encodeString, change.Interval("P1D"), `"P1D"`},
		{encodeString, int64(5), `"5"`},
		{encodeString, time.Unix(0, 0).UTC(), `"1970-01-01T00:00:00Z"`},
		{encodeString, []any{"a"}, `"[\"a\"]"`},
		{encodeBytes, []byte{0, 255}, `"AP8="`},
		{encodeBytes, "hi", `"aGk="`},
		{encodeTimestamp, time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", -3600)), `"2024-01-02T04:04:05.123456Z"`},
		{encodeDate, time.Date(2024, 1, 2, 23, 0, 0, 0, time.UTC), `"2024-01-02"`},
		{encodeTime, change.TimeOfDay("01:02:03.1234567"), `"01:02:03.123456"`},
		{encodeJSON, change.JSON(` {"a" : 1} `), `{"a":1}`},
		{encodeJSON, map[string]any{"b": 1.5, "a": nil}, `{"a":null,"b":1.5}`},
		{encodeJSONText, change.JSON(`[1, 2]`), `"[1,2]"`},
		{encodeDateDays, change.Date("1970-01-02"), `1`},
		{encodeDateDays, change.Date("1969-12-31"), `-1`},
		{encodeTimestampMicros, time.Unix(1, 500).UTC(), `"1000000"`},
	} {
		b, err := c.enc(nil, c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("encoding %#v: %s, %v; want %s", c.v, b, err, c.want)
		}
	}
}

func TestDecimalScale(t *testing.T) {
	for s, want := range map[string]int{"1": 0, "-1.50": 1, "0.001": 3, "1e-3": 3, "1.5E+2": 0, "12.345e1": 2, ".5": 1} {
		if got, ok := decimalScale(s); !ok || got != want {
			t.Errorf("decimalScale(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-", "1.2.3", "1e", "abc", "NaN", "Infinity"} {
		if _, ok := decimalScale(s); ok {
			t.Errorf("decimalScale(%q) accepted it", s)
		}
	}
}

// TestCDCRowsFitTheirDescriptor encodes a row of every type for the
// Storage Write API and reads the message back: what the writer sends
// matches the descriptor it declares.
func TestCDCRowsFitTheirDescriptor(t *testing.T) {
	l, err := layoutOf(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	md, dp, err := cdcDescriptor(l)
	if err != nil {
		t.Fatal(err)
	}
	if dp.GetName() == "" || len(dp.GetField()) != len(l.viewColumns())+2 {
		t.Errorf("normalized descriptor: %v", dp)
	}
	enc := newRowEncoder(l, forCDC, nil)
	rec := typeRow{int64(-5), change.Decimal("-0.5"), math.NaN(), "s", []byte{1}, true,
		time.Date(2024, 2, 29, 1, 2, 3, 4000, time.UTC), change.Date("2024-02-29"), change.TimeOfDay("01:02:03"), change.Interval("P1D"),
		change.JSON(`{"a":1}`), []any{int64(1)}, []any{"x"}, []any{nil}, &change.Doc{Names: []string{"x", "z"}, Values: []any{int64(1), map[string]any{"q": true}}},
		"free"}.record(300)
	b, line, err := cdcRow(enc, md, &rec, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	msg := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(b, msg); err != nil {
		t.Fatal(err)
	}
	got, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"i": "-5", "d": "-0.5", "f": "NaN", "b": "AQ==", "ts": "1709168523000004", "dt": float64(19782), "tm": "01:02:03",
		"j": `{"a":1}`, "mixed": "[null]", "anything": `"free"`, "_beamsync_version": "300",
		"_CHANGE_TYPE": "UPSERT", "_CHANGE_SEQUENCE_NUMBER": "000000000000012C",
	} {
		if !equalJSON(m[k], want) {
			t.Errorf("field %s: %v, want %v", k, m[k], want)
		}
	}
	del := deleteOrder(9, 255)
	lo, _ := layoutOf(ordersView)
	mdo, _, err := cdcDescriptor(lo)
	if err != nil {
		t.Fatal(err)
	}
	if _, line, err := cdcRow(newRowEncoder(lo, forCDC, nil), mdo, &del, nil); err != nil ||
		!strings.Contains(string(line), `"_CHANGE_TYPE":"DELETE","_CHANGE_SEQUENCE_NUMBER":"00000000000000FF"`) {
		t.Errorf("delete row: %s, %v", line, err)
	}
	bad := rec
	bad.Doc = &change.Doc{Names: []string{"dt"}, Values: []any{change.Date("infinity")}}
	if _, _, err := cdcRow(enc, md, &bad, nil); err == nil || !strings.Contains(err.Error(), "infinity, which DATE cannot hold") {
		t.Errorf("a date BigQuery cannot hold: %v", err)
	}
}

func equalJSON(got, want any) bool {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return string(g) == string(w)
}
