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
	streams   sync.Map // spec -> *memStream
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
		streams.Store(spec, m)
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

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if ls := transforms.Live(name); ls != nil && (ls.Acked() == change.Checkpoint(strconv.Itoa(last)) || ls.Err() != nil) {
				ls.Stop()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if _, err := prism.Execute(ctx, p); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	ls := transforms.Live(name)
	if ls == nil {
		t.Fatal("the stream was never opened")
	}
	if err := ls.Err(); err != nil {
		t.Fatal(err)
	}
	if err := ls.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ls.Acked(); got != change.Checkpoint(strconv.Itoa(last)) {
		t.Fatalf("acknowledged up to %q, want %d", got, last)
	}
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
