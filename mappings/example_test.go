package mappings_test

import (
	"fmt"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/mappings"
)

var orders = &change.Table{Schema: "public", Name: "orders", Key: []int{0}, Columns: []change.Column{
	{Name: "id", Type: "bigint", Kind: change.KindInt},
	{Name: "customer_name", Type: "text", Kind: change.KindString, Nullable: true},
	{Name: "amount", Type: "numeric(12,2)", Kind: change.KindDecimal},
	{Name: "status", Type: "text", Kind: change.KindString},
	{Name: "created_at", Type: "timestamptz", Kind: change.KindTimestamp},
	{Name: "city", Type: "text", Kind: change.KindString, Nullable: true},
}}

const mappingFile = `view: customer_orders
source: public.orders
key: [order_id]
where: status != "draft"
fields:
  order_id: id
  customer: upper(customer_name)
  total: amount
  big: amount >= 100
  placed_at: to_tz(created_at, "Asia/Tokyo")
  address:
    city: coalesce(city, "unknown")
`

func ExampleCompile() {
	spec, err := mappings.Parse("customer_orders.yaml", []byte(mappingFile))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := mappings.Compile(spec, orders)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.View(), "key", m.KeyFields())
	for _, f := range m.Fields() {
		fmt.Printf("%s %s nullable=%v\n", f.Name, f.Kind, f.Nullable)
	}

	// A type error is reported where it is in the file.
	bad, _ := mappings.Parse("bad.yaml", []byte("view: v\nsource: public.orders\nfields:\n  id: id\n  twice: amount * 2\n"))
	_, err = mappings.Compile(bad, orders)
	fmt.Println(err)
	// Output:
	// customer_orders key [order_id]
	// order_id int nullable=false
	// customer string nullable=true
	// total decimal nullable=false
	// big bool nullable=false
	// placed_at string nullable=false
	// address object nullable=false
	// bad.yaml:5:17: field twice: invalid operation: * (mismatched types change.Decimal and int)
	//       twice: amount * 2
	//                     ^
}

func ExampleEvaluator_Apply() {
	spec, _ := mappings.Parse("customer_orders.yaml", []byte(mappingFile))
	m, _ := mappings.Compile(spec, orders)
	e := m.NewEvaluator()

	at := time.Date(2024, 5, 1, 20, 30, 0, 0, time.UTC)
	before := []any{int64(7), "ada", change.Decimal("120.00"), "draft", at, nil}
	after := []any{int64(7), "ada", change.Decimal("120.00"), "paid", at, nil}
	var records []change.Record
	for _, c := range []change.Change{
		{Op: change.OpCreate, After: before, Position: 1}, // a draft: not in the view
		{Op: change.OpUpdate, Before: before, After: after, Position: 2},
		{Op: change.OpDelete, Before: []any{int64(7), change.Unchanged, change.Unchanged, change.Unchanged, change.Unchanged, change.Unchanged}, Position: 3},
	} {
		var err error
		if records, err = e.Apply(&c, records); err != nil {
			fmt.Println(err)
		}
	}
	for _, r := range records {
		fmt.Println(r.Position, r.Delete, string(change.AppendJSON(nil, r.Key)), string(change.AppendJSON(nil, r.Doc)))
	}
	// Output:
	// 2 false [7] {"order_id":7,"customer":"ADA","total":120.00,"big":true,"placed_at":"2024-05-02T05:30:00+09:00","address":{"city":"unknown"}}
	// 3 true [7] null
}
