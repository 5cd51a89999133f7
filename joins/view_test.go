package joins

import (
	"fmt"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/mappings"
)

func testTables() map[string]*change.Table {
	col := func(name string, k change.Kind) change.Column {
		return change.Column{Name: name, Type: k.String(), Kind: k, Nullable: true}
	}
	return map[string]*change.Table{
		"orders": {Source: "shop", Schema: "public", Name: "orders", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("customer_id", change.KindInt)}},
		"customers": {Source: "crm", Database: "crm", Name: "customers", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindDecimal), col("name", change.KindString)}},
		"lines": {Source: "shop", Schema: "public", Name: "order_lines", Key: []int{0}, Columns: []change.Column{
			col("id", change.KindInt), col("order_id", change.KindInt), col("no", change.KindInt)}},
	}
}

func compile(t *testing.T, text string) *mappings.Mapping {
	t.Helper()
	spec, err := mappings.Parse("v.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tables := testTables()
	m, err := mappings.CompileView(spec, func(name string) (*change.Table, error) {
		if tb, ok := tables[name]; ok {
			return tb, nil
		}
		return nil, fmt.Errorf("no table %s", name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestComposeLookupsAndArrays(t *testing.T) {
	m := compile(t, `view: docs
source: orders
joins:
  customer: {table: customers, on: {customer_id: id}, type: inner}
  lines: {table: lines, on: {id: order_id}, many: true, order_by: ["no desc"], limit: 2}
fields:
  id: id
  who: customer.name
  nos: map(lines, .no)
`)
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v := NewView(s, m)
	tb := testTables()
	w := s.NewWriter(true)
	for _, b := range []change.Batch{
		{Table: tb["orders"], Changes: []change.Change{
			{Op: change.OpRead, Key: []any{int64(1)}, After: []any{int64(1), int64(10)}},
			{Op: change.OpRead, Key: []any{int64(2)}, After: []any{int64(2), int64(11)}},
			{Op: change.OpRead, Key: []any{int64(3)}, After: []any{int64(3), nil}}}},
		{Table: tb["customers"], Changes: []change.Change{
			{Op: change.OpRead, Key: []any{change.Decimal("10")}, After: []any{change.Decimal("10.0"), "Ann"}}}},
		{Table: tb["lines"], Changes: []change.Change{
			{Op: change.OpRead, Key: []any{int64(100)}, After: []any{int64(100), int64(1), int64(1)}},
			{Op: change.OpRead, Key: []any{int64(101)}, After: []any{int64(101), int64(1), int64(3)}},
			{Op: change.OpRead, Key: []any{int64(102)}, After: []any{int64(102), int64(1), int64(2)}},
			{Op: change.OpRead, Key: []any{int64(103)}, After: []any{int64(103), int64(2), int64(1)}}}},
	} {
		if err := w.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	e := m.NewEvaluator()
	var got []string
	err = v.ScanSource(func(row []any, pos change.Position) error {
		aliases, ok, err := v.Compose(row)
		if err != nil || !ok {
			got = append(got, fmt.Sprintf("%v: excluded", row[0]))
			return err
		}
		recs, err := e.ApplyJoined(&change.Change{Op: change.OpRead, After: row}, aliases, nil)
		if err != nil {
			return err
		}
		got = append(got, string(change.AppendJSON(nil, recs[0].Doc)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"id":1,"who":"Ann","nos":[3,2]}`, `2: excluded`, `3: excluded`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
