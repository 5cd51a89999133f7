package pipelines_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

// kafkaRecord is a record to produce (value "" is a tombstone).
type kafkaRecord struct {
	topic      string
	partition  int32
	key, value string
}

func produceAll(t *testing.T, brokers []string, recs []kafkaRecord) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, r := range recs {
		rec := &kgo.Record{Topic: r.topic, Partition: r.partition, Key: []byte(r.key)}
		if r.value != "" {
			rec.Value = []byte(r.value)
		}
		if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatalf("producing record %d: %v", i, err)
		}
	}
}

func orderEvent(op string, id int, status string, lsn int) string {
	after, before := "null", "null"
	row := fmt.Sprintf(`{"id": %d, "status": %q}`, id, status)
	if op == "d" {
		before = row
	} else {
		after = row
	}
	return fmt.Sprintf(`{"before": %s, "after": %s, "source": {"db": "shop", "schema": "public", "table": "orders", "lsn": %d, "ts_ms": 1700000000000}, "op": %q, "ts_ms": 1700000000001}`,
		before, after, lsn, op)
}

func outboxEvent(typ string, id int, payload string, lsn int) string {
	return fmt.Sprintf(`{"schema": {"type": "struct", "fields": []}, "payload": {"before": null, "after": {"id": "e%d", "aggregatetype": "customers", "aggregateid": "%d", "type": %q, "payload": %q}, "source": {"db": "shop", "schema": "public", "table": "outbox", "lsn": %d}, "op": "c"}}`,
		lsn, id, typ, payload, lsn)
}

// committedOffsets asks the cluster for a group's committed offsets.
func committedOffsets(t *testing.T, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

func TestStreamDebeziumOverKafka(t *testing.T) {
	const orders, outbox = "dbserver1.public.orders", "dbserver1.public.outbox"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, orders, outbox))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	key := func(id int) string { return fmt.Sprintf(`{"id": %d}`, id) }
	// Keys are spread over three partitions; each key stays in its own.
	recs := []kafkaRecord{
		{orders, 0, key(1), orderEvent("c", 1, "new", 100)},
		{orders, 1, key(2), orderEvent("c", 2, "new", 101)},
		{orders, 2, key(3), orderEvent("c", 3, "new", 102)},
		{orders, 0, key(1), orderEvent("u", 1, "paid", 110)},
		{orders, 1, key(2), orderEvent("d", 2, "new", 111)},
		{orders, 1, key(2), ""},                          // the tombstone after a delete
		{orders, 2, "", `{"op": "c", "after": {"id": 9`}, // malformed
		{orders, 2, key(3), orderEvent("u", 3, "shipped", 120)},
		{outbox, 0, "7", outboxEvent("Created", 7, `{"id": 7, "name": "Ada"}`, 200)},
		{outbox, 1, "8", outboxEvent("Created", 8, `{"id": 8, "name": "Bob"}`, 201)},
		{outbox, 0, "7", outboxEvent("Renamed", 7, `{"id": 7, "name": "Ada L."}`, 202)},
		{outbox, 1, "8", outboxEvent("Deleted", 8, `{"id": 8}`, 203)},
	}
	produceAll(t, brokers, recs)

	dir := t.TempDir()
	files := map[string]string{
		"orders.yaml":    "view: orders\nsource: public.orders\nkey: [id]\nfields:\n  id: id\n  status: status\n",
		"customers.yaml": "view: customers\nsource: customers\nkey: [id]\nfields:\n  id: int(aggregateid)\n  name: name\n",
		"job.yaml": fmt.Sprintf(`name: kafka-stream
source:
  kind: kafka
  kafka:
    brokers: [%s]
    topics: [%s, %s]
    timeout: 5s
    outbox: {table: public.outbox, delete_types: [Deleted]}
views: [orders.yaml, customers.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`, strings.Join(brokers, ", "), orders, outbox),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, err := pipelines.Load(filepath.Join(dir, "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	// Everything is written once the checkpoint names the end of every
	// partition (orders 2+3+3 records, outbox 2+2).
	want := fmt.Sprintf("%s:0@2~110.0,%s:1@3~111.0,%s:2@3~120.0,%s:0@2~202.0,%s:1@2~203.0,%s:2@0", orders, orders, orders, outbox, outbox, outbox)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if ls := transforms.Live(j.Name); ls != nil && string(ls.Acked()) == want {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := pipelines.RunStream(ctx, plan, pipelines.StreamOptions{}); err != nil {
		t.Fatalf("stream: %v", err)
	}
	cp, err := pipelines.LoadCheckpoint(j)
	if err != nil || cp == nil || string(cp.Checkpoint) != want {
		t.Fatalf("checkpoint %+v (%v), want %s", cp, err, want)
	}

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read("out/orders.jsonl"), `{"id":1,"status":"paid"}`+"\n"+`{"id":3,"status":"shipped"}`+"\n"; got != want {
		t.Errorf("orders view:\n%s\nwant:\n%s", got, want)
	}
	if got, want := read("out/customers.jsonl"), `{"id":7,"name":"Ada L."}`+"\n"; got != want {
		t.Errorf("customers view (outbox events):\n%s\nwant:\n%s", got, want)
	}
	dl := read("state/dead_letters/_dead_letters.stream.jsonl")
	if strings.Count(dl, "\n") != 1 || !strings.Contains(dl, `"source_position":"`+orders+`/2@1"`) || !strings.Contains(dl, `"stage":"decode"`) {
		t.Errorf("dead letters:\n%s", dl)
	}
	// The group's offsets are the acknowledged checkpoint's.
	if got := committedOffsets(t, brokers, "beamsync-kafka-stream", orders); got[0] != 2 || got[1] != 3 || got[2] != 3 {
		t.Errorf("committed offsets of %s: %v, want 0:2 1:3 2:3", orders, got)
	}
}
