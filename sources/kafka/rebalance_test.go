package kafka

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A rebalance takes partitions away and gives them back: the stream
// resumes them where it got to (nothing pending, nothing read twice), and
// its checkpoint keeps naming them.
func TestRebalanceResumes(t *testing.T) {
	groupTestOpts = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.SessionTimeout(6 * time.Second)}
	t.Cleanup(func() { groupTestOpts = nil })
	brokers := cluster(t, "orders")
	cfg := declaredOrders(config(brokers, "orders"))
	first := append(append(orderMsgs(0, 0, 1), orderMsgs(1, 10, 11)...), orderMsgs(2, 20, 21)...)
	offs := produce(t, brokers, first...)
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if batches, _, _ := read(t, st, until(first, offs)); len(flat(batches)) != 3 {
		t.Fatalf("read %v", flat(batches))
	}

	// A second member joins (the unsupported setup, briefly) and leaves.
	assigned := make(chan struct{}, 1)
	other, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.HeartbeatInterval(100*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m["orders"]) > 0 {
				select {
				case assigned <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		// The stream keeps polling (and so allows the rebalance) meanwhile.
		for ctx.Err() == nil {
			other.PollFetches(ctx)
		}
	}()
	select {
	case <-assigned:
	case <-ctx.Done():
		t.Fatal("the second member was never assigned a partition")
	}
	other.Close()

	second := append(append(orderMsgs(0, 1, 2), orderMsgs(1, 11, 12)...), orderMsgs(2, 21, 22)...)
	offs2 := produce(t, brokers, second...)
	batches, _, cp := read(t, st, until(second, offs2))
	want := []string{"public.orders c 1@101", "public.orders c 11@111", "public.orders c 21@121"}
	if got := flat(batches); !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("after the rebalance %v, want %v", got, want)
	}
	s := st.(*stream)
	s.mu.Lock()
	revokes := s.revokes
	s.mu.Unlock()
	if revokes == 0 {
		t.Error("no partition was revoked")
	}
	if cp != "orders:0@2~101.0,orders:1@2~111.0,orders:2@2~121.0" {
		t.Errorf("checkpoint %s", cp)
	}
}
