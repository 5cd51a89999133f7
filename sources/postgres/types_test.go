package postgres

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

// TestTypesFixture reads testdata/postgres/types.sql and checks every value
// and kind exactly.
func TestTypesFixture(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	loadFixture(t, dsn, "types.sql")
	cfg := Config{Tables: []string{"all_types", "public.composite_pk"}, ChunkSize: 2, Parallelism: 3, BatchSize: 2}
	tables, info, got := describeAndSnapshot(t, dsn, cfg)

	at := tables[0]
	wantCols := []struct {
		name, typ string
		kind      change.Kind
	}{
		{"id", "integer", change.KindInt},
		{"c_int2", "smallint", change.KindInt},
		{"c_int4", "integer", change.KindInt},
		{"c_int8", "bigint", change.KindInt},
		{"c_num38", "numeric(38,0)", change.KindDecimal},
		{"c_num3810", "numeric(38,10)", change.KindDecimal},
		{"c_numeric", "numeric", change.KindDecimal},
		{"c_float4", "real", change.KindFloat},
		{"c_float8", "double precision", change.KindFloat},
		{"c_text", "text", change.KindString},
		{"c_varchar", "character varying(20)", change.KindString},
		{"c_char", "character(5)", change.KindString},
		{"c_bytea", "bytea", change.KindBytes},
		{"c_bool", "boolean", change.KindBool},
		{"c_date", "date", change.KindDate},
		{"c_time", "time without time zone", change.KindTime},
		{"c_timetz", "time with time zone", change.KindTime},
		{"c_ts", "timestamp without time zone", change.KindTimestamp},
		{"c_tstz", "timestamp with time zone", change.KindTimestamp},
		{"c_interval", "interval", change.KindInterval},
		{"c_uuid", "uuid", change.KindString},
		{"c_json", "json", change.KindJSON},
		{"c_jsonb", "jsonb", change.KindJSON},
		{"c_int_arr", "integer[]", change.KindArray},
		{"c_text_arr", "text[]", change.KindArray},
		{"c_mood", "mood", change.KindString},
		{"c_int_2d", "integer[]", change.KindArray},
		{"c_num_arr", "numeric[]", change.KindArray},
		{"c_tstz_arr", "timestamp with time zone[]", change.KindArray},
		{"c_mood_arr", "mood[]", change.KindArray},
		{"c_inet", "inet", change.KindString},
	}
	if len(at.Columns) != len(wantCols) {
		t.Fatalf("all_types has %d columns, want %d", len(at.Columns), len(wantCols))
	}
	for i, w := range wantCols {
		c := at.Columns[i]
		if c.Name != w.name || c.Type != w.typ || c.Kind != w.kind || c.Nullable != (i != 0) {
			t.Errorf("column %d = %+v, want %s %s %s nullable=%v", i, c, w.name, w.typ, w.kind, i != 0)
		}
	}
	if !slices.Equal(at.Key, []int{0}) || at.Schema != "public" || at.Name != "all_types" || at.EstimatedRows != -1 || at.Database == "" {
		t.Errorf("all_types table = %+v", at)
	}
	if ct := tables[1]; !slices.Equal(ct.Key, []int{0, 1, 2}) || ct.QualifiedName() != "public.composite_pk" {
		t.Errorf("composite_pk table = %+v", ct)
	}

	want := map[int64][]any{
		1: {
			int64(1), int64(32767), int64(2147483647), int64(math.MaxInt64),
			change.Decimal("12345678901234567890123456789012345678"),
			change.Decimal("1234567890123456789012345678.0123456789"),
			change.Decimal("3.14159265358979323846264338327950288419716939937510582097494459"),
			1.1, 3.141592653589793,
			"héllo wörld 👋🏽 日本語 ✓ \"quoted\" \\ tab\tend", "abc", "ab   ",
			[]byte{0, 1, 2, 3, 0xff, 0}, true,
			change.Date("2024-02-29"), change.TimeOfDay("13:45:30.123456"), change.TimeOfDay("13:45:30+02:00"),
			utc(2024, 2, 29, 13, 45, 30, 123456000), utc(2024, 2, 29, 8, 15, 30, 123456000),
			change.Interval("P1Y2M3DT4H5M6.5S"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
			change.JSON(`{"b": 1, "a": [1, 2]}`), change.JSON(`{"n": 1.50, "nested": {"s": "t", "x": [1, {"y": null}]}}`),
			[]any{int64(1), nil, int64(3)},
			[]any{"a b", "c,d", "NULL", nil, `q"uote`, `back\slash`, "", "{braces}"},
			"very happy",
			[]any{[]any{int64(1), int64(2)}, []any{int64(3), nil}},
			[]any{change.Decimal("1.50"), change.Decimal("NaN"), nil, change.Decimal("-0.000000000000000000001")},
			[]any{utc(2024, 1, 1, 0, 0, 0, 0), nil, utc(2024, 7, 1, 1, 59, 59, 999999000)},
			[]any{"happy", nil, "very happy"},
			"192.168.0.1/24",
		},
		2: {
			int64(2), int64(-32768), int64(-2147483648), int64(math.MinInt64),
			change.Decimal("-99999999999999999999999999999999999999"), change.Decimal("-0.0000000001"), change.Decimal("NaN"),
			math.NaN(), math.Inf(1),
			"", "", "     ",
			[]byte{}, false,
			change.Date("infinity"), change.TimeOfDay("00:00:00"), change.TimeOfDay("23:59:59.999999-07:30"),
			TimestampInfinity, TimestampNegInfinity,
			change.Interval("P-1DT-2H"), "00000000-0000-0000-0000-000000000000",
			change.JSON(`[]`), change.JSON(`"str"`),
			[]any{}, []any{}, "sad", []any{}, []any{}, []any{}, []any{},
			"::1",
		},
		3: {
			int64(3), int64(0), int64(0), int64(0),
			change.Decimal("0"), change.Decimal("0.0000000000"), change.Decimal("Infinity"),
			math.Inf(-1), math.Inf(-1),
			" leading and trailing spaces ", "x", "abcde",
			[]byte{0xde, 0xad, 0xbe, 0xef}, true,
			change.Date("0044-03-15 BC"), change.TimeOfDay("24:00:00"), change.TimeOfDay("00:00:00+00:00"),
			utc(1999, 12, 31, 23, 59, 59, 999999000), TimestampInfinity,
			change.Interval("P-1Y-2M3DT-4H-5M-6S"), "ffffffff-ffff-ffff-ffff-ffffffffffff",
			change.JSON(`null`), change.JSON(`{"a": {"b": {"c": [true, false, null, 1` + strings.Repeat("0", 100) + `, "x"]}}}`),
			[]any{int64(-1)}, []any{nil}, "ok",
			[]any{[]any{nil, nil}}, []any{change.Decimal("-Infinity")}, []any{TimestampInfinity}, []any{"sad"},
			"10.0.0.0/8",
		},
		4: append([]any{int64(4)}, make([]any, len(wantCols)-1)...),
	}
	rows := got.rows("public.all_types")
	if len(rows) != len(want) {
		t.Fatalf("all_types: %d rows, want %d", len(rows), len(want))
	}
	seen := map[int64]bool{}
	for _, r := range rows {
		id := r.After[0].(int64)
		if seen[id] {
			t.Errorf("row %d emitted twice", id)
		}
		seen[id] = true
		w := want[id]
		for i, v := range r.After {
			if !valueEqual(v, w[i]) {
				t.Errorf("row %d, %s: got %s, want %s", id, at.Columns[i].Name, show(v), show(w[i]))
			}
		}
	}
	if got.chunks["public.all_types"] != 3 { // boundaries at rows 2 and 4
		t.Errorf("all_types planned in %d chunks, want 3", got.chunks["public.all_types"])
	}
	if info.Rows["public.all_types"] != 4 || info.Rows["public.composite_pk"] != 6 {
		t.Errorf("info.Rows = %v", info.Rows)
	}

	wantCPK := [][]any{
		{"Acme", int64(1), change.Date("2024-01-01"), change.Decimal("0.00"), "capital A sorts apart"},
		{"acme", int64(1), change.Date("2024-01-01"), change.Decimal("10.00"), "first"},
		{"acme", int64(1), change.Date("2024-01-02"), change.Decimal("11.50"), nil},
		{"acme", int64(2), change.Date("2024-01-01"), change.Decimal("-3.25"), "negative"},
		{"bücher", int64(7), change.Date("1999-12-31"), change.Decimal("99.99"), "unicode tenant"},
		{"zeta", int64(math.MaxInt64), change.Date("2038-01-19"), change.Decimal("1.00"), "max id"},
	}
	cpk := got.rows("public.composite_pk")
	slices.SortFunc(cpk, func(a, b change.Change) int { return change.CompareKeys(a.Key, b.Key) })
	if len(cpk) != len(wantCPK) {
		t.Fatalf("composite_pk: %d rows, want %d", len(cpk), len(wantCPK))
	}
	for i, r := range cpk {
		if !valueEqual(r.After, wantCPK[i]) || !valueEqual(r.Key, wantCPK[i][:3]) {
			t.Errorf("composite_pk row %d: got %s key %s, want %s", i, show(r.After), show(r.Key), show(wantCPK[i]))
		}
	}
}

// TestOtherTypes covers types read as their text form, domains, composite
// types and arrays of every decoding path.
func TestOtherTypes(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE EXTENSION IF NOT EXISTS citext`,
		`CREATE DOMAIN posint AS int CHECK (VALUE > 0)`,
		`CREATE TYPE pair AS (n int, s text)`,
		`CREATE TABLE other_types (
			id int PRIMARY KEY, c_macaddr macaddr, c_money money, c_bit bit(4), c_varbit varbit, c_xml xml,
			c_point point, c_range int4range, c_tsv tsvector, c_cidr cidr, c_oid oid, c_char "char", c_name name,
			c_citext citext, c_dom posint, c_comp pair,
			c_box_arr box[], c_interval_arr interval[], c_timetz_arr timetz[], c_time_arr time[], c_bool_arr bool[],
			c_bytea_arr bytea[], c_float4_arr float4[], c_float8_arr float8[], c_date_arr date[], c_uuid_arr uuid[],
			c_json_arr json[], c_jsonb_arr jsonb[], c_oid_arr oid[], c_lb_arr int[], c_int8_arr int8[], c_int2_arr int2[],
			c_ts_arr timestamp[], c_varchar_arr varchar[], c_citext_arr citext[], c_dom_arr posint[], c_comp_arr pair[],
			c_inet_arr inet[], c_3d int[])`,
		`INSERT INTO other_types VALUES (1, '08:00:2b:01:02:03', 12.5, B'1010', B'101', '<a>x</a>',
			point(1.5, 2), int4range(1, 5), 'a fat cat', '10.1.0.0/16', 4000000000, 'x', 'nm',
			'AbC', 5, ROW(1, 'x y'),
			'{(0,0),(1,1);(2,2),(3,3)}', '{1 day, P-1M, NULL}', '{12:00+01, 13:00:00.5-03:30}', '{23:59:59.999999}', '{t,f,NULL}',
			'{"\\x00ff", NULL, "\\x"}', '{1.5, NaN, -Infinity, 0.1}', '{1e-300, -0}', '{2024-02-29, infinity, 0001-01-01 BC}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
			ARRAY['{"a": 1}'::json, '[ 1 ]'], '{"{\"a\": 1}", null}', '{1, 4294967295}', '[2:3]={7,8}', '{-9223372036854775808}', '{-32768, 32767}',
			'{"2000-01-01 00:00:00", -infinity}', '{"a,b", ""}', '{AbC}', '{1, 2}', ARRAY[ROW(1, 'x'), ROW(2, 'y z')]::pair[],
			'{::1, 10.0.0.1}', '{{{1,2},{3,4}},{{5,6},{7,NULL}}}')`,
		`INSERT INTO other_types (id) VALUES (2)`,
	)
	cfg := Config{Tables: []string{"other_types"}}
	tables, _, got := describeAndSnapshot(t, dsn, cfg)
	tb := tables[0]
	kinds := map[string]change.Kind{"id": change.KindInt, "c_oid": change.KindInt, "c_dom": change.KindInt, "c_money": change.KindDecimal}
	for _, c := range tb.Columns {
		want, ok := kinds[c.Name]
		switch {
		case ok:
		case strings.HasSuffix(c.Name, "_arr") || c.Name == "c_3d":
			want = change.KindArray
		default:
			want = change.KindString
		}
		if c.Kind != want {
			t.Errorf("%s (%s): kind %s, want %s", c.Name, c.Type, c.Kind, want)
		}
	}

	// Text-form types read exactly as the server writes them.
	ctx := testCtx(t)
	conn, err := pgxConnect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	textCols := []string{"c_macaddr", "c_bit", "c_varbit", "c_xml", "c_point", "c_range", "c_tsv", "c_cidr", "c_char", "c_name", "c_citext", "c_comp"}
	serverText := map[string]string{}
	for _, c := range textCols {
		var s string
		if err := conn.QueryRow(ctx, "SELECT "+c+"::text FROM other_types WHERE id = 1").Scan(&s); err != nil {
			t.Fatal(err)
		}
		serverText[c] = s
	}
	rows := got.rows("public.other_types")
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r.After[0] == int64(2) {
			for i, v := range r.After[1:] {
				if v != nil {
					t.Errorf("row 2, %s: %s, want NULL", tb.Columns[i+1].Name, show(v))
				}
			}
			continue
		}
		col := func(name string) any { return r.After[tb.ColumnIndex(name)] }
		for _, c := range textCols {
			if col(c) != serverText[c] {
				t.Errorf("%s: %s, want %q", c, show(col(c)), serverText[c])
			}
		}
		for name, want := range map[string]any{
			"c_oid":          int64(4000000000),
			"c_money":        change.Decimal("12.50"),
			"c_dom":          int64(5),
			"c_box_arr":      []any{"(1,1),(0,0)", "(3,3),(2,2)"},
			"c_interval_arr": []any{change.Interval("P1D"), change.Interval("P-1M"), nil},
			"c_timetz_arr":   []any{change.TimeOfDay("12:00:00+01:00"), change.TimeOfDay("13:00:00.5-03:30")},
			"c_time_arr":     []any{change.TimeOfDay("23:59:59.999999")},
			"c_bool_arr":     []any{true, false, nil},
			"c_bytea_arr":    []any{[]byte{0, 0xff}, nil, []byte{}},
			"c_float4_arr":   []any{1.5, math.NaN(), math.Inf(-1), 0.1},
			"c_float8_arr":   []any{1e-300, math.Copysign(0, -1)},
			"c_date_arr":     []any{change.Date("2024-02-29"), change.Date("infinity"), change.Date("0001-01-01 BC")},
			"c_uuid_arr":     []any{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
			"c_json_arr":     []any{change.JSON(`{"a": 1}`), change.JSON(`[ 1 ]`)},
			"c_jsonb_arr":    []any{change.JSON(`{"a": 1}`), nil},
			"c_oid_arr":      []any{int64(1), int64(4294967295)},
			"c_lb_arr":       []any{int64(7), int64(8)},
			"c_int8_arr":     []any{int64(math.MinInt64)},
			"c_int2_arr":     []any{int64(-32768), int64(32767)},
			"c_ts_arr":       []any{utc(2000, 1, 1, 0, 0, 0, 0), TimestampNegInfinity},
			"c_varchar_arr":  []any{"a,b", ""},
			"c_citext_arr":   []any{"AbC"},
			"c_dom_arr":      []any{int64(1), int64(2)},
			"c_comp_arr":     []any{"(1,x)", `(2,"y z")`},
			"c_inet_arr":     []any{"::1", "10.0.0.1"},
			"c_3d":           []any{[]any{[]any{int64(1), int64(2)}, []any{int64(3), int64(4)}}, []any{[]any{int64(5), int64(6)}, []any{int64(7), nil}}},
		} {
			if !valueEqual(col(name), want) {
				t.Errorf("%s: %s, want %s", name, show(col(name)), show(want))
			}
		}
	}
}
