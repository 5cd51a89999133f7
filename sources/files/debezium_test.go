package files

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

const dbzOrders = "../../testdata/files/debezium/orders.jsonl"

func TestDebeziumFixture(t *testing.T) {
	cfg := Config{Path: dbzOrders, Format: FormatDebezium}
	tables, batches, dead := readAll(t, cfg)
	if len(tables) != 1 {
		t.Fatalf("tables %+v", tables)
	}
	tb := tables[0]
	if tb.Database != "shop" || tb.Schema != "public" || tb.Name != "orders" || tb.QualifiedName() != "public.orders" {
		t.Errorf("table %+v", tb)
	}
	// Kinds from the schema where events carry one: the plain values of the
	// schemaless events, written as the schema writes them (an ISO string
	// for a ZonedTimestamp, an integer for a MicroTimestamp), are of the
	// schema's kind.
	want := "id:int customer_id:int total:decimal status:string ordered_at:timestamp shipped_at:timestamp? delivery_date:date? meta:json? paid:bool weight_kg:float? receipt:bytes?"
	if got := columns(tb); got != want {
		t.Errorf("columns\n got %s\nwant %s", got, want)
	}
	if !reflect.DeepEqual(tb.KeyNames(), []string{"id"}) {
		t.Errorf("key %v", tb.KeyNames())
	}
	if got := tb.Columns[2].Type; got != "org.apache.kafka.connect.data.Decimal" {
		t.Errorf("total type %s", got)
	}

	// The malformed line is dead-lettered; tombstones are skipped.
	if len(dead) != 1 {
		t.Fatalf("dead letters %+v", dead)
	}
	if d := dead[0]; d.Stage != change.StageDecode || d.SourcePos != dbzOrders+":8" || !strings.Contains(d.Reason, "invalid JSON") || d.Position != 8 {
		t.Errorf("dead letter %+v", d)
	}

	cs := changes(batches)
	var got []string
	for _, c := range cs {
		got = append(got, c.Op.String()+itoa(int(c.Key[0].(int64)))+"@"+posText(c.Position))
	}
	if g, w := strings.Join(got, " "), "r1@23000000 r2@23000000.1 c3@23001000 u1@23002000 d2@23003000 u3@23004000 c4@23005000"; g != w {
		t.Fatalf("changes %s\nwant %s", g, w)
	}
	r1, r2, c3, u1, d2, u3 := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5]
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	// With a schema: decimals from base64 + scale, zoned timestamps in UTC,
	// dates, JSON, bytes, micro-timestamps.
	check("r1 total", value(t, tb, r1.After, "total"), change.Decimal("12.50"))
	check("r1 ordered_at", value(t, tb, r1.After, "ordered_at"), time.Date(2024, 3, 1, 8, 15, 0, 5e8, time.UTC))
	check("r1 meta", value(t, tb, r1.After, "meta"), change.JSON(`{"channel": "web", "coupon": null}`))
	check("r1 weight", value(t, tb, r1.After, "weight_kg"), 1.25)
	check("r1 paid", value(t, tb, r1.After, "paid"), true)
	check("r1 commit time", r1.CommitTime, time.UnixMilli(1709280000000).UTC())
	check("r1 before", r1.Before, []any(nil))
	check("r2 total", value(t, tb, r2.After, "total"), change.Decimal("-5.00"))
	check("r2 receipt", value(t, tb, r2.After, "receipt"), []byte("\x00\x01PDF\xff"))
	check("r2 shipped_at", value(t, tb, r2.After, "shipped_at"), nil)
	check("c3 total", value(t, tb, c3.After, "total"), change.Decimal("1234567890.12"))
	check("c3 delivery_date", value(t, tb, c3.After, "delivery_date"), change.Date("2024-03-18"))
	check("c3 ordered_at", value(t, tb, c3.After, "ordered_at"), time.Date(2024, 3, 5, 17, 0, 0, 0, time.UTC))
	// Without a schema: decoded by the column's schema (numbers in the
	// decimal column exactly, timestamps as timestamps).
	check("u1 total", value(t, tb, u1.After, "total"), change.Decimal("15.75"))
	check("u1 before total", value(t, tb, u1.Before, "total"), change.Decimal("12.5"))
	check("u1 shipped_at", value(t, tb, u1.After, "shipped_at"), time.UnixMicro(1709900000000000).UTC())
	check("u1 ordered_at", value(t, tb, u1.After, "ordered_at"), time.Date(2024, 3, 1, 8, 15, 0, 5e8, time.UTC))
	// The delete, from a key/value pair with schemas.
	check("d2 key", d2.Key, []any{int64(2)})
	check("d2 after", d2.After, []any(nil))
	check("d2 before status", value(t, tb, d2.Before, "status"), "refunded")
	check("d2 row", d2.Row()[0], int64(2))
	// An unavailable (TOASTed) value is Unchanged; the key part has no schema.
	check("u3 key", u3.Key, []any{int64(3)})
	if v := value(t, tb, u3.After, "meta"); !change.IsUnchanged(v) {
		t.Errorf("u3 meta = %#v, want Unchanged", v)
	}
	check("u3 total", value(t, tb, u3.After, "total"), change.Decimal("1234567890.12"))
}

func TestDebeziumShapesAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "events.jsonl",
		// MySQL coordinates, without schema; two tables.
		`{"op":"c","after":{"id":1,"v":"a"},"source":{"db":"inv","table":"t1","file":"mysql-bin.000003","pos":4015,"row":0,"ts_ms":1000}}`,
		`{"op":"c","after":{"id":2,"v":"b"},"source":{"db":"inv","table":"t1","file":"mysql-bin.000003","pos":4015,"row":1}}`,
		`{"op":"u","before":{"id":1,"v":"a"},"after":{"id":1,"v":"c"},"source":{"db":"inv","table":"t1","file":"mysql-bin.000004","pos":4,"row":0},"ts_ms":2000}`,
		`{"key":{"k":"x"},"value":{"op":"c","after":{"k":"x"},"source":{"db":"inv","table":"t2","file":"mysql-bin.000004","pos":100}}}`,
		// Errors: unknown op, missing after, delete without before or key,
		// not an event, bad binlog file, unknown table.
		`{"op":"x","source":{"db":"inv","table":"t1"}}`,
		`{"op":"c","after":null,"source":{"db":"inv","table":"t1"}}`,
		`{"op":"d","before":null,"source":{"db":"inv","table":"t1"}}`,
		`{"hello":"world"}`,
		`{"op":"c","after":{"id":3},"source":{"db":"inv","table":"t1","file":"binlog","pos":1}}`,
		// A delete with only a key part, and a position from the line.
		`{"key":{"id":2},"value":{"op":"d","before":null,"source":{"db":"inv","table":"t1"}}}`,
		// An empty value is a tombstone.
		`{"key":{"id":2},"value":""}`,
	)
	tables, batches, dead := readAll(t, Config{Path: p, Format: FormatDebezium, Key: []string{"id"}})
	// t1 takes its key from the configuration, t2 from its key part.
	if len(tables) != 2 || !reflect.DeepEqual(tables[0].KeyNames(), []string{"id"}) || !reflect.DeepEqual(tables[1].KeyNames(), []string{"k"}) {
		t.Fatalf("tables %+v", tables)
	}
	var got []string
	for _, b := range batches {
		for _, c := range b.Changes {
			got = append(got, b.Table.Name+":"+c.Op.String()+"@"+posText(c.Position))
		}
	}
	// Binlog: seq<<32 | pos, the row as the least tie.
	pack := func(seq, pos uint64) string { return posText(change.Position((seq<<32 | pos) << 12)) }
	want := []string{"t1:c@" + pack(3, 4015), "t1:c@" + pack(3, 4015) + ".1", "t1:u@" + pack(4, 4), "t2:c@" + pack(4, 100), "t1:d@10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes\n got %v\nwant %v", got, want)
	}
	reasons := []string{`unknown op "x"`, "missing after for op c", "delete without a before image or a key", "not a Debezium event", `source.file "binlog"`}
	if len(dead) != len(reasons) {
		t.Fatalf("dead letters %+v", dead)
	}
	for i, r := range reasons {
		if !strings.Contains(dead[i].Reason, r) || dead[i].SourcePos != p+":"+itoa(i+5) {
			t.Errorf("dead letter %d: %+v, want %q", i, dead[i], r)
		}
	}
	cs := changes(batches)
	if c := cs[4]; !reflect.DeepEqual(c.Key, []any{int64(2)}) || !change.IsUnchanged(c.Before[1]) || c.Before[0] != int64(2) {
		t.Errorf("key-only delete %+v", c)
	}
	if c := cs[0]; !c.CommitTime.Equal(time.UnixMilli(1000)) {
		t.Errorf("commit time %v", c.CommitTime)
	}
	if c := cs[2]; !c.CommitTime.Equal(time.UnixMilli(2000)) {
		t.Errorf("commit time %v", c.CommitTime)
	}
}

func TestDebeziumTableOverride(t *testing.T) {
	tables, batches, _ := readAll(t, Config{Path: dbzOrders, Format: FormatDebezium, Table: "orders_copy"})
	if len(tables) != 1 || tables[0].Name != "orders_copy" || tables[0].Schema != "" || len(changes(batches)) != 7 {
		t.Fatalf("tables %+v", tables[0])
	}
}

func TestDescribeDebeziumCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Small files finish before the first cancellation check: no error.
	if _, err := Describe(ctx, Config{Path: dbzOrders, Format: FormatDebezium}); err != nil {
		t.Fatal(err)
	}
}

// Events with and without the schema part give a column one type: a
// schemaless event's base64 decimal, micro-timestamp and ISO timestamp
// decode by the column's schema.
func TestDebeziumSchemaAndSchemalessOneType(t *testing.T) {
	schema := `{"type":"struct","fields":[{"field":"after","type":"struct","fields":[` +
		`{"field":"id","type":"int32"},` +
		`{"field":"total","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},` +
		`{"field":"at","type":"int64","name":"io.debezium.time.MicroTimestamp"},` +
		`{"field":"zoned","type":"string","name":"io.debezium.time.ZonedTimestamp"}]}]}`
	src := `"source":{"db":"shop","schema":"public","table":"orders","lsn":%s}`
	p := writeFile(t, t.TempDir(), "orders.jsonl",
		`{"schema":`+schema+`,"payload":{"op":"c","after":{"id":1,"total":"BOI=","at":1709900000000000,"zoned":"2024-03-01T08:15:00Z"},`+strings.Replace(src, "%s", "1", 1)+`}}`,
		`{"op":"c","after":{"id":2,"total":"AfQ=","at":1709900000000001,"zoned":"2024-03-02T08:15:00+02:00"},`+strings.Replace(src, "%s", "2", 1)+`}`,
	)
	tables, batches, dead := readAll(t, Config{Path: p, Format: FormatDebezium, Key: []string{"id"}})
	if len(dead) != 0 {
		t.Fatalf("dead letters %+v", dead)
	}
	if got, want := columns(tables[0]), "id:int total:decimal at:timestamp zoned:timestamp"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	cs := changes(batches)
	tb := tables[0]
	for i, want := range [][]any{
		{change.Decimal("12.50"), time.UnixMicro(1709900000000000).UTC(), time.Date(2024, 3, 1, 8, 15, 0, 0, time.UTC)},
		{change.Decimal("5.00"), time.UnixMicro(1709900000000001).UTC(), time.Date(2024, 3, 2, 6, 15, 0, 0, time.UTC)},
	} {
		for j, col := range []string{"total", "at", "zoned"} {
			if got := value(t, tb, cs[i].After, col); !reflect.DeepEqual(got, want[j]) {
				t.Errorf("event %d %s = %#v, want %#v", i+1, col, got, want[j])
			}
		}
	}
}
