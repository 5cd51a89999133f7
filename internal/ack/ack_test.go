package ack

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func ackable(t *testing.T, tr *Tracker) change.Checkpoint {
	t.Helper()
	cp, err := tr.Ackable()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestAckMovesOverTheCompletePrefixOnly(t *testing.T) {
	tr := NewTracker("t")
	defer tr.Release()
	a := tr.Open("cp-a", 2)
	b := tr.Open("cp-b", 1)
	k := tr.Open("cp-keepalive", 0)
	if got := ackable(t, tr); got != "" {
		t.Fatalf("ackable %q before anything was written", got)
	}
	// b completes first: nothing may be acknowledged while a is open.
	Done(b, 1)
	if got := ackable(t, tr); got != "" {
		t.Fatalf("ackable %q while unit a is still open", got)
	}
	Fork(a, 3) // one batch of a became three record batches
	Done(a, 1) // the other batch of a was written
	Done(a, 2)
	if got := ackable(t, tr); got != "" {
		t.Fatalf("ackable %q with one record batch of a in flight", got)
	}
	Done(a, 1)
	if got := ackable(t, tr); got != "cp-keepalive" {
		t.Fatalf("ackable %q, want cp-keepalive (a, b and the keepalive complete)", got)
	}
	if n := tr.Outstanding(); n != 0 {
		t.Fatalf("%d units outstanding", n)
	}
	_ = k
}

func TestSnapshotUnitsMoveNoCheckpoint(t *testing.T) {
	tr := NewTracker("t")
	defer tr.Release()
	s := tr.Open("", 1)
	c := tr.Open("cp-1", 1)
	Done(c, 1)
	Done(s, 1)
	if got := ackable(t, tr); got != "cp-1" {
		t.Fatalf("ackable %q, want cp-1", got)
	}
	s2 := tr.Open("", 1)
	Done(s2, 1)
	if got := ackable(t, tr); got != "cp-1" {
		t.Fatalf("ackable %q after a unit without checkpoint, want cp-1 kept", got)
	}
}

func TestPendingChargesDeadLettersToTheOldestUnit(t *testing.T) {
	tr := NewTracker("t")
	defer tr.Release()
	u1 := tr.Open("cp-1", 1)
	u2 := tr.Open("cp-2", 1)
	var p Pending
	p.Add(u2)
	p.Add(u1)
	p.Add(change.AckToken{}) // a batch pipeline's element: ignored
	dl := p.Charge(2)
	p.Complete()
	if dl != u1 {
		t.Fatalf("dead letters charged to %v, want the oldest unit %v", dl, u1)
	}
	if got := ackable(t, tr); got != "" {
		t.Fatalf("ackable %q before the dead letters were written", got)
	}
	Done(dl, 2)
	if got := ackable(t, tr); got != "cp-2" {
		t.Fatalf("ackable %q, want cp-2", got)
	}
	p.Complete()
	if tok := p.Charge(1); !tok.IsZero() {
		t.Fatalf("an empty flush returned token %v", tok)
	}
}

func TestDoubleDoneIsReported(t *testing.T) {
	tr := NewTracker("t")
	defer tr.Release()
	u := tr.Open("cp", 1)
	Done(u, 1)
	Done(u, 1)
	if _, err := tr.Ackable(); err == nil {
		t.Fatal("a unit completed twice was not reported")
	}
}

func TestZeroTokensAndReleasedTrackersAreIgnored(t *testing.T) {
	Fork(change.AckToken{}, 5)
	Done(change.AckToken{}, 5)
	tr := NewTracker("t")
	u := tr.Open("cp", 1)
	tr.Release()
	Done(u, 1) // must not panic
}

// TestConcurrentStagesAgree runs sources, forks and completions on many
// goroutines in random order: the acknowledged checkpoint is the last one
// exactly when everything is done, and never earlier than a unit in flight.
func TestConcurrentStagesAgree(t *testing.T) {
	tr := NewTracker("t")
	defer tr.Release()
	const units = 2000
	toks := make([]change.AckToken, units)
	for i := range toks {
		toks[i] = tr.Open(change.Checkpoint(rune('a'+i%26)), 2)
	}
	var wg sync.WaitGroup
	for _, i := range rand.Perm(units) {
		wg.Add(1)
		go func(tok change.AckToken) {
			defer wg.Done()
			Fork(tok, 4)
			Done(tok, 4)
			Done(tok, 1)
		}(toks[i])
	}
	wg.Wait()
	if got := ackable(t, tr); got != change.Checkpoint(rune('a'+(units-1)%26)) || tr.Outstanding() != 0 {
		t.Fatalf("ackable %q with %d outstanding", got, tr.Outstanding())
	}
}
