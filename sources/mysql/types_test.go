package mysql

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

func utc(y int, mo time.Month, d, h, mi, s, us int) time.Time {
	return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC)
}

var binary16 = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}

// allTypesColumns is the expected schema of all_types: name, COLUMN_TYPE, kind.
var allTypesColumns = []struct {
	name, typ string
	kind      change.Kind
}{
	{"id", "int(11)", change.KindInt},
	{"c_tinyint", "tinyint(4)", change.KindInt},
	{"c_smallint", "smallint(6)", change.KindInt},
	{"c_mediumint", "mediumint(9)", change.KindInt},
	{"c_int", "int(11)", change.KindInt},
	{"c_bigint", "bigint(20)", change.KindInt},
	{"c_tinyint_u", "tinyint(3) unsigned", change.KindInt},
	{"c_bigint_u", "bigint(20) unsigned", change.KindInt},
	{"c_decimal", "decimal(65,30)", change.KindDecimal},
	{"c_money", "decimal(10,2)", change.KindDecimal},
	{"c_float", "float", change.KindFloat},
	{"c_double", "double", change.KindFloat},
	{"c_varchar", "varchar(100)", change.KindString},
	{"c_char", "char(5)", change.KindString},
	{"c_text", "text", change.KindString},
	{"c_blob", "blob", change.KindBytes},
	{"c_binary", "binary(16)", change.KindBytes},
	{"c_varbinary", "varbinary(20)", change.KindBytes},
	{"c_bool", "tinyint(1)", change.KindInt},
	{"c_bit", "bit(8)", change.KindInt},
	{"c_bit1", "bit(1)", change.KindBool},
	{"c_date", "date", change.KindDate},
	{"c_datetime", "datetime(6)", change.KindTimestamp},
	{"c_timestamp", "timestamp(6)", change.KindTimestamp},
	{"c_time", "time(6)", change.KindTime},
	{"c_year", "year(4)", change.KindInt},
	{"c_json", "longtext", change.KindJSON}, // MariaDB's JSON
	{"c_enum", "enum('small','medium','large')", change.KindString},
	{"c_set", "set('red','green','blue')", change.KindString},
}

// allTypesRows are the expected decoded rows of all_types, by id.
var allTypesRows = map[int64][]any{
	1: {int64(1),
		int64(127), int64(32767), int64(8388607), int64(2147483647), int64(math.MaxInt64),
		int64(255), uint64(18446744073709551615),
		change.Decimal("99999999999999999999999999999999999.999999999999999999999999999999"), change.Decimal("99999999.99"),
		3.1415927, 1.7976931348623157e308,
		"héllo wörld 😀🎉", "abcde", "line one\nline \"two\"\ttab",
		[]byte{0, 1, 2, 0xFF, 0, 0}, append([]byte{1, 2}, make([]byte, 14)...), []byte{0xDE, 0xAD, 0xBE, 0xEF},
		int64(1), int64(170), true,
		change.Date("9999-12-31"), utc(9999, 12, 31, 23, 59, 59, 999999), utc(2038, 1, 19, 3, 14, 7, 999999),
		change.TimeOfDay("838:59:59.000000"), int64(2155),
		change.JSON(`{"a": {"b": [1, 2.5, "x", null, true]}, "emoji": "😀"}`),
		"large", "red,blue"},
	2: {int64(2),
		int64(-128), int64(-32768), int64(-8388608), int64(-2147483648), int64(math.MinInt64),
		int64(0), int64(0),
		change.Decimal("-99999999999999999999999999999999999.999999999999999999999999999999"), change.Decimal("-0.01"),
		-1.5, -2.2250738585072014e-308,
		"", "", "",
		[]byte{}, make([]byte, 16), []byte{},
		int64(0), int64(0), false,
		change.Date("1000-01-01"), utc(1000, 1, 1, 0, 0, 0, 0), utc(1970, 1, 1, 0, 0, 1, 0),
		change.TimeOfDay("-838:59:59.000000"), int64(1901),
		change.JSON(`[]`),
		"small", ""},
	3: append([]any{int64(3)}, make([]any, 28)...),
	4: {int64(4),
		int64(1), int64(2), int64(3), int64(4), int64(5),
		int64(6), uint64(9223372036854775808),
		change.Decimal("0.000000000000000000000000000001"), change.Decimal("12.50"),
		0.1, 0.1,
		`it's a "quote" \ backslash`, "a", "ünïcödé ✓",
		[]byte{0}, binary16, []byte{0},
		int64(2), int64(127), false,
		change.Date("2024-02-29"), utc(2024, 2, 29, 12, 34, 56, 789012), utc(2024, 2, 29, 12, 34, 56, 789012),
		change.TimeOfDay("12:34:56.789012"), int64(2024),
		change.JSON(`null`),
		"medium", "green"},
}

func TestAllTypes(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	execSQLFile(t, dsn, "../../testdata/mysql/types.sql")
	db := dbName(t, dsn)
	before := time.Now().UTC().Add(-time.Minute)
	res, tables := runSnapshot(t, dsn, Config{Tables: []string{"all_types", db + ".order_lines"}, BatchSize: 3})

	// Schema.
	at := tables[0]
	if at.Database != db || at.Name != "all_types" || at.QualifiedName() != db+".all_types" {
		t.Fatalf("table %+v", at)
	}
	if len(at.Columns) != len(allTypesColumns) {
		t.Fatalf("%d columns, want %d", len(at.Columns), len(allTypesColumns))
	}
	for i, want := range allTypesColumns {
		c := at.Columns[i]
		if c.Name != want.name || c.Type != want.typ || c.Kind != want.kind || c.Nullable != (i != 0) {
			t.Errorf("column %d = %+v, want %s %s %s nullable=%v", i, c, want.name, want.typ, want.kind, i != 0)
		}
	}
	if !reflect.DeepEqual(at.Key, []int{0}) {
		t.Errorf("key %v", at.Key)
	}
	ol := tables[1]
	if !reflect.DeepEqual(ol.Key, []int{0, 1}) || !reflect.DeepEqual(ol.KeyNames(), []string{"order_id", "line_no"}) {
		t.Errorf("order_lines key %v", ol.Key)
	}

	// Values.
	rows := res.rows[db+".all_types"]
	if len(rows) != len(allTypesRows) {
		t.Fatalf("%d rows, want %d", len(rows), len(allTypesRows))
	}
	for _, ch := range rows {
		id := ch.After[0].(int64)
		want := allTypesRows[id]
		for i, v := range ch.After {
			if !sameValue(v, want[i]) {
				t.Errorf("row %d %s: got %T %#v, want %T %#v", id, at.Columns[i].Name, v, v, want[i], want[i])
			}
			if v != nil && change.KindOf(v) != at.Columns[i].Kind {
				t.Errorf("row %d %s: value kind %s, column kind %s", id, at.Columns[i].Name, change.KindOf(v), at.Columns[i].Kind)
			}
		}
		if ch.Op != change.OpRead || !reflect.DeepEqual(ch.Key, []any{id}) || ch.Before != nil {
			t.Errorf("row %d: op %v key %v before %v", id, ch.Op, ch.Key, ch.Before)
		}
		if ch.Position != res.info.Position || ch.SourcePos != fmt.Sprintf("%s:%d", res.info.File, res.info.Offset) {
			t.Errorf("row %d: position %v %q, info %+v", id, ch.Position, ch.SourcePos, res.info)
		}
		if ch.CommitTime.Location() != time.UTC || ch.CommitTime.Before(before) || ch.CommitTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("row %d: commit time %v", id, ch.CommitTime)
		}
	}
	for _, b := range res.batches {
		if len(b.Changes) > 3 || len(b.Changes) == 0 {
			t.Errorf("batch of %d changes, batch size 3", len(b.Changes))
		}
	}

	// The composite-key table.
	lines := res.rows[db+".order_lines"]
	if len(lines) != 6 || res.info.Rows[db+".order_lines"] != 6 || res.info.Rows[db+".all_types"] != 4 {
		t.Fatalf("order_lines: %d rows, info %v", len(lines), res.info.Rows)
	}
	for _, ch := range lines {
		if !reflect.DeepEqual(ch.Key, []any{ch.After[0], ch.After[1]}) {
			t.Errorf("key %v of %v", ch.Key, ch.After)
		}
	}

	// Position packing.
	seq, err := change.BinlogSequence(res.info.File)
	if err != nil || res.info.Position != change.Position(seq<<44|res.info.Offset<<12) {
		t.Errorf("position %v of %s:%d", res.info.Position, res.info.File, res.info.Offset)
	}
	if res.info.GTID == "" {
		t.Errorf("no GTID position")
	}
}

// sameValue compares exactly, including the Go type ([]byte{} is not nil).
func sameValue(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && ab != nil && bb != nil && bytes.Equal(ab, bb)
	}
	if at, ok := a.(time.Time); ok {
		bt, ok := b.(time.Time)
		return ok && at.Equal(bt) && at.Location() == time.UTC
	}
	return reflect.DeepEqual(a, b)
}

func TestZeroDates(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn, // one statement: sql_mode applies to its session
		`CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL, dt DATETIME(6) NOT NULL, ts TIMESTAMP NOT NULL DEFAULT 0)`,
		`SET STATEMENT sql_mode = '' FOR INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00', 0), (2, '2024-00-00', '2024-05-00 10:00:00', '2024-05-01 10:00:00')`)
	res, _ := runSnapshot(t, dsn, Config{Tables: []string{"z"}})
	got := map[int64][]any{}
	for _, ch := range res.rows[dbName(t, dsn)+".z"] {
		got[ch.After[0].(int64)] = ch.After[1:]
	}
	// zero_dates keep (the default): the values as the server shows them.
	want := map[int64][]any{
		1: {change.Date("0000-00-00"), "0000-00-00 00:00:00.000000", "0000-00-00 00:00:00"},
		2: {change.Date("2024-00-00"), "2024-05-00 10:00:00.000000", utc(2024, 5, 1, 10, 0, 0, 0)},
	}
	for id, w := range want {
		for i := range w {
			if !sameValue(got[id][i], w[i]) {
				t.Errorf("row %d col %d: %#v, want %#v", id, i+1, got[id][i], w[i])
			}
		}
	}
}
