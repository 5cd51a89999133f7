package mappings

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func joinTables() map[string]*change.Table {
	col := func(name string, k change.Kind) change.Column {
		return change.Column{Name: name, Type: k.String(), Kind: k, Nullable: true}
	}
	return map[string]*change.Table{
		"shop.public.orders": {Schema: "public", Name: "orders", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("customer_id", change.KindInt), col("status", change.KindString)}},
		"crm.customers": {Database: "crm", Name: "customers", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("name", change.KindString), col("country_code", change.KindString)}},
		"crm.countries": {Database: "crm", Name: "countries", Key: []int{0}, Columns: []change.Column{
			col("code", change.KindString), col("name", change.KindString)}},
		"shop.public.order_lines": {Schema: "public", Name: "order_lines", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("order_id", change.KindInt), col("product_id", change.KindInt),
			col("qty", change.KindInt), col("amount", change.KindDecimal)}},
		"catalog.products": {Schema: "public", Name: "products", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("title", change.KindString)}},
	}
}

func resolver(tables map[string]*change.Table) TableResolver {
	return func(name string) (*change.Table, error) {
		if t, ok := tables[name]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("table %q is not among the job's tables", name)
	}
}

const joinedSpec = `view: order_docs
source: shop.public.orders
key: [order_id]
joins:
  customer:
    table: crm.customers
    on: {customer_id: id}
  country:
    table: crm.countries
    parent: customer
    on: {country_code: code}
  lines:
    table: shop.public.order_lines
    on: {id: order_id}
    many: true
  product:
    table: catalog.products
    parent: lines
    on: {product_id: id}
fields:
  order_id: id
  customer: customer.name
  country: customer.country.name
  country2: country.name
  n_lines: len(lines)
  qty: sum(map(lines, .qty))
  items:
    each: lines
    fields:
      qty: qty
      title: product.title
`

func TestCompileAndApplyJoined(t *testing.T) {
	spec, err := Parse("order_docs.yaml", []byte(joinedSpec))
	if err != nil {
		t.Fatal(err)
	}
	m, err := CompileView(spec, resolver(joinTables()))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.Joins()); got != 4 {
		t.Fatalf("joins: %d", got)
	}
	e := m.NewEvaluator()
	c := &change.Change{Op: change.OpRead, Key: []any{int64(7)}, After: []any{int64(7), int64(3), "paid"}, Position: 9}
	aliases := map[string]any{
		"customer": map[string]any{"id": int64(3), "name": "Ann", "country_code": "JP",
			"country": map[string]any{"code": "JP", "name": "Japan"}},
		"country": map[string]any{"code": "JP", "name": "Japan"},
		"lines": []any{
			map[string]any{"id": int64(1), "order_id": int64(7), "product_id": int64(5), "qty": int64(2), "amount": change.Decimal("1.50"),
				"product": map[string]any{"id": int64(5), "title": "Tea"}},
			map[string]any{"id": int64(2), "order_id": int64(7), "product_id": int64(6), "qty": int64(1), "amount": change.Decimal("2.00"),
				"product": nil},
		},
	}
	recs, err := e.ApplyJoined(c, aliases, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(change.AppendJSON(nil, recs[0].Doc))
	want := `{"order_id":7,"customer":"Ann","country":"Japan","country2":"Japan","n_lines":2,"qty":3,"items":[{"qty":2,"title":"Tea"},{"qty":1,"title":null}]}`
	if got != want {
		t.Errorf("doc:\n got %s\nwant %s", got, want)
	}
	// A lookup without a match: its columns read as null.
	recs, err = e.ApplyJoined(c, map[string]any{"lines": []any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = string(change.AppendJSON(nil, recs[0].Doc))
	want = `{"order_id":7,"customer":null,"country":null,"country2":null,"n_lines":0,"qty":0,"items":[]}`
	if got != want {
		t.Errorf("left join miss:\n got %s\nwant %s", got, want)
	}
	var items *change.Field
	for i, f := range m.Fields() {
		if f.Name == "items" {
			items = &m.Fields()[i]
		}
	}
	if items == nil || items.Kind != change.KindArray || items.Elem != change.KindObject || len(items.Fields) != 2 {
		t.Errorf("items field: %+v", items)
	}
}

func TestJoinErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{`view: v
source: shop.public.orders
joins:
  customer: {table: crm.customer, on: {customer_id: id}}
fields: {id: id}`, `join customer: table: table "crm.customer" is not among`},
		{`view: v
source: shop.public.orders
joins:
  customer: {table: crm.customers, on: {customer_idd: id}}
fields: {id: id}`, `has no column "customer_idd" (did you mean customer_id?)`},
		{`view: v
source: shop.public.orders
joins:
  customer: {table: crm.customers, on: {status: id}}
fields: {id: id}`, `join columns must hold values of one kind`},
		{`view: v
source: shop.public.orders
joins:
  customer: {table: crm.customers, on: {customer_id: id}}
fields: {id: id, n: customer.nam}`, `unknown field nam`},
		{`view: v
source: shop.public.orders
joins:
  lines: {table: shop.public.order_lines, on: {id: order_id}, many: true}
fields:
  id: id
  items: {each: line, fields: {q: qty}}`, `each: "line" is not a many join`},
		{`view: v
source: shop.public.orders
key: [k]
joins:
  customer: {table: crm.customers, on: {customer_id: id}}
fields: {k: customer.name}`, `the key of a view with joins must come from the columns of its source`},
		{`view: v
source: shop.public.orders
joins:
  product: {table: catalog.products, parent: line, on: {id: id}}
fields: {id: id}`, `parent "line" is not a join of this view`},
	} {
		spec, err := Parse("v.yaml", []byte(c.spec))
		if err == nil {
			_, err = CompileView(spec, resolver(joinTables()))
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n: got %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}
