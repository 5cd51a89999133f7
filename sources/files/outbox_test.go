package files

import (
	"reflect"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
)

// Outbox events of a JSON-lines file are routed to the tables of their
// aggregate types.
func TestDebeziumOutbox(t *testing.T) {
	dir := t.TempDir()
	src := `"source":{"db":"shop","schema":"public","table":"outbox","lsn":%d}`
	ev := func(op string, lsn int, aggType, aggID, typ, payload string) string {
		row := `{"id":1,"kind":"` + aggType + `","agg":` + aggID + `,"event":"` + typ + `","body":` + payload + `}`
		s := strings.Replace(src, "%d", itoa(lsn), 1)
		if op == "d" {
			return `{"op":"d","before":` + row + `,"after":null,` + s + `}`
		}
		return `{"op":"` + op + `","before":null,"after":` + row + `,` + s + `}`
	}
	p := writeFile(t, dir, "outbox.jsonl",
		ev("c", 10, "order", "1", "Created", `"{\"total\":10,\"tags\":[\"a\"]}"`),
		ev("d", 11, "order", "1", "Created", `null`), // the outbox row's delete: ignored
		ev("c", 12, "order", "2", "Created", `{"total":20.5}`),
		ev("c", 13, "order", "1", "Updated", `"{\"total\":11}"`),
		ev("c", 14, "order", "2", "Removed", `null`),
		ev("c", 15, "order", "3", "Created", `"not json"`), // dead letter
		ev("c", 16, "", "4", "Created", `{"total":1}`),     // dead letter: no aggregate type
		ev("c", 17, "invoice", "9", "Created", `{"n":1}`),  // dead letter when invoice is not given to Read
		`{"op":"c","after":{"id":5},"source":{"db":"shop","schema":"public","table":"other","lsn":18}}`,
	)
	cfg := Config{Path: p, Format: FormatDebezium, Outbox: &debezium.Outbox{
		Table: "public.outbox", AggregateType: "kind", AggregateID: "agg", Payload: "body", Type: "event", DeleteTypes: []string{"Removed"}}}
	tables, err := Describe(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 3 || tables[0].Name != "order" || tables[1].Name != "invoice" || tables[2].QualifiedName() != "public.other" {
		t.Fatalf("tables %+v", tables)
	}
	if got := columns(tables[0]); got != "agg:int total:float tags:json?" {
		t.Errorf("order columns %s", got)
	}
	if !reflect.DeepEqual(tables[0].KeyNames(), []string{"agg"}) {
		t.Errorf("order key %v", tables[0].KeyNames())
	}

	var batches []change.Batch
	var dead []change.DeadLetter
	err = Read(t.Context(), cfg, []*change.Table{tables[0], tables[2]}, func(b change.Batch) error {
		batches = append(batches, b)
		return nil
	}, func(d change.DeadLetter) error {
		dead = append(dead, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range batches {
		for _, c := range b.Changes {
			got = append(got, b.Table.QualifiedName()+":"+c.Op.String()+change.KeyString(c.Key)+"@"+posText(c.Position))
		}
	}
	want := []string{"order:u1@10", "order:u2@12", "order:u1@13", "order:d2@14", "public.other:c[]@18"} // no key part, no key configured
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes\n got %v\nwant %v", got, want)
	}
	cs := changes(batches)
	order := tables[0]
	if v := value(t, order, cs[0].After, "tags"); !reflect.DeepEqual(v, change.JSON(`["a"]`)) {
		t.Errorf("tags %#v", v)
	}
	if v := value(t, order, cs[0].After, "total"); v != 10.0 {
		t.Errorf("total %#v", v)
	}
	if v := value(t, order, cs[2].After, "tags"); v != nil {
		t.Errorf("absent payload member: %#v, want NULL", v)
	}
	if c := cs[3]; c.After != nil || c.Before[0] != int64(2) || !change.IsUnchanged(c.Before[1]) {
		t.Errorf("delete %+v", c)
	}
	reasons := []string{"payload is not a JSON object", "without an aggregate type", "table invoice was not described"}
	if len(dead) != len(reasons) {
		t.Fatalf("dead letters %+v", dead)
	}
	for i, r := range reasons {
		if !strings.Contains(dead[i].Reason, r) || dead[i].SourcePos != p+":"+itoa(i+6) {
			t.Errorf("dead letter %d: %+v, want %q", i, dead[i], r)
		}
	}

	// An outbox and a table override exclude each other.
	bad := cfg
	bad.Table = "x"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "table and outbox exclude each other") {
		t.Errorf("validate: %v", err)
	}
	bad = Config{Path: p, Key: []string{"id"}, Outbox: &debezium.Outbox{}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "outbox needs format debezium") {
		t.Errorf("validate: %v", err)
	}
}

// An aggregate id written as a number in one event and as text in another
// is one key: the key column is text, and the number becomes its text.
func TestDebeziumOutboxMixedIDKinds(t *testing.T) {
	src := `"source":{"db":"shop","schema":"public","table":"outbox","lsn":%d}`
	ev := func(lsn int, aggID, payload string) string {
		return `{"op":"c","before":null,"after":{"id":1,"aggregatetype":"customer","aggregateid":` + aggID +
			`,"type":"Changed","payload":` + payload + `},` + strings.Replace(src, "%d", itoa(lsn), 1) + `}`
	}
	p := writeFile(t, t.TempDir(), "outbox.jsonl",
		ev(10, `17`, `{"name":"Ada"}`),
		ev(11, `"17"`, `{"name":"Ada L."}`),
		ev(12, `"x-1"`, `{"name":"Bob"}`),
	)
	cfg := Config{Path: p, Format: FormatDebezium, Outbox: &debezium.Outbox{Table: "public.outbox"}}
	tables, batches, dead := readAll(t, cfg)
	if len(dead) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
	if got := columns(tables[0]); got != "aggregateid:string name:string" {
		t.Errorf("columns %s", got)
	}
	var keys []any
	for _, c := range changes(batches) {
		keys = append(keys, c.Key...)
	}
	if want := []any{"17", "17", "x-1"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	// A declared key column of any kind normalises numbers to text too.
	tb := *tables[0]
	tb.Columns = append([]change.Column(nil), tb.Columns...)
	tb.Columns[0].Kind = change.KindAny
	var anyKeys []any
	err := Read(t.Context(), cfg, []*change.Table{&tb}, func(b change.Batch) error {
		for _, c := range b.Changes {
			anyKeys = append(anyKeys, c.Key...)
		}
		return nil
	}, nil)
	if err != nil || !reflect.DeepEqual(anyKeys, []any{"17", "17", "x-1"}) {
		t.Errorf("any-kind keys %q %v", anyKeys, err)
	}
}
