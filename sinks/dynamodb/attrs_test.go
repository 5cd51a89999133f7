package dynamodb

import (
	"bytes"
	"math"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
)

type (
	avS    = types.AttributeValueMemberS
	avN    = types.AttributeValueMemberN
	avB    = types.AttributeValueMemberB
	avBOOL = types.AttributeValueMemberBOOL
	avNULL = types.AttributeValueMemberNULL
	avL    = types.AttributeValueMemberL
	avM    = types.AttributeValueMemberM
)

// roundTripFields are values of every kind with the attribute each must
// read back as, written here by hand rather than by the code under test.
var roundTripFields = []struct {
	name string
	v    any
	want types.AttributeValue
}{
	{"i_min", int64(math.MinInt64), &avN{Value: "-9223372036854775808"}},
	{"i_max", int64(math.MaxInt64), &avN{Value: "9223372036854775807"}},
	{"u_max", uint64(math.MaxUint64), &avN{Value: "18446744073709551615"}},
	{"dec38", change.Decimal("12345678901234567890123456789012345678"), &avN{Value: "12345678901234567890123456789012345678"}},
	{"dec38_frac", change.Decimal("-1234567890123456789.0123456789012345678"), &avN{Value: "-1234567890123456789.0123456789012345678"}},
	{"dec_tiny", change.Decimal("-0.00000000000000000000000000000123"), &avN{Value: "-1.23E-30"}},
	{"dec_scale", change.Decimal("12.50"), &avN{Value: "12.5"}},
	{"dec_nan", change.Decimal("NaN"), &avS{Value: "NaN"}},
	{"f", 1.5, &avN{Value: "1.5"}},
	{"f_third", 1.0 / 3, &avN{Value: "0.3333333333333333"}},
	{"f_small", -2.5e-7, &avN{Value: "-0.00000025"}},
	{"f_big", 1e100, &avN{Value: "1E+100"}},
	{"f_zero", 0.0, &avN{Value: "0"}},
	{"f_nan", math.NaN(), &avS{Value: "NaN"}},
	{"f_inf", math.Inf(1), &avS{Value: "Infinity"}},
	{"f_ninf", math.Inf(-1), &avS{Value: "-Infinity"}},
	{"s", "héllo 🌍 \"quoted\"\n\t\x01 中文 \u2028", &avS{Value: "héllo 🌍 \"quoted\"\n\t\x01 中文 \u2028"}},
	{"s_empty", "", &avS{Value: ""}},
	{"bin", []byte{0, 1, 2, 255}, &avB{Value: []byte{0, 1, 2, 255}}},
	{"bin_empty", []byte{}, &avB{Value: []byte{}}},
	{"yes", true, &avBOOL{Value: true}},
	{"no", false, &avBOOL{Value: false}},
	{"null", nil, &avNULL{Value: true}},
	{"ts", time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("x", 3600)), &avS{Value: "2024-02-29T22:59:59.123456789Z"}},
	{"ts_whole", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), &avS{Value: "2024-01-01T00:00:00Z"}},
	{"date", change.Date("2024-02-29"), &avS{Value: "2024-02-29"}},
	{"tod", change.TimeOfDay("13:14:15.123456"), &avS{Value: "13:14:15.123456"}},
	{"iv", change.Interval("P1Y2M3DT4H5M6.5S"), &avS{Value: "P1Y2M3DT4H5M6.5S"}},
	{"json", change.JSON(`{"a": [1, 2.50, {"b": null}], "big": 123456789012345678901234567890, "s": "x", "t": true}`),
		&avM{Value: map[string]types.AttributeValue{
			"a":   &avL{Value: []types.AttributeValue{&avN{Value: "1"}, &avN{Value: "2.5"}, &avM{Value: map[string]types.AttributeValue{"b": &avNULL{Value: true}}}}},
			"big": &avN{Value: "123456789012345678901234567890"},
			"s":   &avS{Value: "x"},
			"t":   &avBOOL{Value: true},
		}}},
	{"json_list", change.JSON(`[1, "a"]`), &avL{Value: []types.AttributeValue{&avN{Value: "1"}, &avS{Value: "a"}}}},
	{"json_text", change.JSON(`"just text"`), &avS{Value: "just text"}},
	{"json_invalid", change.JSON(`not json`), &avS{Value: "not json"}},
	{"list", []any{int64(1), nil, "x", []any{}, &change.Doc{Names: []string{"k"}, Values: []any{false}}},
		&avL{Value: []types.AttributeValue{&avN{Value: "1"}, &avNULL{Value: true}, &avS{Value: "x"}, &avL{Value: []types.AttributeValue{}},
			&avM{Value: map[string]types.AttributeValue{"k": &avBOOL{Value: false}}}}}},
	{"doc", &change.Doc{Names: []string{"z", "a"}, Values: []any{int64(1), &change.Doc{Names: []string{"n"}, Values: []any{nil}}}},
		&avM{Value: map[string]types.AttributeValue{"z": &avN{Value: "1"}, "a": &avM{Value: map[string]types.AttributeValue{"n": &avNULL{Value: true}}}}}},
	{"map", map[string]any{"b": int64(2), "a": "x", "nested": map[string]any{"l": []any{true}}},
		&avM{Value: map[string]types.AttributeValue{"b": &avN{Value: "2"}, "a": &avS{Value: "x"},
			"nested": &avM{Value: map[string]types.AttributeValue{"l": &avL{Value: []types.AttributeValue{&avBOOL{Value: true}}}}}}}},
	{"doc_empty", &change.Doc{}, &avM{Value: map[string]types.AttributeValue{}}},
}

func TestEveryTypeRoundTrips(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "types"))
	view := change.ViewSchema{Name: "types", Key: []string{"id"}, Fields: []change.Field{{Name: "id", Kind: change.KindInt}}}
	doc := &change.Doc{Names: []string{"id"}, Values: []any{int64(42)}}
	for _, f := range roundTripFields {
		doc.Names = append(doc.Names, f.name)
		doc.Values = append(doc.Values, f.v)
	}
	w, dead := newWriter(t, cfg, view)
	addAll(t, w, change.Record{Key: []any{int64(42)}, Position: 7, Doc: doc})
	if len(*dead) > 0 {
		t.Fatalf("dead letters: %+v", *dead)
	}
	item := getItem(t, testClient(t, ep), cfg.Table, idKey("42"))
	want := map[string]types.AttributeValue{"id": &avN{Value: "42"}, "_version": &avN{Value: "7"}}
	for _, f := range roundTripFields {
		want[f.name] = f.want
	}
	for name, w := range want {
		if !equalAttr(w, item[name]) {
			t.Errorf("%s: read back %s, want %s", name, showAttr(item[name]), showAttr(w))
		}
	}
	if len(item) != len(want) {
		t.Errorf("item has %d attributes, want %d", len(item), len(want))
	}
}

// equalAttr compares attribute values, numbers by numeric value (DynamoDB
// normalises "12.50" to "12.5").
func equalAttr(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *avN:
		y, ok := b.(*avN)
		if !ok {
			return false
		}
		rx, ok1 := new(big.Rat).SetString(x.Value)
		ry, ok2 := new(big.Rat).SetString(y.Value)
		return ok1 && ok2 && rx.Cmp(ry) == 0
	case *avS:
		y, ok := b.(*avS)
		return ok && x.Value == y.Value
	case *avB:
		y, ok := b.(*avB)
		return ok && bytes.Equal(x.Value, y.Value)
	case *avBOOL:
		y, ok := b.(*avBOOL)
		return ok && x.Value == y.Value
	case *avNULL:
		_, ok := b.(*avNULL)
		return ok
	case *avL:
		y, ok := b.(*avL)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for i := range x.Value {
			if !equalAttr(x.Value[i], y.Value[i]) {
				return false
			}
		}
		return true
	case *avM:
		y, ok := b.(*avM)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for k, v := range x.Value {
			if !equalAttr(v, y.Value[k]) {
				return false
			}
		}
		return true
	}
	return false
}

func showAttr(v types.AttributeValue) string {
	switch x := v.(type) {
	case *avN:
		return "N(" + x.Value + ")"
	case *avS:
		return "S(" + x.Value + ")"
	case *avB:
		return "B(" + string(x.Value) + ")"
	case *avBOOL:
		if x.Value {
			return "BOOL(true)"
		}
		return "BOOL(false)"
	case *avNULL:
		return "NULL"
	case *avL:
		var parts []string
		for _, e := range x.Value {
			parts = append(parts, showAttr(e))
		}
		return "L[" + strings.Join(parts, " ") + "]"
	case *avM:
		var parts []string
		for k, e := range x.Value {
			parts = append(parts, k+":"+showAttr(e))
		}
		sort.Strings(parts)
		return "M{" + strings.Join(parts, " ") + "}"
	case nil:
		return "<missing>"
	}
	return "?"
}

func TestAttrValueRefusesWhatItCannotKeep(t *testing.T) {
	if _, err := attrValue(change.Unchanged); err == nil {
		t.Error("an unchanged value was converted")
	}
	if _, err := attrValue(struct{}{}); err == nil {
		t.Error("an unknown type was converted")
	}
	if a, err := attrValue(int32(5)); err != nil || !equalAttr(a, &avN{Value: "5"}) {
		t.Errorf("int32: %v, %v", a, err)
	}
}

func TestKeyScalar(t *testing.T) {
	for _, c := range []struct {
		v    any
		typ  types.ScalarAttributeType
		want types.AttributeValue // nil: refused
	}{
		{int64(5), types.ScalarAttributeTypeN, &avN{Value: "5"}},
		{change.Decimal("1.5"), types.ScalarAttributeTypeN, &avN{Value: "1.5"}},
		{"5", types.ScalarAttributeTypeN, nil},
		{math.NaN(), types.ScalarAttributeTypeN, nil},
		{int64(5), types.ScalarAttributeTypeS, &avS{Value: "5"}},
		{time.Unix(0, 0), types.ScalarAttributeTypeS, &avS{Value: "1970-01-01T00:00:00Z"}},
		{"", types.ScalarAttributeTypeS, nil},
		{nil, types.ScalarAttributeTypeS, nil},
		{[]byte{1}, types.ScalarAttributeTypeB, &avB{Value: []byte{1}}},
		{[]byte{}, types.ScalarAttributeTypeB, nil},
	} {
		got, err := keyScalar(c.v, c.typ)
		if c.want == nil {
			if err == nil {
				t.Errorf("keyScalar(%#v, %s) = %s, want an error", c.v, c.typ, showAttr(got))
			}
			continue
		}
		if err != nil || !equalAttr(c.want, got) {
			t.Errorf("keyScalar(%#v, %s) = %s, %v; want %s", c.v, c.typ, showAttr(got), err, showAttr(c.want))
		}
	}
}

func TestItemSize(t *testing.T) {
	item := map[string]types.AttributeValue{
		"id":   &avN{Value: "12345"},                                      // 2 + 4
		"name": &avS{Value: "héllo"},                                      // 4 + 6
		"l":    &avL{Value: []types.AttributeValue{&avBOOL{}, &avNULL{}}}, // 1 + 3 + 2*(1+1)
	}
	if got, want := itemSize(item), 6+10+8; got != want {
		t.Errorf("itemSize = %d, want %d", got, want)
	}
}

func TestInfiniteTimestampsAreText(t *testing.T) {
	for v, want := range map[time.Time]string{change.TimestampInfinity: "infinity", change.TimestampNegInfinity: "-infinity"} {
		if a, err := attrValue(v); err != nil || !equalAttr(a, &avS{Value: want}) {
			t.Errorf("attrValue(%s) = %s, %v; want S %q", want, showAttr(a), err, want)
		}
		if a, err := keyScalar(v, types.ScalarAttributeTypeS); err != nil || !equalAttr(a, &avS{Value: want}) {
			t.Errorf("keyScalar(%s) = %s, %v; want S %q", want, showAttr(a), err, want)
		}
	}
}
