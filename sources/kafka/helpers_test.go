package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/beamsync/beamsync/change"
)

// cluster starts an in-process Kafka with the topics (3 partitions each).
func cluster(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

var groupSeq atomic.Int64

// config is a stream configuration with a fresh group.
func config(brokers []string, topics ...string) Config {
	return Config{Brokers: brokers, Topics: topics, Group: fmt.Sprintf("beamsync-test-%d", groupSeq.Add(1)), Timeout: 5 * time.Second}
}

// msg is a record to produce: topic, partition, key and value (nil: a
// tombstone).
type msg struct {
	topic     string
	partition int32
	key       string
	value     *string
}

func val(s string) *string { return &s }

// produce writes the records and returns the offset of each.
func produce(t *testing.T, brokers []string, msgs ...msg) []int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs := make([]int64, len(msgs))
	for i, m := range msgs {
		r := &kgo.Record{Topic: m.topic, Partition: m.partition, Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i)).UTC()}
		if m.key != "" {
			r.Key = []byte(m.key)
		}
		if m.value != nil {
			r.Value = []byte(*m.value)
		}
		res := cl.ProduceSync(context.Background(), r)
		if err := res.FirstErr(); err != nil {
			t.Fatalf("producing %d: %v", i, err)
		}
		offs[i] = res[0].Record.Offset
	}
	return offs
}

// read calls Next until the checkpoint reaches every offset of until
// ("topic:partition" → next offset), returning what it read.
func read(t *testing.T, st change.Stream, until map[string]int64) ([]change.Batch, []change.DeadLetter, change.Checkpoint) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var batches []change.Batch
	var dead []change.DeadLetter
	var last change.Checkpoint
	for !reached(t, last, until) {
		p, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v (checkpoint %s, want %v)", err, last, until)
		}
		if p.Checkpoint == "" {
			t.Fatal("empty checkpoint")
		}
		if last != "" && behind(t, p.Checkpoint, last) {
			t.Fatalf("checkpoint went back: %s after %s", p.Checkpoint, last)
		}
		if len(p.Batches)+len(p.DeadLetters) > 0 && p.LagBytes < 0 {
			t.Errorf("lag unknown after a fetch: %+v", p)
		}
		last = p.Checkpoint
		batches = append(batches, p.Batches...)
		dead = append(dead, p.DeadLetters...)
	}
	return batches, dead, last
}

func reached(t *testing.T, cp change.Checkpoint, until map[string]int64) bool {
	t.Helper()
	o, _, err := parseCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range until {
		topic, p, _ := strings.Cut(k, ":")
		var part int32
		fmt.Sscan(p, &part)
		if o[tp{topic, part}] < n {
			return false
		}
	}
	return true
}

// behind reports whether a names an offset before b's.
func behind(t *testing.T, a, b change.Checkpoint) bool {
	oa, _, _ := parseCheckpoint(a)
	ob, _, _ := parseCheckpoint(b)
	for k, n := range ob {
		if oa[k] < n {
			return true
		}
	}
	return false
}

// until is the offsets after the produced records.
func until(msgs []msg, offs []int64) map[string]int64 {
	u := map[string]int64{}
	for i, m := range msgs {
		k := fmt.Sprintf("%s:%d", m.topic, m.partition)
		u[k] = max(u[k], offs[i]+1)
	}
	return u
}

// offsetsOnly is a checkpoint without its position runs.
func offsetsOnly(cp change.Checkpoint) change.Checkpoint {
	o, _, _ := parseCheckpoint(cp)
	return o.checkpoint(nil)
}

// posText renders a position as its base position, with ".tie" when the
// tie is not 0.
func posText(p change.Position) string {
	if tie := p & 0xFFF; tie != 0 {
		return fmt.Sprintf("%d.%d", p>>12, tie)
	}
	return fmt.Sprint(p >> 12)
}

// flat lists the changes as "table op key@position" (posText).
func flat(batches []change.Batch) []string {
	var out []string
	for _, b := range batches {
		for _, c := range b.Changes {
			out = append(out, fmt.Sprintf("%s %s %s@%s", b.Table.QualifiedName(), c.Op, change.KeyString(c.Key), posText(c.Position)))
		}
	}
	return out
}

func value(t *testing.T, tb *change.Table, row []any, col string) any {
	t.Helper()
	i := tb.ColumnIndex(col)
	if i < 0 {
		t.Fatalf("no column %s in %s", col, tb.QualifiedName())
	}
	if row == nil {
		t.Fatalf("no row for %s", col)
	}
	return row[i]
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
