package debezium

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Moved from sources/files with the decoder.

func TestConversions(t *testing.T) {
	cases := []struct {
		got, want any
	}{
		{numberValue("42"), int64(42)},
		{numberValue("-9223372036854775808"), int64(-9223372036854775808)},
		{numberValue("18446744073709551615"), uint64(18446744073709551615)},
		{numberValue("-18446744073709551616"), change.Decimal("-18446744073709551616")},
		{numberValue("1.5"), 1.5},
		{numberValue("0.000123456789012345"), 0.000123456789012345},
		{numberValue("1234567890.1234567"), change.Decimal("1234567890.1234567")},
		{numberValue("1e400"), change.Decimal("1" + strings.Repeat("0", 400))},
		{canonicalDecimal("1.25e-3"), "0.00125"},
		{canonicalDecimal("-12.5E2"), "-1250"},
		{canonicalDecimal("0.5e1"), "5"},
		{canonicalDecimal("10.50"), "10.50"},
		{decimalFromBytes([]byte{0x04, 0xe2}, 2), change.Decimal("12.50")},
		{decimalFromBytes([]byte{0xfe, 0x0c}, 2), change.Decimal("-5.00")},
		{decimalFromBytes([]byte{0x05}, 3), change.Decimal("0.005")},
		{decimalFromBytes([]byte{0x05}, -2), change.Decimal("500")},
		{decimalFromBytes(nil, 0), change.Decimal("0")},
		{timeOfDay(0), change.TimeOfDay("00:00:00")},
		{timeOfDay(86_400e9), change.TimeOfDay("24:00:00")},
		{timeOfDay(13*3600e9 + 5*60e9 + 7e9 + 5e8), change.TimeOfDay("13:05:07.5")},
		{microDuration(0), change.Interval("PT0S")},
		{microDuration(3_723_500_000), change.Interval("PT1H2M3.5S")},
		{microDuration(-30_000_000), change.Interval("-PT30S")},
		{microDuration(7_200_000_000), change.Interval("PT2H")},
	}
	for i, c := range cases {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("case %d: got %#v, want %#v", i, c.got, c.want)
		}
	}
	s := &connectSchema{Type: "int64", Name: dNanoTimestamp}
	if v, err := s.convert([]byte("1500000000123456789")); err != nil || v != time.Unix(1500000000, 123456789).UTC() {
		t.Errorf("nano timestamp %v %v", v, err)
	}
	s = &connectSchema{Type: "float64"}
	if v, err := s.convert([]byte(`"NaN"`)); err != nil || v.(float64) == v.(float64) {
		t.Errorf("NaN %v %v", v, err)
	}
	s = &connectSchema{Type: "struct", Fields: []*connectSchema{{Type: "int32", Field: "b"}, {Type: "string", Field: "a"}}}
	if v, err := s.convert([]byte(`{"a":"x","b":1}`)); err != nil || !reflect.DeepEqual(v, &change.Doc{Names: []string{"b", "a"}, Values: []any{int64(1), "x"}}) {
		t.Errorf("struct %#v %v", v, err)
	}
	s = &connectSchema{Type: "bytes", Name: lDecimal, Parameters: map[string]string{"scale": "x"}}
	if _, err := s.convert([]byte(`"AA=="`)); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("err %v", err)
	}
}

func TestPackBinlogLimits(t *testing.T) {
	if _, _, err := packBinlog("mysql-bin.1048576", "1", "0"); err == nil {
		t.Error("sequence overflow accepted")
	}
	if _, _, err := packBinlog("mysql-bin.000001", "4294967296", "0"); err == nil {
		t.Error("offset overflow accepted")
	}
	a, row, _ := packBinlog("mysql-bin.000001", "4294967295", "9999")
	b, _, _ := packBinlog("mysql-bin.000002", "4", "0")
	if a >= b || row != maxTie || b != 2<<32|4 {
		t.Errorf("packing %x %x %d", a, b, row)
	}
}
