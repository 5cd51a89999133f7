package kafka

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Debezium events of PostgreSQL tables, with and without the schema part.

const orderSchema = `{"type":"struct","name":"shop.public.orders.Envelope","fields":[` +
	`{"field":"before","type":"struct","optional":true,"fields":[{"field":"id","type":"int32"},{"field":"total","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},{"field":"status","type":"string","optional":true}]},` +
	`{"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"int32"},{"field":"total","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},{"field":"status","type":"string","optional":true}]},` +
	`{"field":"source","type":"struct","fields":[]},{"field":"op","type":"string"},{"field":"ts_ms","type":"int64","optional":true}]}`

const keySchema = `{"type":"struct","name":"shop.public.orders.Key","fields":[{"field":"id","type":"int32"}]}`

func src(table string, lsn int) string {
	return `{"db":"shop","schema":"public","table":"` + table + `","lsn":` + itoa(lsn) + `,"ts_ms":` + itoa(1_700_000_000_000+lsn) + `}`
}

func itoa(i int) string { return string(change.AppendJSON(nil, int64(i))) }

// orderEvent is a schema-less orders event.
func orderEvent(op, before, after string, lsn int) *string {
	return val(`{"op":"` + op + `","before":` + before + `,"after":` + after + `,"source":` + src("orders", lsn) + `}`)
}

// orderEventSchema is an orders event with the schema part (totals as
// base64 decimals).
func orderEventSchema(op, before, after string, lsn int) *string {
	return val(`{"schema":` + orderSchema + `,"payload":{"op":"` + op + `","before":` + before + `,"after":` + after + `,"source":` + src("orders", lsn) + `}}`)
}

func orderKey(id int) string { return `{"schema":` + keySchema + `,"payload":{"id":` + itoa(id) + `}}` }

func customerEvent(op, before, after string, lsn int) *string {
	return val(`{"op":"` + op + `","before":` + before + `,"after":` + after + `,"source":` + src("customers", lsn) + `}`)
}

// The changes of two tables on two topics, three partitions each: creates,
// updates, deletes and tombstones, events with and without a schema.
func TestStreamChanges(t *testing.T) {
	brokers := cluster(t, "orders", "customers")
	msgs := []msg{
		// 12.50 is 1250 = 0x04e2 → "BOI="
		{"orders", 1, orderKey(1), orderEventSchema("c", "null", `{"id":1,"total":"BOI=","status":"new"}`, 100)},
		{"orders", 2, `{"id":2}`, orderEvent("c", "null", `{"id":2,"total":7.5,"status":"new"}`, 110)},
		{"customers", 0, `{"cid":"a"}`, customerEvent("c", "null", `{"cid":"a","name":"Ann"}`, 105)},
		{"orders", 1, orderKey(1), orderEvent("u", `{"id":1,"total":12.5,"status":"new"}`, `{"id":1,"total":13.25,"status":"paid"}`, 120)},
		{"orders", 2, `{"id":2}`, orderEvent("d", `{"id":2,"total":7.5,"status":"new"}`, "null", 130)},
		{"orders", 2, `{"id":2}`, nil}, // the delete's tombstone
		{"customers", 0, `{"cid":"a"}`, customerEvent("u", `{"cid":"a","name":"Ann"}`, `{"cid":"a","name":"Anne"}`, 125)},
		{"orders", 0, orderKey(3), orderEventSchema("c", "null", `{"id":3,"total":"AQ==","status":null}`, 140)},
		{"orders", 0, orderKey(3), orderEventSchema("u", `{"id":3,"total":"AQ==","status":null}`, `{"id":3,"total":"Ag==","status":"paid"}`, 150)},
		{"orders", 1, orderKey(1), orderEventSchema("d", `{"id":1,"total":"BS0=","status":"paid"}`, "null", 160)},
	}
	offs := produce(t, brokers, msgs...)
	cfg := config(brokers, "orders", "customers")

	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*change.Table{}
	for _, tb := range tables {
		byName[tb.QualifiedName()] = tb
	}
	orders, customers := byName["public.orders"], byName["public.customers"]
	if len(tables) != 2 || orders == nil || customers == nil {
		t.Fatalf("tables %+v", tables)
	}
	if got := describeColumns(orders); got != "id:int total:decimal status:string?" {
		t.Errorf("orders columns %s", got)
	}
	if got := describeColumns(customers); got != "cid:string name:string" {
		t.Errorf("customers columns %s", got)
	}
	if !reflect.DeepEqual(orders.KeyNames(), []string{"id"}) || !reflect.DeepEqual(customers.KeyNames(), []string{"cid"}) {
		t.Errorf("keys %v %v", orders.KeyNames(), customers.KeyNames())
	}

	st, err := OpenStream(context.Background(), cfg, tables, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, cp := read(t, st, until(msgs, offs))
	if len(dead) != 0 {
		t.Errorf("dead letters %+v", dead)
	}
	if want := change.Checkpoint("customers:0@2~125.0,customers:1@0,customers:2@0,orders:0@2~150.0,orders:1@3~160.0,orders:2@3~130.0"); cp != want {
		t.Errorf("checkpoint %s, want %s", cp, want)
	}
	s := st.(*stream)
	s.mu.Lock()
	if lag := s.lag(); lag != 0 {
		t.Errorf("lag %d after reading everything", lag)
	}
	s.mu.Unlock()
	// Per key, in order (partitions may interleave).
	perKey := map[string][]string{}
	var all []change.Change
	for _, b := range batches {
		for _, c := range b.Changes {
			k := b.Table.QualifiedName() + " " + change.KeyString(c.Key)
			perKey[k] = append(perKey[k], c.Op.String()+"@"+posText(c.Position))
			all = append(all, c)
		}
	}
	want := map[string][]string{
		"public.orders 1":    {"c@100", "u@120", "d@160"},
		"public.orders 2":    {"c@110", "d@130"},
		"public.orders 3":    {"c@140", "u@150"},
		"public.customers a": {"c@105", "u@125"},
	}
	if !reflect.DeepEqual(perKey, want) {
		t.Errorf("changes per key\n got %v\nwant %v", perKey, want)
	}
	// Batches hold one table each.
	for _, b := range batches {
		for _, c := range b.Changes {
			if len(c.Key) != 1 {
				t.Errorf("key %v", c.Key)
			}
		}
	}
	find := func(table, key string, op change.Op) change.Change {
		t.Helper()
		for _, b := range batches {
			for _, c := range b.Changes {
				if b.Table.QualifiedName() == table && change.KeyString(c.Key) == key && c.Op == op {
					return c
				}
			}
		}
		t.Fatalf("no %s %s %s", table, key, op)
		return change.Change{}
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	c1 := find("public.orders", "1", change.OpCreate)
	check("c1 total (schema decimal)", value(t, orders, c1.After, "total"), change.Decimal("12.50"))
	check("c1 key", c1.Key, []any{int64(1)})
	check("c1 commit time", c1.CommitTime, time.UnixMilli(1_700_000_000_100).UTC())
	check("c1 source pos", c1.SourcePos, "orders/1@0")
	u1 := find("public.orders", "1", change.OpUpdate)
	check("u1 total (plain, decimal kind)", value(t, orders, u1.After, "total"), change.Decimal("13.25"))
	check("u1 before status", value(t, orders, u1.Before, "status"), "new")
	d2 := find("public.orders", "2", change.OpDelete)
	check("d2 after", d2.After, []any(nil))
	check("d2 before total", value(t, orders, d2.Before, "total"), change.Decimal("7.5"))
	c3 := find("public.orders", "3", change.OpCreate)
	check("c3 status", value(t, orders, c3.After, "status"), nil)
	check("c3 total", value(t, orders, c3.After, "total"), change.Decimal("0.01"))
	uA := find("public.customers", "a", change.OpUpdate)
	check("customer name", value(t, customers, uA.After, "name"), "Anne")
	check("customer source pos", uA.SourcePos, "customers/0@1")
}

func describeColumns(t *change.Table) string {
	var parts []string
	for _, c := range t.Columns {
		s := c.Name + ":" + c.Kind.String()
		if c.Nullable {
			s += "?"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Only the tables given are captured: events of others are skipped, and
// still covered by the checkpoint.
func TestStreamSkipsOtherTables(t *testing.T) {
	brokers := cluster(t, "orders", "customers")
	msgs := []msg{
		{"customers", 0, `{"cid":"a"}`, customerEvent("c", "null", `{"cid":"a","name":"Ann"}`, 105)},
		{"orders", 0, `{"id":3}`, orderEvent("c", "null", `{"id":3,"total":1,"status":"new"}`, 140)},
	}
	offs := produce(t, brokers, msgs...)
	cfg := config(brokers, "orders", "customers")
	cfg.Tables = []TableSpec{{Name: "public.orders", Key: []string{"id"}, Columns: map[string]string{"id": "int", "total": "decimal"}}}
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := describeColumns(tables[0]); len(tables) != 1 || got != "id:int total:decimal?" || tables[0].QualifiedName() != "public.orders" {
		t.Fatalf("declared tables %+v (%s)", tables, got)
	}
	st, err := OpenStream(context.Background(), cfg, tables, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, _ := read(t, st, until(msgs, offs))
	if got := flat(batches); !reflect.DeepEqual(got, []string{"public.orders c 3@140"}) || len(dead) != 0 {
		t.Fatalf("changes %v, dead %v", got, dead)
	}
	// The declared table lacks status: the column is dropped.
	if c := batches[0].Changes[0]; !reflect.DeepEqual(c.After, []any{int64(3), change.Decimal("1")}) {
		t.Errorf("after %#v", c.After)
	}
}

// Malformed messages become dead letters naming topic/partition@offset, and
// the stream goes on.
func TestStreamDeadLetters(t *testing.T) {
	brokers := cluster(t, "orders")
	msgs := []msg{
		{"orders", 0, `{"id":1}`, orderEvent("c", "null", `{"id":1,"total":1,"status":"new"}`, 100)},
		{"orders", 0, `{"id":2}`, val(`{"op":"c","after":{"id":2,`)},
		{"orders", 0, `{"id":3}`, val("\xffnot json")},
		{"orders", 0, `{"id":4}`, orderEvent("x", "null", `{"id":4}`, 130)},
		{"orders", 0, `{"id":5}`, orderEvent("c", "null", `{"id":5,"total":2,"status":"new"}`, 140)},
	}
	offs := produce(t, brokers, msgs...)
	cfg := config(brokers, "orders")
	cfg.Tables = []TableSpec{{Name: "public.orders", Key: []string{"id"}, Columns: map[string]string{"id": "int", "total": "decimal", "status": "string"}}}
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, _ := read(t, st, until(msgs, offs))
	if got := flat(batches); !reflect.DeepEqual(got, []string{"public.orders c 1@100", "public.orders c 5@140"}) {
		t.Errorf("changes %v", got)
	}
	if len(dead) != 3 {
		t.Fatalf("dead letters %+v", dead)
	}
	for i, w := range []struct {
		pos, reason, row, table string
	}{
		{"orders/0@1", "invalid JSON", jsonString(`{"op":"c","after":{"id":2,`), ""},
		{"orders/0@2", "invalid JSON", jsonString("\xffnot json"), ""},
		{"orders/0@3", `unknown op "x"`, "", "public.orders"},
	} {
		d := dead[i]
		if d.Stage != change.StageDecode || d.SourcePos != w.pos || d.Position != change.Position(i+1) || !strings.Contains(d.Reason, w.reason) || d.Table != w.table {
			t.Errorf("dead letter %d: %+v, want %+v", i, d, w)
		}
		if w.row != "" && string(d.Row) != w.row {
			t.Errorf("dead letter %d row %s, want %s", i, d.Row, w.row)
		}
	}
	if string(dead[2].Row) != *msgs[3].value {
		t.Errorf("valid JSON is kept as is: %s", dead[2].Row)
	}
}

// jsonString is s as a JSON string (how a dead letter holds a value that
// is not JSON).
func jsonString(s string) string { return string(change.AppendJSON(nil, s)) }
