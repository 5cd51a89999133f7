package opensearch

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// allTypesView has a field of every kind.
func allTypesView(name string) change.ViewSchema {
	return change.ViewSchema{Name: name, Key: []string{"id"}, Fields: []change.Field{
		{Name: "id", Kind: change.KindInt},
		{Name: "name", Kind: change.KindString, Nullable: true},
		{Name: "qty", Kind: change.KindInt},
		{Name: "price", Kind: change.KindDecimal},
		{Name: "ratio", Kind: change.KindFloat},
		{Name: "active", Kind: change.KindBool},
		{Name: "created", Kind: change.KindTimestamp},
		{Name: "day", Kind: change.KindDate},
		{Name: "at", Kind: change.KindTime},
		{Name: "span", Kind: change.KindInterval},
		{Name: "blob", Kind: change.KindBytes},
		{Name: "meta", Kind: change.KindJSON},
		{Name: "tags", Kind: change.KindArray, Elem: change.KindString},
		{Name: "scores", Kind: change.KindArray, Elem: change.KindFloat},
		{Name: "addr", Kind: change.KindObject, Fields: []change.Field{
			{Name: "city", Kind: change.KindString}, {Name: "zip", Kind: change.KindString}}},
		{Name: "extra", Kind: change.KindAny},
	}}
}

var allTypesNames = []string{"id", "name", "qty", "price", "ratio", "active", "created", "day", "at", "span",
	"blob", "meta", "tags", "scores", "addr", "extra"}

func allTypesRecord(pos uint64, values ...any) change.Record {
	return change.Record{Key: []any{values[0]}, Position: change.Position(pos), SourcePos: "rt",
		Doc: &change.Doc{Names: allTypesNames, Values: values}}
}

func TestEveryTypeRoundTrips(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		view := allTypesView(tr.uniqueView(t, "types"))
		alias := ensure(t, cfg, view)
		var dl deadLetters
		w := newWriter(t, cfg, view, WithDeadLetter(dl.add))
		recs := []change.Record{
			allTypesRecord(10, int64(1), "Ünïcödé ✓ \"quoted\" \\ back\nslash\t<&>", int64(42),
				change.Decimal("12345678901234567890.123456789"), 3.14159, true,
				time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC), change.Date("2024-02-29"),
				change.TimeOfDay("13:45:00.5"), change.Interval("P1Y2M3DT4H5M6.5S"), []byte{0, 1, 2, 255},
				change.JSON(`{"a":[1,2,{"b":null}],"c":"d"}`), []any{"x", "y"}, []any{1.5, -2.0},
				&change.Doc{Names: []string{"city", "zip"}, Values: []any{"Zürich", "8001"}},
				map[string]any{"k": int64(1), "z": []any{true}}),
			allTypesRecord(11, int64(2), "", int64(math.MinInt64), change.Decimal("-0.000001"), 1e-300, false,
				time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), change.Date("0001-01-01"),
				change.TimeOfDay("00:00:00"), change.Interval("PT0S"), []byte{},
				change.JSON(`"just a string"`), []any{}, nil, nil, "text"),
			allTypesRecord(12, int64(3), nil, int64(math.MaxInt64), change.Decimal("0"), -0.5, true,
				time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), change.Date("9999-12-31"),
				nil, nil, nil, change.JSON(`[1,"two",3.5]`), []any{"only"}, []any{0.0},
				&change.Doc{Names: []string{"city"}, Values: []any{nil}}, []any{int64(1), "mixed", nil}),
			allTypesRecord(13, int64(4), "n", int64(0), change.Decimal("1e+400"), 1.7976931348623157e308, false,
				time.Date(2000, 1, 1, 0, 0, 0, 1, time.FixedZone("x", 3600)).UTC(), change.Date("2000-01-01"),
				change.TimeOfDay("23:59:59.999999+02:00"), change.Interval("-P1D"), []byte("plain text"),
				change.JSON(`42`), nil, []any{}, &change.Doc{}, nil),
		}
		write(t, w, recs...)
		if got := dl.all(); len(got) > 0 {
			t.Fatalf("dead letters: %+v", got)
		}
		for _, r := range recs {
			id := change.KeyString(r.Key)
			src, v, found := tr.get(t, alias, id)
			if !found || string(src) != docOf(r) || v != int(r.Position) {
				t.Errorf("doc %s:\n got v%d %s\nwant v%d %s", id, v, src, r.Position, docOf(r))
			}
		}
	})
}

// TestValuesOpenSearchCannotHold: an unsigned value above a long's range
// and non-finite floats are refused by OpenSearch's long and double
// fields; the rows become dead letters with the server's reason.
func TestValuesOpenSearchCannotHold(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		view := allTypesView(tr.uniqueView(t, "limits"))
		alias := ensure(t, cfg, view)
		var dl deadLetters
		w := newWriter(t, cfg, view, WithDeadLetter(dl.add))
		base := func(id int64) []any {
			return []any{id, "n", int64(1), change.Decimal("1"), 1.0, true, time.Unix(0, 0).UTC(), change.Date("2000-01-01"),
				nil, nil, nil, nil, nil, nil, nil, nil}
		}
		big, nan, inf := base(1), base(2), base(3)
		big[2] = uint64(math.MaxUint64)
		nan[4] = math.NaN()
		inf[13] = []any{math.Inf(-1)}
		write(t, w, allTypesRecord(1, big...), allTypesRecord(1, nan...), allTypesRecord(1, inf...), allTypesRecord(1, base(4)...))
		if n := tr.count(t, alias); n != 1 {
			t.Fatalf("count = %d, want only the plain row", n)
		}
		want := map[string]string{"[1]": "[qty] of type [long]", "[2]": "[ratio] of type [double]", "[3]": "[scores] of type [double]"}
		for _, d := range dl.all() {
			if !strings.Contains(d.Reason, want[string(d.Key)]) || !strings.Contains(d.Reason, "mapper_parsing_exception") {
				t.Errorf("dead letter %s: reason %q, want it to name %s", d.Key, d.Reason, want[string(d.Key)])
			}
			delete(want, string(d.Key))
		}
		if len(want) > 0 {
			t.Errorf("no dead letters for %v", want)
		}
	})
}
