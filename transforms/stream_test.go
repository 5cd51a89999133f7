package transforms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/transforms"
)

// memStream is an in-memory change stream: transaction i (from 1) updates
// row i%10 to version i; after the last it sends keepalives.
type memStream struct {
	mu    sync.Mutex
	next  int
	last  int
	acked []change.Checkpoint
}

func (m *memStream) Next(ctx context.Context) (change.Progress, error) {
	m.mu.Lock()
	i := m.next
	m.next++
	m.mu.Unlock()
	if i > m.last {
		select {
		case <-ctx.Done():
			return change.Progress{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
			return change.Progress{Checkpoint: change.Checkpoint(strconv.Itoa(m.last))}, nil
		}
	}
	id := int64(i % 10)
	c := change.Change{Op: change.OpUpdate, Key: []any{id}, After: []any{id, "v" + strconv.Itoa(i), "40"}, Position: change.Position(i)}
	p := change.Progress{Batches: []change.Batch{{Table: people, Changes: []change.Change{c}}}, Checkpoint: change.Checkpoint(strconv.Itoa(i))}
	if i%7 == 0 { // an event the source could not decode
		p.DeadLetters = []change.DeadLetter{{Stage: change.StageDecode, Position: change.Position(i), Reason: "bad event"}}
	}
	return p, nil
}

func (m *memStream) Ack(_ context.Context, cp change.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = append(m.acked, cp)
	return nil
}

func (m *memStream) Close() error { return nil }

var (
	streams   sync.Map // spec -> *memStream (the last opened)
	opensMu   sync.Mutex
	opens     = map[string][]change.Checkpoint{} // spec -> the checkpoint of every open
	writtenMu sync.Mutex
	written   = map[change.Position]int{} // position -> records written
)

// collectFn is a sink that "writes" (records) at the end of each bundle
// and accounts for its batches as a sink must.
type collectFn struct {
	buf     []change.Record
	pending ack.Pending
}

func (f *collectFn) ProcessElement(rb change.RecordBatch) {
	f.pending.Add(rb.Ack)
	f.buf = append(f.buf, rb.Records...)
}

func (f *collectFn) FinishBundle() {
	writtenMu.Lock()
	for _, r := range f.buf {
		written[r.Position]++
	}
	writtenMu.Unlock()
	f.buf = f.buf[:0]
	f.pending.Complete()
}

// deadFn "writes" dead letters and completes them.
func deadFn(d change.DeadLetter) {
	writtenMu.Lock()
	written[d.Position] += 100
	writtenMu.Unlock()
	ack.Done(d.Ack, 1)
}

func init() {
	register.DoFn1x0[change.RecordBatch](&collectFn{})
	register.Function1x0(deadFn)
	transforms.RegisterStreamSource("memory", func(_ context.Context, spec string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error) {
		var last int
		if err := json.Unmarshal([]byte(spec), &last); err != nil {
			return nil, err
		}
		if snapshot != nil {
			for id := int64(0); id < 10; id++ {
				if err := snapshot(change.Batch{Table: people, Changes: []change.Change{{Op: change.OpRead, Key: []any{id}, After: []any{id, "snap", "40"}}}}); err != nil {
					return nil, err
				}
			}
		}
		m := &memStream{next: 1, last: last}
		if from != "" {
			n, err := strconv.Atoi(string(from))
			if err != nil {
				return nil, err
			}
			m.next = n + 1
		}
		streams.Store(spec, m)
		opensMu.Lock()
		opens[spec] = append(opens[spec], from)
		opensMu.Unlock()
		return m, nil
	})
}

// TestStreamAcknowledgesOnlyWhatTheSinksWrote runs a stream on prism through
// the mapping stage to two sinks and checks that every acknowledged
// checkpoint covers only changes both sinks wrote (and dead letters
// written), and that the stream ends acknowledged up to its last change.
func TestStreamAcknowledgesOnlyWhatTheSinksWrote(t *testing.T) {
	const last = 300
	name := "ack-test"
	writtenMu.Lock()
	clear(written)
	writtenMu.Unlock()
	var violations []string
	transforms.PrepareStream(name, func(cp change.Checkpoint) error {
		upto, _ := strconv.Atoi(string(cp))
		writtenMu.Lock()
		defer writtenMu.Unlock()
		for i := 1; i <= upto; i++ {
			want := 2 // two sinks
			if i%7 == 0 {
				want += 100 // and its dead letter
			}
			if written[change.Position(i)] != want {
				violations = append(violations, fmt.Sprintf("checkpoint %s acknowledged with change %d written %d times", cp, i, written[change.Position(i)]))
			}
		}
		return nil
	})
	views := []transforms.View{{File: "names.yaml", Table: people, Sinks: 2, Text: "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n"}}
	p, s := beam.NewPipelineWithRoot()
	batches, decodeDead := transforms.ReadStream(s, transforms.StreamSpec{Name: name, Kind: "memory", Spec: strconv.Itoa(last), Snapshot: true})
	records, mapDead := transforms.Map(s, views, batches)
	beam.ParDo0(s.Scope("SinkA"), &collectFn{}, records)
	beam.ParDo0(s.Scope("SinkB"), &collectFn{}, records)
	beam.ParDo0(s, deadFn, beam.Flatten(s, decodeDead, mapDead))

	runUntilAcknowledged(t, p, name, last, nil)
	for _, v := range violations {
		t.Error(v)
	}
	v, _ := streams.Load(strconv.Itoa(last))
	m := v.(*memStream)
	if len(m.acked) == 0 {
		t.Fatal("the source saw no acknowledgement")
	}
	for i := 1; i < len(m.acked); i++ {
		a, _ := strconv.Atoi(string(m.acked[i-1]))
		b, _ := strconv.Atoi(string(m.acked[i]))
		if b <= a {
			t.Fatalf("acknowledgements went from %d to %d", a, b)
		}
	}
	writtenMu.Lock()
	defer writtenMu.Unlock()
	if written[0] != 2*10 {
		t.Errorf("snapshot rows written %d times, want 20 (10 rows, 2 sinks)", written[0])
	}
}

// TestStreamCommittedResumesFromTheRestriction runs a stream that
// acknowledges what the runner committed (as on Dataflow) on prism, and takes
// its source away twice mid-stream — once by hand, and then all the time
// with an idle timeout shorter than the runner's pauses — as when the
// runner resumes the read on another worker: every reopen must start at the
// checkpoint the restriction carries, so that every change and dead letter
// reaches the sink exactly once, and the acknowledgements move forward to
// the end.
func TestStreamCommittedResumesFromTheRestriction(t *testing.T) {
	const last = 1000
	name := "committed-test"
	spec := strconv.Itoa(last)
	views := []transforms.View{{File: "names.yaml", Table: people, Sinks: 1, Text: "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n"}}
	p, s := beam.NewPipelineWithRoot()
	batches, decodeDead := transforms.ReadStream(s, transforms.StreamSpec{Name: name, Kind: "memory", Spec: spec, Snapshot: true, Ack: transforms.AckCommitted})
	records, mapDead := transforms.Map(s, views, batches)
	beam.ParDo0(s.Scope("Sink"), &collectFn{}, records)
	beam.ParDo0(s, deadFn, beam.Flatten(s, decodeDead, mapDead))

	writtenMu.Lock()
	clear(written)
	writtenMu.Unlock()
	opensMu.Lock()
	delete(opens, spec)
	opensMu.Unlock()
	defer transforms.SetIdleClose(2 * time.Minute)
	acked := func() int {
		n := -1
		if ls := transforms.Live(name); ls != nil {
			n, _ = strconv.Atoi(string(ls.Acked()))
		}
		return n
	}
	runUntilAcknowledged(t, p, name, last, func(ctx context.Context) {
		for ctx.Err() == nil && acked() < 100 {
			time.Sleep(5 * time.Millisecond)
		}
		transforms.Abandon(name)
		for ctx.Err() == nil && acked() < 200 {
			time.Sleep(5 * time.Millisecond)
		}
		transforms.SetIdleClose(0) // every tick of the ack loop closes it
		for ctx.Err() == nil && acked() < 700 {
			time.Sleep(5 * time.Millisecond)
		}
		transforms.SetIdleClose(time.Minute)
	})
	opensMu.Lock()
	from := opens[spec]
	opensMu.Unlock()
	if len(from) < 3 || from[0] != "" {
		t.Fatalf("the source was opened at %q: want first with a snapshot, then at least twice more", from)
	}
	for i, cp := range from[1:] {
		if n, err := strconv.Atoi(string(cp)); err != nil || n < 100 {
			t.Errorf("reopen %d at %q: want the checkpoint of a change past 100 that the restriction carried", i+1, cp)
		}
	}
	writtenMu.Lock()
	defer writtenMu.Unlock()
	if written[0] != 10 {
		t.Errorf("snapshot rows written %d times, want 10", written[0])
	}
	for i := 1; i <= last; i++ {
		want := 1
		if i%7 == 0 {
			want += 100
		}
		if got := written[change.Position(i)]; got != want {
			t.Errorf("change %d written %d times (dead letters count 100), want %d", i, got, want)
		}
	}
	t.Logf("source opened %d times, at %v", len(from), from)
}

// runUntilAcknowledged runs the stream pipeline p on prism (after calling
// meanwhile, if set, in its own goroutine) until the stream has
// acknowledged the checkpoint of its last change, then stops and closes
// it.
func runUntilAcknowledged(t *testing.T, p *beam.Pipeline, name string, last int, meanwhile func(context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want := change.Checkpoint(strconv.Itoa(last))
	go func() {
		if meanwhile != nil {
			meanwhile(ctx)
		}
		for ctx.Err() == nil {
			if ls := transforms.Live(name); ls != nil && (ls.Acked() == want || ls.Err() != nil) {
				ls.Stop()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := prism.Execute(ctx, p); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	ls := transforms.Live(name)
	if ls == nil {
		t.Fatal("no stream open at the end")
	}
	if err := ls.Err(); err != nil {
		t.Fatal(err)
	}
	if err := ls.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ls.Acked(); got != want {
		t.Fatalf("acknowledged up to %q, want %q", got, want)
	}
}
