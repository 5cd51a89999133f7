package transforms

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// idleStream is a stream with nothing to say; it records where it opened
// and whether it was acknowledged or closed.
type idleStream struct {
	from   change.Checkpoint
	mu     sync.Mutex
	acked  []change.Checkpoint
	closed bool
}

func (s *idleStream) Next(ctx context.Context) (change.Progress, error) {
	<-ctx.Done()
	return change.Progress{}, ctx.Err()
}

func (s *idleStream) Ack(_ context.Context, cp change.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, cp)
	return nil
}

func (s *idleStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// TestAttachReopensWhereTheRunnerIs checks the AckCommitted bookkeeping of
// a worker: a restriction that continues what the open stream emitted
// reuses it; one that does not (a retried bundle, whose units the runner
// dropped) abandons it unacknowledged and reopens the source at the
// restriction's checkpoint; a committed restriction is acknowledged once,
// and an older one never.
func TestAttachReopensWhereTheRunnerIs(t *testing.T) {
	var mu sync.Mutex
	var opened []*idleStream
	RegisterStreamSource("idle", func(_ context.Context, _ string, from change.Checkpoint, _ func(change.Batch) error) (change.Stream, error) {
		mu.Lock()
		defer mu.Unlock()
		s := &idleStream{from: from}
		opened = append(opened, s)
		return s, nil
	})
	spec := StreamSpec{Name: "attach-test", Kind: "idle", From: "10", Ack: AckCommitted}
	waitOpen := func(ls *LiveStream) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ls.Opened().IsZero(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the stream did not open")
			}
		}
	}

	first, err := attachLive(spec, StreamRestriction{From: "10"})
	if err != nil {
		t.Fatal(err)
	}
	waitOpen(first)
	first.claimed(3) // three units emitted: the runner holds Seq 3 at "13"
	same, err := attachLive(spec, StreamRestriction{From: "13", Seq: 3})
	if err != nil || same != first {
		t.Fatalf("a restriction that continues the stream got another stream (%v)", err)
	}
	same.commit(StreamRestriction{From: "13", Seq: 3})
	if err := same.AckNow(context.Background()); err != nil {
		t.Fatal(err)
	}

	first.claimed(5) // two more emitted, then the bundle fails: the runner retries Seq 3
	retried, err := attachLive(spec, StreamRestriction{From: "13", Seq: 3})
	if err != nil {
		t.Fatal(err)
	}
	if retried == first {
		t.Fatal("a retried restriction reused the stream that emitted past it")
	}
	waitOpen(retried)
	retried.commit(StreamRestriction{From: "12", Seq: 2}) // older: never acknowledged
	if err := retried.AckNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := retried.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 2 || opened[0].from != "10" || opened[1].from != "13" {
		t.Fatalf("opened %d streams; want at 10, then at the retried restriction's 13", len(opened))
	}
	if !opened[0].closed || len(opened[0].acked) != 1 || opened[0].acked[0] != "13" {
		t.Errorf("first stream: closed %v, acknowledged %v; want closed, acknowledged 13 once", opened[0].closed, opened[0].acked)
	}
	if len(opened[1].acked) != 0 {
		t.Errorf("the reopened stream acknowledged %v; want nothing older than what it opened at", opened[1].acked)
	}
}
