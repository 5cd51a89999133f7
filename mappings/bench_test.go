package mappings

import (
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// benchTable is a 10-column table.
func benchTable() *change.Table {
	return &change.Table{Schema: "public", Name: "orders", Key: []int{0}, Columns: []change.Column{
		{Name: "id", Kind: change.KindInt},
		{Name: "customer_name", Kind: change.KindString, Nullable: true},
		{Name: "amount", Kind: change.KindDecimal, Nullable: true},
		{Name: "created_at", Kind: change.KindTimestamp},
		{Name: "qty", Kind: change.KindInt, Nullable: true},
		{Name: "status", Kind: change.KindString},
		{Name: "city", Kind: change.KindString, Nullable: true},
		{Name: "zip", Kind: change.KindString, Nullable: true},
		{Name: "note", Kind: change.KindString, Nullable: true},
		{Name: "payload", Kind: change.KindJSON, Nullable: true},
	}}
}

func benchChange() *change.Change {
	return &change.Change{Op: change.OpCreate, Position: 42, SourcePos: "0/16B3748",
		CommitTime: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		After: []any{int64(1001), "Ada Lovelace", change.Decimal("1234.50"), time.Date(2024, 5, 1, 11, 59, 0, 0, time.UTC),
			int64(3), "paid", "London", "N1 9GU", nil, change.JSON(`{"a":1}`)}}
}

func benchMapping(b *testing.B, yaml string) *Evaluator {
	b.Helper()
	s, err := Parse("bench.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	m, err := Compile(s, benchTable())
	if err != nil {
		b.Fatal(err)
	}
	return m.NewEvaluator()
}

func runBench(b *testing.B, e *Evaluator) {
	c := benchChange()
	dst := make([]change.Record, 0, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		dst, err = e.Apply(c, dst[:0])
		if err != nil || len(dst) != 1 {
			b.Fatal(err, len(dst))
		}
	}
}

func BenchmarkApplyIdentity(b *testing.B) {
	runBench(b, benchMapping(b, "view: orders\nsource: public.orders\nall_columns: true\n"))
}

func BenchmarkApplyEightFields(b *testing.B) {
	runBench(b, benchMapping(b, `view: orders
source: public.orders
key: [order_id]
where: status != "draft"
fields:
  order_id: id
  customer: upper(customer_name)
  total: decimal(amount)
  placed_at: to_tz(created_at, "Asia/Tokyo")
  items: qty * 2
  status: status
  city: city
  zip: coalesce(zip, "")
`))
}
