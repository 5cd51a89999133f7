package mappings

import (
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// ordersTable is the source table most tests map.
func ordersTable() *change.Table {
	return &change.Table{Schema: "public", Name: "orders", Key: []int{0}, EstimatedRows: -1, Columns: []change.Column{
		{Name: "id", Type: "bigint", Kind: change.KindInt},
		{Name: "customer_name", Type: "text", Kind: change.KindString, Nullable: true},
		{Name: "amount", Type: "numeric(38,2)", Kind: change.KindDecimal, Nullable: true},
		{Name: "created_at", Type: "timestamptz", Kind: change.KindTimestamp},
		{Name: "qty", Type: "int", Kind: change.KindInt, Nullable: true},
		{Name: "status", Type: "text", Kind: change.KindString},
		{Name: "city", Type: "text", Kind: change.KindString, Nullable: true},
		{Name: "zip", Type: "text", Kind: change.KindString, Nullable: true},
		{Name: "payload", Type: "jsonb", Kind: change.KindJSON, Nullable: true},
		{Name: "day", Type: "date", Kind: change.KindDate, Nullable: true},
		{Name: "extra", Type: "", Kind: change.KindAny, Nullable: true},
	}}
}

var t0 = time.Date(2024, 5, 1, 20, 30, 0, 0, time.UTC)

// orderRow returns a full row of ordersTable, with overrides by column name.
func orderRow(id int64, over map[string]any) []any {
	row := []any{id, "Ada", change.Decimal("12.50"), t0, int64(3), "paid", "London", "N1", change.JSON(`{"a":{"b":[1,2.5,"x"]}}`), change.Date("2024-05-01"), nil}
	tb := ordersTable()
	for k, v := range over {
		i := tb.ColumnIndex(k)
		if i < 0 {
			panic("no column " + k)
		}
		row[i] = v
	}
	return row
}

func mustCompile(t testing.TB, src string) *Mapping {
	t.Helper()
	s, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	m, err := Compile(s, ordersTable())
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

// docJSON renders a record compactly for comparisons.
func recString(r change.Record) string {
	var b strings.Builder
	if r.Delete {
		b.WriteString("DEL ")
	} else {
		b.WriteString("UPS ")
	}
	b.Write(change.AppendJSON(nil, r.Key))
	if r.Doc != nil {
		b.WriteByte(' ')
		b.Write(change.AppendJSON(nil, r.Doc))
	}
	return b.String()
}

func recStrings(rs []change.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = recString(r)
	}
	return out
}
