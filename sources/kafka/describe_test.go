package kafka

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
)

// outboxEvent is a Debezium event of the outbox table public.outbox.
func outboxEvent(op string, id int, aggType, aggID, typ, payload string, lsn int) *string {
	row := `{"id":` + itoa(id) + `,"aggregatetype":"` + aggType + `","aggregateid":"` + aggID + `","type":"` + typ + `","payload":` + payload + `}`
	if op == "d" {
		return val(`{"op":"d","before":` + row + `,"after":null,"source":` + src("outbox", lsn) + `}`)
	}
	return val(`{"op":"` + op + `","before":null,"after":` + row + `,"source":` + src("outbox", lsn) + `}`)
}

// Outbox events are routed to the tables of their aggregate types.
func TestOutboxOverKafka(t *testing.T) {
	brokers := cluster(t, "outbox")
	msgs := []msg{
		{"outbox", 0, `{"id":1}`, outboxEvent("c", 1, "order", "17", "OrderCreated", `"{\"total\":12.5,\"status\":\"new\"}"`, 100)},
		{"outbox", 0, `{"id":1}`, outboxEvent("d", 1, "order", "17", "OrderCreated", `null`, 101)}, // the outbox row's delete: ignored
		{"outbox", 1, `{"id":2}`, outboxEvent("c", 2, "customer", "a", "CustomerCreated", `{"name":"Ann"}`, 110)},
		{"outbox", 0, `{"id":3}`, outboxEvent("c", 3, "order", "17", "OrderPaid", `"{\"total\":12.5,\"status\":\"paid\"}"`, 120)},
		{"outbox", 2, `{"id":4}`, outboxEvent("c", 4, "order", "18", "OrderCreated", `"{\"total\":3,\"status\":\"new\"}"`, 130)},
		{"outbox", 2, `{"id":5}`, outboxEvent("c", 5, "order", "18", "OrderDeleted", `null`, 140)},
		{"outbox", 1, `{"cid":"x"}`, customerEvent("c", "null", `{"cid":"x","name":"not routed"}`, 150)}, // another table
	}
	offs := produce(t, brokers, msgs...)
	cfg := config(brokers, "outbox")
	cfg.Outbox = &debezium.Outbox{Table: "public.outbox", DeleteTypes: []string{"OrderDeleted"}}
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.QualifiedName()+"("+describeColumns(tb)+")")
	}
	// The customers table of the last event is described too (it is not
	// an outbox event); the pipeline picks the tables its views read.
	want := []string{"order(aggregateid:string total:float status:string)", "customer(aggregateid:string name:string)", "public.customers(cid:string name:string)"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tables %v, want %v", names, want)
	}
	st, err := OpenStream(context.Background(), cfg, tables[:2], "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, _ := read(t, st, until(msgs, offs))
	if len(dead) != 0 {
		t.Errorf("dead letters %+v", dead)
	}
	got := sorted(flat(batches))
	wantChanges := sorted([]string{"order u 17@100", "order u 17@120", "customer u a@110", "order u 18@130", "order d 18@140"})
	if !reflect.DeepEqual(got, wantChanges) {
		t.Fatalf("changes %v, want %v", got, wantChanges)
	}
	order := tables[0]
	for _, b := range batches {
		for _, c := range b.Changes {
			switch {
			case b.Table == order && c.Position == 120<<12:
				if v := value(t, order, c.After, "status"); v != "paid" {
					t.Errorf("status %v", v)
				}
				if v := value(t, order, c.After, "aggregateid"); v != "17" {
					t.Errorf("aggregate id %v", v)
				}
			case b.Table == order && c.Op == change.OpDelete:
				if c.After != nil || c.Before[0] != "18" || !change.IsUnchanged(c.Before[1]) {
					t.Errorf("delete %+v", c)
				}
			}
		}
	}
}

// Declared outbox tables: the key column takes the aggregate id, converted
// to its kind.
func TestOutboxDeclared(t *testing.T) {
	brokers := cluster(t, "outbox")
	msgs := []msg{{"outbox", 0, "", outboxEvent("c", 1, "order", "17", "OrderCreated", `{"total":1,"status":"new"}`, 100)}}
	offs := produce(t, brokers, msgs...)
	cfg := config(brokers, "outbox")
	cfg.Outbox = &debezium.Outbox{}
	cfg.Tables = []TableSpec{{Name: "order", Key: []string{"id"}, Columns: map[string]string{"id": "int", "total": "decimal", "status": "string"}}}
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, _ := read(t, st, until(msgs, offs))
	if len(batches) != 1 || len(dead) != 0 {
		t.Fatalf("batches %+v dead %+v", batches, dead)
	}
	c := batches[0].Changes[0]
	if !reflect.DeepEqual(c.Key, []any{int64(17)}) || !reflect.DeepEqual(c.After, []any{int64(17), "new", change.Decimal("1")}) {
		t.Errorf("change %+v", c)
	}
}

func TestDescribeErrors(t *testing.T) {
	brokers := cluster(t, "empty", "junk")
	cfg := config(brokers, "empty")
	if _, err := Describe(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "topics empty are empty") || !strings.Contains(err.Error(), "declare the tables") {
		t.Errorf("empty topic: %v", err)
	}
	produce(t, brokers, msg{"junk", 0, "", val(`not json`)}, msg{"junk", 1, "", nil}, msg{"junk", 2, "", val(`{"hello":1}`)})
	cfg = config(brokers, "junk")
	if _, err := Describe(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "none of the 3 messages") {
		t.Errorf("junk topic: %v", err)
	}
	cfg = config(brokers, "missing")
	if _, err := Describe(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `topic "missing" does not exist`) {
		t.Errorf("missing topic: %v", err)
	}
	if _, err := OpenStream(context.Background(), declaredOrders(cfg), nil, ""); err == nil || !strings.Contains(err.Error(), `topic "missing" does not exist`) {
		t.Errorf("missing topic: %v", err)
	}

	// Unreachable brokers fail within the timeout.
	cfg = config([]string{"127.0.0.1:1"}, "orders")
	cfg.Timeout = time.Second
	start := time.Now()
	_, err := Describe(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no broker of 127.0.0.1:1 answered") {
		t.Errorf("unreachable: %v", err)
	}
	_, err = OpenStream(context.Background(), declaredOrders(cfg), nil, "")
	if err == nil || !strings.Contains(err.Error(), "no broker of 127.0.0.1:1 answered") {
		t.Errorf("unreachable: %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s", d)
	}
}

// Describe samples at most Sample messages per partition.
func TestDescribeSample(t *testing.T) {
	brokers := cluster(t, "orders")
	msgs := append(orderMsgs(0, 0, 3), msg{"orders", 0, `{"id":9}`, orderEvent("c", "null", `{"id":9,"total":1,"status":"new","late":true}`, 200)})
	produce(t, brokers, msgs...)
	cfg := config(brokers, "orders")
	cfg.Sample = 3
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := describeColumns(tables[0]); got != "id:int total:int status:string" {
		t.Errorf("columns %s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{Start: "middle", Sample: -1, Topics: []string{"a", "a", "b:c"},
		Tables: []TableSpec{{Name: "x.y", Key: []string{"id"}, Columns: map[string]string{"v": "number"}}},
		Outbox: &debezium.Outbox{AggregateID: "type"}}).Validate()
	for _, want := range []string{"brokers is required", "group is required", `start "middle"`, "sample must not be negative",
		`topic "a" is listed twice`, `topic "b:c"`, `key column "id" is not among its columns`, `unknown kind "number"`, "name the same column"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestCheckpointText(t *testing.T) {
	o := offsets{{"b", 10}: 5, {"b", 2}: 7, {"a.x", 0}: 0}
	cp := o.checkpoint(nil)
	if cp != "a.x:0@0,b:2@7,b:10@5" {
		t.Fatalf("checkpoint %s", cp)
	}
	back, _, err := parseCheckpoint(cp)
	if err != nil || !reflect.DeepEqual(back, o) {
		t.Fatalf("parsed %v %v", back, err)
	}
	for _, bad := range []change.Checkpoint{"a", "a:1", "a@1", ":1@2", "a:x@1", "a:1@-1", "a:1@2,a:1@3"} {
		if _, _, err := parseCheckpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStreamSpecJSON(t *testing.T) {
	cfg := declaredOrders(Config{Brokers: []string{"k:9092"}, Topics: []string{"orders"}, Group: "beamsync-x", Outbox: &debezium.Outbox{DeleteTypes: []string{"D"}}})
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := StreamSpecJSON(cfg, tables)
	if err != nil {
		t.Fatal(err)
	}
	var back streamSpec
	if err := jsonUnmarshal(spec, &back); err != nil || !reflect.DeepEqual(back.Config, cfg) || !reflect.DeepEqual(back.Tables, tables) {
		t.Errorf("spec %s → %+v %v", spec, back, err)
	}
	if _, err := StreamSpecJSON(Config{}, nil); err == nil {
		t.Error("an invalid config was accepted")
	}
}
