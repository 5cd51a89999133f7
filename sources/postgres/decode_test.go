package postgres

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func TestTextArrays(t *testing.T) {
	str := &decoder{op: opString}
	num := &decoder{op: opNumeric}
	tz := &decoder{op: opTimeTZ}
	for _, tc := range []struct {
		in    string
		elem  *decoder
		delim byte
		want  any
	}{
		{`{}`, str, ',', []any{}},
		{`{a,b}`, str, ',', []any{"a", "b"}},
		{`{"a b","c,d","NULL",NULL,null,"q\"uote","back\\slash","","{x}"}`, str, ',', []any{"a b", "c,d", "NULL", nil, nil, `q"uote`, `back\slash`, "", "{x}"}},
		{` { a , b c } `, str, ',', []any{"a", "b c"}},
		{`{a\,b,c\\}`, str, ',', []any{"a,b", `c\`}},
		{`[0:1]={x,y}`, str, ',', []any{"x", "y"}},
		{`[1:2][1:1]={{1},{2}}`, num, ',', []any{[]any{change.Decimal("1")}, []any{change.Decimal("2")}}},
		{`{{1.5,NaN},{NULL,-Infinity}}`, num, ',', []any{[]any{change.Decimal("1.5"), change.Decimal("NaN")}, []any{nil, change.Decimal("-Infinity")}}},
		{`{(1,1),(0,0);(2,2),(1,1)}`, str, ';', []any{"(1,1),(0,0)", "(2,2),(1,1)"}},
		{`{10:00:00+02,"11:00:00.5-03:30"}`, tz, ',', []any{change.TimeOfDay("10:00:00+02:00"), change.TimeOfDay("11:00:00.5-03:30")}},
	} {
		d := &decoder{op: opArrayText, elem: tc.elem, delim: tc.delim}
		got, err := d.decode([]byte(tc.in), nil)
		if err != nil || !valueEqual(got, tc.want) {
			t.Errorf("decode(%s) = %s, %v; want %s", tc.in, show(got), err, show(tc.want))
		}
	}
	for _, bad := range []string{``, `{`, `{a`, `{"a}`, `{a}x`, `a`, `{a,}`, `[1:2]`, `{a"b"}`, `{\`} {
		d := &decoder{op: opArrayText, elem: str, delim: ','}
		if got, err := d.decode([]byte(bad), nil); err == nil {
			t.Errorf("decode(%s) = %s, want an error", bad, show(got))
		}
	}
}

func binArray(dims []int32, elems [][]byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(dims)))
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, 23)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
		b = binary.BigEndian.AppendUint32(b, 1)
	}
	for _, e := range elems {
		if e == nil {
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func i4(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func TestBinaryArrays(t *testing.T) {
	d := &decoder{op: opArrayBinary, elem: &decoder{op: opInt4}}
	got, err := d.decode(binArray([]int32{2, 3}, [][]byte{i4(1), i4(2), nil, i4(4), i4(5), i4(-6)}), nil)
	want := []any{[]any{int64(1), int64(2), nil}, []any{int64(4), int64(5), int64(-6)}}
	if err != nil || !valueEqual(got, want) {
		t.Errorf("got %s, %v", show(got), err)
	}
	got, err = d.decode(binArray(nil, nil), nil)
	if err != nil || !valueEqual(got, []any{}) {
		t.Errorf("empty: got %s, %v", show(got), err)
	}
	for _, bad := range [][]byte{
		nil,
		binArray([]int32{3}, [][]byte{i4(1), i4(2)}),         // short
		binArray([]int32{1}, [][]byte{i4(1), i4(2)}),         // trailing
		binArray([]int32{1}, [][]byte{{1, 2}}),               // bad element
		binArray([]int32{-1}, nil),                           // bad dimension
		binArray([]int32{1 << 30, 1 << 30}, [][]byte{i4(1)}), // absurd size
	} {
		if got, err := d.decode(bad, &arena{}); err == nil {
			t.Errorf("decode(%x) = %s, want an error", bad, show(got))
		}
	}
}

func TestScalarDecoders(t *testing.T) {
	for _, tc := range []struct {
		days int32
		want change.Date
	}{
		{0, "2000-01-01"},
		{-1, "1999-12-31"},
		{8825, "2024-02-29"},
		{-730119, "0001-01-01"},
		{-730120, "0001-12-31 BC"},
		{-746117, "0044-03-15 BC"},
		{2921940, "10000-01-01"},
		{math.MaxInt32, "infinity"},
		{math.MinInt32, "-infinity"},
	} {
		if got := dateFromDays(tc.days); got != tc.want {
			t.Errorf("dateFromDays(%d) = %s, want %s", tc.days, got, tc.want)
		}
	}
	for _, tc := range []struct {
		us   int64
		want time.Time
	}{
		{0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{-1, time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{1_500_001, time.Date(2000, 1, 1, 0, 0, 1, 500001000, time.UTC)},
		{math.MaxInt64, TimestampInfinity},
		{math.MinInt64, TimestampNegInfinity},
	} {
		if got := timestampFromMicros(tc.us); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("timestampFromMicros(%d) = %v, want %v", tc.us, got, tc.want)
		}
	}
	for in, want := range map[string]change.TimeOfDay{
		"10:00:00+02":       "10:00:00+02:00",
		"10:00:00-02":       "10:00:00-02:00",
		"10:00:00.5+05:30":  "10:00:00.5+05:30",
		"10:00:00+05:30:15": "10:00:00+05:30:15",
	} {
		if got := timeTZ([]byte(in)); got != want {
			t.Errorf("timeTZ(%s) = %s, want %s", in, got, want)
		}
	}
	if got := float4To64(1.1); got != 1.1 {
		t.Errorf("float4To64(1.1) = %v", got)
	}
	if got := float4To64(float32(math.Inf(-1))); !math.IsInf(got, -1) {
		t.Errorf("float4To64(-Inf) = %v", got)
	}
	if got := formatUUID([]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}); got != "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" {
		t.Errorf("formatUUID = %s", got)
	}
	b := []byte{1, 2}
	v, _ := (&decoder{op: opBytes}).decode(b, &arena{})
	b[0] = 9
	if v.([]byte)[0] != 1 {
		t.Error("bytea value aliases the read buffer")
	}
	if pos, err := lsnToPosition("16/B374D848"); err != nil || pos != 0x16<<32|0xB374D848 {
		t.Errorf("lsnToPosition = %x, %v", pos, err)
	}
	for _, bad := range []string{"", "16", "x/1", "1/x", "100000000/0"} {
		if _, err := lsnToPosition(bad); err == nil {
			t.Errorf("lsnToPosition(%q) passed", bad)
		}
	}
}
