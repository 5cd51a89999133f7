package change

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleValues() []any {
	return []any{
		nil, true, false, int64(-9223372036854775808), int64(42), uint64(18446744073709551615),
		1.5, math.NaN(), math.Inf(1), math.Inf(-1), "", "héllo 🌍 \"quoted\"\n\t\x01",
		[]byte{0, 1, 2, 255}, []byte{}, Decimal("12345678901234567890123456789012345678"),
		Decimal("-0.000000000000000000000000000001"), time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC),
		Date("2024-02-29"), TimeOfDay("13:14:15.123456"), Interval("P1Y2M3DT4H5M6.5S"),
		JSON(`{"a": [1, 2, {"b": null}]}`), []any{int64(1), nil, "x", []any{}},
		&Doc{Names: []string{"z", "a"}, Values: []any{int64(1), &Doc{Names: []string{"n"}, Values: []any{nil}}}},
		map[string]any{"b": int64(2), "a": "x"}, Unchanged,
	}
}

func TestValueCodecRoundTrip(t *testing.T) {
	for _, v := range sampleValues() {
		b := AppendValue(nil, v)
		d := NewDecoder(b)
		got := d.Value()
		if d.Err() != nil || d.Len() != 0 {
			t.Fatalf("%#v: err %v, %d bytes left", v, d.Err(), d.Len())
		}
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			if g, ok := got.(float64); !ok || !math.IsNaN(g) {
				t.Errorf("NaN decoded as %#v", got)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %#v gave %#v", v, got)
		}
	}
}

func TestBatchCodecRoundTrip(t *testing.T) {
	tbl := &Table{Schema: "public", Name: "t", Columns: []Column{{Name: "id", Type: "int8", Kind: KindInt}, {Name: "v", Type: "text", Kind: KindString, Nullable: true}}, Key: []int{0}, EstimatedRows: -1}
	in := Batch{Table: tbl, Changes: []Change{
		{Op: OpRead, Key: []any{int64(1)}, After: []any{int64(1), "a"}, CommitTime: time.Unix(1700000000, 5).UTC(), Position: 99, SourcePos: "snapshot@0/1"},
		{Op: OpDelete, Key: []any{int64(2)}, Before: []any{int64(2), Unchanged}, Position: 100},
	}, Ack: AckToken{Stream: 3, Seq: 1 << 40}}
	out, err := DecodeBatch(EncodeBatch(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("batch round trip:\n got %#v\nwant %#v", out, in)
	}
	rb := RecordBatch{View: "v", Records: []Record{{Key: []any{"k"}, Position: 7, Doc: &Doc{Names: []string{"a"}, Values: []any{Decimal("1.10")}}}, {Key: []any{"j"}, Delete: true, Position: 8}}, Ack: AckToken{Stream: 1, Seq: 9}}
	got, err := DecodeRecordBatch(EncodeRecordBatch(rb))
	if err != nil || !reflect.DeepEqual(got, rb) {
		t.Errorf("record batch round trip: %v\n got %#v\nwant %#v", err, got, rb)
	}
}

func TestDecodeRejectsTruncatedInput(t *testing.T) {
	b := EncodeBatch(Batch{Table: &Table{Name: "t"}, Changes: []Change{{Op: OpRead, After: sampleValues()}}})
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBatch(b[:i]); err == nil {
			t.Fatalf("truncation at %d/%d decoded without error", i, len(b))
		}
	}
}

func TestAppendJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, `null`},
		{uint64(18446744073709551615), `18446744073709551615`},
		{Decimal("12345678901234567890123456789012345678.123"), `12345678901234567890123456789012345678.123`},
		{Decimal("NaN"), `"NaN"`},
		{math.NaN(), `"NaN"`},
		{math.Inf(-1), `"-Infinity"`},
		{1e21, `1e+21`},
		{0.000001, `0.000001`},
		{"a\"b\\c\n\u2028<>&🌍", `"a\"b\\c\n\u2028<>&🌍"`},
		{"\xff", `"\ufffd"`},
		{time.Date(2024, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600)), `"2024-01-02T02:04:05.0000006Z"`},
		{[]byte("hi"), `"aGk="`},
		{TimestampInfinity, `"infinity"`},
		{[]any{TimestampNegInfinity, Date("-infinity"), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}, `["-infinity","-infinity","0001-01-01T00:00:00Z"]`},
		{JSON(`{"a": 1,  "b": [ 2 ]}`), `{"a":1,"b":[2]}`},
		{JSON(`not json`), `"not json"`},
		{map[string]any{"b": int64(1), "a": nil}, `{"a":null,"b":1}`},
		{&Doc{Names: []string{"b", "a"}, Values: []any{int64(1), []any{}}}, `{"b":1,"a":[]}`},
	} {
		got := string(AppendJSON(nil, c.v))
		if got != c.want {
			t.Errorf("AppendJSON(%#v) = %s, want %s", c.v, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("AppendJSON(%#v) = %s is not valid JSON", c.v, got)
		}
	}
}

func TestCompareOrdersNumbersAcrossTypes(t *testing.T) {
	ordered := []any{nil, false, true, int64(-5), Decimal("-4.5"), 1.0, uint64(1 << 63), Decimal("1e30"), "A", "a", "b",
		time.Unix(0, 0), []byte{1}}
	for i := range ordered {
		for j := range ordered {
			got := Compare(ordered[i], ordered[j])
			if (i < j && got >= 0) || (i > j && got <= 0) || (i == j && got != 0) {
				t.Errorf("Compare(%#v, %#v) = %d", ordered[i], ordered[j], got)
			}
		}
	}
	if CompareKeys([]any{int64(1), "b"}, []any{int64(1), "a"}) <= 0 {
		t.Error("composite keys compare by their second component")
	}
}

func TestKeyString(t *testing.T) {
	for _, c := range []struct {
		key  []any
		want string
	}{
		{[]any{"abc"}, "abc"},
		{[]any{int64(42)}, "42"},
		{[]any{int64(1), "x"}, `[1,"x"]`},
		{[]any{time.Unix(0, 0)}, `["1970-01-01T00:00:00Z"]`},
	} {
		if got := KeyString(c.key); got != c.want {
			t.Errorf("KeyString(%v) = %s, want %s", c.key, got, c.want)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(Batch{Table: &Table{Name: "t"}, Changes: []Change{{Op: OpRead, After: sampleValues()}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeBatch(b) // must not panic
	})
}

func FuzzAppendJSONOfJSONMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e3, {"b": null}], "c": "x\u00e9\n"}`, ` [ ] `, `"\ud83d"`, `{"a":1,}`, `01`, `-`, `"\x01"`, "\"\xff\"", `[1 2]`, `{"a" 1}`, `tru`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendJSON(nil, JSON(s))
		if s == "" {
			if string(got) != "null" {
				t.Fatalf("empty JSON written as %s, want null", got)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("AppendJSON(JSON(%q)) = %s is not valid JSON", s, got)
		}
		if json.Valid([]byte(s)) && utf8.ValidString(s) {
			var want bytes.Buffer
			if err := json.Compact(&want, []byte(s)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("AppendJSON(JSON(%q)) = %s, want %s", s, got, want.Bytes())
			}
		} else if !json.Valid([]byte(s)) {
			if want := AppendJSON(nil, s); !bytes.Equal(got, want) {
				t.Fatalf("invalid JSON %q written as %s, want the string %s", s, got, want)
			}
		} else if !utf8.Valid(got) {
			t.Fatalf("AppendJSON(JSON(%q)) = %q is not valid UTF-8", s, got)
		}
	})
}

// FuzzValidJSONMatchesEncodingJSON: ValidJSON accepts exactly what
// encoding/json.Valid accepts.
func FuzzValidJSONMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e3, {"b": null}], "c": "x\u00e9\n"}`, ` [ ] `, `"\ud83d"`, `{"a":1,}`, `01`, `-`, `-0.0e+1`, `1.`, `.5`,
		`"\x01"`, "\"\xff\"", "\"\xed\xa0\x80\"", `[1 2]`, `{"a" 1}`, `tru`, `true `, "\t{ }\n", `{"a":1}}`, `""`, `"\u12G4"`, `"\/"`, `"\q"`, ``, ` `} {
		f.Add(s)
	}
	for _, n := range []int{maxJSONDepth, maxJSONDepth + 1} {
		f.Add(strings.Repeat("[", n) + strings.Repeat("]", n))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json.Valid says %v", s, got, want)
		}
	})
}
