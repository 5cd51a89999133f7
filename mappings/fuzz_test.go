package mappings

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// fuzzRows are rows of kindsTable: nulls, ordinary values, edge values and
// values the source did not send.
func fuzzRows() [][]any {
	tb := kindsTable()
	n := len(tb.Columns)
	nulls := make([]any, n)
	nulls[0] = int64(1)
	full := []any{int64(2), "héllo 😀", "a,b", int64(-7), 2.5, change.Decimal("-12.50"), ts, change.Date("2024-05-01"),
		change.JSON(`{"a":[1,{"b":"c"}],"n":1e400}`), []byte{0, 0xff}, []any{int64(1), "x", nil}, change.Decimal(digits38)}
	edge := []any{int64(math.MinInt64), "\xff\x00", "", int64(math.MaxInt64), math.NaN(), change.Decimal("NaN"), time.Time{},
		change.Date("infinity"), change.JSON(`not json`), []byte{}, []any{}, uint64(math.MaxUint64)}
	unchanged := make([]any, n)
	for i := range unchanged {
		unchanged[i] = change.Unchanged
	}
	unchanged[0] = int64(3)
	return [][]any{nulls, full, edge, unchanged}
}

var fuzzSeeds = []string{
	`upper(s)`, `s + s2`, `n * 2 + f`, `d > 3`, `d == d`, `decimal(s, n)`, `int(s) / n`, `n % 0`, `-n`, `!(n > 1)`,
	`coalesce(s, s2, "x")`, `substr(s, n, 2)`, `lpad(s, n)`, `json_get(j, s)`, `json_get(j, "a[1].b")`,
	`to_tz(t, s)`, `trunc_time(t, "week", s2)`, `parse_time(s, s2)`, `format_time(t, s)`, `hash64(s, n, d, t, j, b, arr, x)`,
	`regex_replace(s, s2, "$1")`, `s matches s2`, `s contains "l"`, `dt >= "2024"`, `arr[n]`, `x.y`, `x?.y ?? 1`,
	`map(split(s, ","), upper(#))`, `filter(arr, # != nil)`, `len(arr) > 0 ? arr[0] : nil`, `let y = n; y * y`,
	`{"a": s, "b": [n, f]}`, `$env["s"]`, `_op + _table`, `_commit_time - t`, `string(x)`, `float(d) ** 2`,
	`1..3`, `duration("1h") + t`, `sha256(b)`, `nullif(n, 0)`, `join(arr, s)`, `date_of(t, s)`, `year(dt)`,
	`x > 1 && s != nil || n == nil`, `"a" in arr`, `d in [1, 2]`, `abs(n)`, `round(f)`, `toJSON(x)`, `fromJSON(s)`,
}

// FuzzCompileEval compiles arbitrary expressions, as a field and as where,
// against a fixed table and maps rows with them: nothing may panic, failures
// must be CompileErrors or RowErrors, and docs must hold only values of the
// change package's value set.
func FuzzCompileEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	tb := kindsTable()
	rows := fuzzRows()
	f.Fuzz(func(t *testing.T, code string) {
		for _, asWhere := range []bool{false, true} {
			spec := &Spec{View: "f", Source: "k", Deletes: DeletesSoft,
				Fields: []FieldSpec{{Name: "id", Expr: "id"}, {Name: "v", Expr: code}, {Name: "o", Fields: []FieldSpec{{Name: "w", Expr: code}}}}}
			if asWhere {
				spec.Where, spec.Fields = code, spec.Fields[:1]
			}
			m, err := Compile(spec, tb)
			if err != nil {
				var ce *CompileError
				if !errors.As(err, &ce) || err.Error() == "" {
					t.Fatalf("compile error %T %q", err, err)
				}
				continue
			}
			_ = m.Fields()
			e := m.NewEvaluator()
			for _, row := range rows {
				for _, op := range []change.Op{change.OpCreate, change.OpUpdate, change.OpDelete} {
					recs, err := e.Apply(&change.Change{Op: op, Before: row, After: row}, nil)
					if err != nil {
						var re *RowError
						if !errors.As(err, &re) || err.Error() == "" {
							t.Fatalf("apply error %T %q", err, err)
						}
						continue
					}
					for _, r := range recs {
						if r.Doc != nil {
							checkValue(t, r.Doc)
						}
						for _, k := range r.Key {
							checkValue(t, k)
						}
					}
				}
			}
		}
	})
}

// checkValue fails unless v is in the change package's value set.
func checkValue(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, bool, int64, uint64, float64, string, []byte, change.Decimal, change.Date, change.TimeOfDay, change.Interval, change.JSON:
	case time.Time:
		if x.Location() != time.UTC {
			t.Fatalf("time not in UTC: %v", x)
		}
	case []any:
		for _, e := range x {
			checkValue(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkValue(t, e)
		}
	case *change.Doc:
		if len(x.Names) != len(x.Values) {
			t.Fatalf("doc with %d names and %d values", len(x.Names), len(x.Values))
		}
		for _, e := range x.Values {
			checkValue(t, e)
		}
	default:
		t.Fatalf("value of type %T outside the value set: %v", v, v)
	}
	_ = change.AppendJSON(nil, v)
}

// FuzzParse parses arbitrary mapping files and compiles those that parse.
func FuzzParse(f *testing.F) {
	f.Add(exampleSpec)
	f.Add("view: v\nsource: t\nall_columns: true\nexclude: [a]\nfields:\n  x: |\n    concat(\"a\",\n      nope)\n")
	f.Add("view: v\nsource: t\nfields:\n  x: \"concat(\\\"\\u00e9\\t\\\", nope)\"\n  y: 'it''s'\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("f.yaml", []byte(src))
		if err != nil {
			_ = err.Error()
			return
		}
		if _, err := Compile(s, ordersTable()); err != nil {
			_ = err.Error()
		}
	})
}
