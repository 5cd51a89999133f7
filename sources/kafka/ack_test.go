package kafka

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/beamsync/beamsync/change"
)

// committed returns the group's committed offsets as a fresh member of the
// group sees them.
func committed(t *testing.T, cfg Config) change.Checkpoint {
	t.Helper()
	var once sync.Once
	got := make(chan offsets, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(),
		kgo.AdjustFetchOffsetsFn(func(_ context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			o := offsets{}
			for topic, ps := range m {
				for p, off := range ps {
					if n := off.EpochOffset().Offset; n >= 0 {
						o[tp{topic, p}] = n
					}
				}
			}
			once.Do(func() { got <- o })
			return m, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go cl.PollFetches(ctx) // joins the group
	select {
	case o := <-got:
		return o.checkpoint(nil)
	case <-ctx.Done():
		t.Fatal("the group's offsets were never fetched")
		return ""
	}
}

func orderMsgs(partition int32, from, to int) []msg {
	var msgs []msg
	for i := from; i < to; i++ {
		msgs = append(msgs, msg{"orders", partition, `{"id":` + itoa(i) + `}`, orderEvent("c", "null", `{"id":`+itoa(i)+`,"total":1,"status":"new"}`, 100+i)})
	}
	return msgs
}

func declaredOrders(cfg Config) Config {
	cfg.Tables = []TableSpec{{Name: "public.orders", Key: []string{"id"}, Columns: map[string]string{"id": "int", "total": "decimal", "status": "string"}}}
	return cfg
}

// Ack commits exactly the checkpoint's offsets; a reopened stream resumes
// there (redelivering what was not acknowledged), and an explicit older
// checkpoint replays from it.
func TestAckCommitsOffsets(t *testing.T) {
	brokers := cluster(t, "orders")
	cfg := declaredOrders(config(brokers, "orders"))
	first := append(orderMsgs(0, 0, 2), orderMsgs(1, 10, 13)...)
	offs := produce(t, brokers, first...)

	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, cpA := read(t, st, until(first, offs))
	if want := change.Checkpoint("orders:0@2~101.0,orders:1@3~112.0,orders:2@0"); cpA != want {
		t.Fatalf("checkpoint %s, want %s", cpA, want)
	}
	if err := st.Ack(context.Background(), cpA); err != nil {
		t.Fatal(err)
	}
	// An older checkpoint is a no-op.
	if err := st.Ack(context.Background(), "orders:0@1,orders:1@0,orders:2@0"); err != nil {
		t.Fatal(err)
	}
	// Read more, without acknowledging it.
	second := append(orderMsgs(0, 2, 4), orderMsgs(2, 20, 21)...)
	offs2 := produce(t, brokers, second...)
	batches, _, cpB := read(t, st, until(second, offs2))
	if got := len(flat(batches)); got != 3 {
		t.Fatalf("read %d changes after the ack, want 3", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
	if got, want := committed(t, cfg), change.Checkpoint("orders:0@2,orders:1@3,orders:2@0"); got != want { // offsets only
		t.Fatalf("committed %s, want %s", got, want)
	}

	// Reopened without a checkpoint: the group's offsets, so the records
	// after cpA come again.
	st, err = OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	batches, _, cp := read(t, st, until(second, offs2))
	if got, want := flat(batches), []string{"public.orders c 2@102", "public.orders c 3@103", "public.orders c 20@120"}; !reflect.DeepEqual(got, want) {
		t.Errorf("redelivered %v, want %v", got, want)
	}
	if offsetsOnly(cp) != offsetsOnly(cpB) { // the runs of partitions not read again are not known
		t.Errorf("checkpoint %s, want %s", cp, cpB)
	}
	st.Close()

	// Reopened from an explicit older checkpoint: replays from there, even
	// though the group committed more.
	st, err = OpenStream(context.Background(), cfg, nil, "orders:0@1,orders:1@2,orders:2@0")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	batches, _, _ = read(t, st, until(second, offs2))
	want := []string{"public.orders c 1@101", "public.orders c 2@102", "public.orders c 3@103", "public.orders c 12@112", "public.orders c 20@120"}
	if got := flat(batches); !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("replayed %v, want %v", got, want)
	}
	if err := st.Ack(context.Background(), "orders:0@4,orders:1@3,orders:2@1"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if got := committed(t, cfg); got != "orders:0@4,orders:1@3,orders:2@1" {
		t.Errorf("committed %s", got)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Start latest: a group without offsets starts at the end.
func TestStartLatest(t *testing.T) {
	brokers := cluster(t, "orders")
	cfg := declaredOrders(config(brokers, "orders"))
	cfg.Start = StartLatest
	produce(t, brokers, orderMsgs(0, 0, 3)...)
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	joined(t, st) // "latest" is resolved when the partitions are assigned
	later := orderMsgs(0, 3, 4)
	offs := produce(t, brokers, later...)
	batches, _, cp := read(t, st, until(later, offs))
	if got := flat(batches); !reflect.DeepEqual(got, []string{"public.orders c 3@103"}) {
		t.Errorf("changes %v", got)
	}
	if cp != "orders:0@4~103.0,orders:1@0,orders:2@0" {
		t.Errorf("checkpoint %s", cp)
	}
}

// joined waits until the stream's member was assigned its partitions.
func joined(t *testing.T, st change.Stream) {
	t.Helper()
	s := st.(*stream)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.next)
		s.mu.Unlock()
		if n == 3 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the stream was never assigned its partitions")
}

// Close ends a blocked Next.
func TestCloseWhileNextBlocks(t *testing.T) {
	brokers := cluster(t, "orders")
	cfg := declaredOrders(config(brokers, "orders"))
	st, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := st.Next(context.Background())
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); st.Close() }()
	}
	wg.Wait()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocks after Close")
	}
	if err := st.Ack(context.Background(), "orders:0@1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: %v", err)
	}
	// Next respects its context.
	st2, err := OpenStream(context.Background(), cfg, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := st2.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with an ended context: %v", err)
	}
}
