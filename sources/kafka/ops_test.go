package kafka

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/internal/runstats"
)

// opsMsgs are a create, a logical decoding message, a truncate and an
// update of public.orders on partition 0.
func opsMsgs() []msg {
	return []msg{
		{"orders", 0, `{"id":1}`, orderEvent("c", "null", `{"id":1,"total":1,"status":"new"}`, 100)},
		{"orders", 0, "", val(`{"op":"m","ts_ms":1,"source":{"db":"shop","lsn":101},"message":{"prefix":"audit","content":"aGk="}}`)},
		{"orders", 0, "", orderEvent("t", "null", "null", 102)},
		{"orders", 0, `{"id":1}`, orderEvent("u", "null", `{"id":1,"total":1,"status":"paid"}`, 103)},
	}
}

func declaredOrdersTotals(cfg Config) Config {
	cfg.Tables = []TableSpec{{Name: "public.orders", Key: []string{"id"}, Columns: map[string]string{"id": "int", "total": "decimal", "status": "string"}}}
	return cfg
}

func TestStreamTruncateIgnoredAndMessagesSkipped(t *testing.T) {
	brokers := cluster(t, "orders")
	msgs := opsMsgs()
	offs := produce(t, brokers, msgs...)
	runstats.Reset()
	cfg := declaredOrdersTotals(config(brokers, "orders"))
	cfg.Truncate = "ignore"
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, dead, _ := read(t, st, until(msgs, offs))
	if got := flat(batches); !reflect.DeepEqual(got, []string{"public.orders c 1@100", "public.orders u 1@103"}) || len(dead) != 0 {
		t.Errorf("changes %v, dead %+v", got, dead)
	}
	if n := runstats.Get(runstats.Messages, "kafka"); n != 1 {
		t.Errorf("messages skipped %d, want 1", n)
	}
	if n := runstats.Get(runstats.Truncates, "public.orders"); n != 1 {
		t.Errorf("truncates ignored %d, want 1", n)
	}
}

func TestStreamTruncateFails(t *testing.T) {
	brokers := cluster(t, "orders")
	produce(t, brokers, opsMsgs()...)
	st, err := OpenStream(context.Background(), declaredOrdersTotals(config(brokers, "orders")), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, err := st.Next(ctx)
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "table public.orders was truncated") || !strings.Contains(err.Error(), "orders/0@2") {
			t.Errorf("Next: %v", err)
		}
		return
	}
}

func TestTruncatePolicyValidated(t *testing.T) {
	cfg := config([]string{"localhost:9092"}, "orders")
	cfg.Truncate = "clearall"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `truncate "clearall"`) {
		t.Errorf("validate: %v", err)
	}
}
