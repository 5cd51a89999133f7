// See doc.go for the model and its invariants.

package ack

import (
	"fmt"
	"sync"

	"github.com/beamsync/beamsync/change"
)

var (
	registryMu sync.Mutex
	registry   = map[uint32]*Tracker{}
	lastID     uint32
)

// NewTracker registers a tracker for one stream of this process.
func NewTracker(name string) *Tracker {
	registryMu.Lock()
	defer registryMu.Unlock()
	lastID++
	t := &Tracker{id: lastID, name: name, units: map[uint64]*unit{}, next: 1}
	registry[t.id] = t
	return t
}

// Lookup returns the tracker of a stream, or nil.
func Lookup(id uint32) *Tracker {
	registryMu.Lock()
	defer registryMu.Unlock()
	return registry[id]
}

// Release forgets a tracker; later tokens of it are ignored.
func (t *Tracker) Release() {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(registry, t.id)
}

// Tracker counts the outstanding parts of one stream's units.
type Tracker struct {
	id   uint32
	name string

	mu    sync.Mutex
	units map[uint64]*unit
	next  uint64 // the sequence number of the next unit
	done  uint64 // every unit up to done is complete
	// ackable is the checkpoint of the newest unit of the complete prefix.
	ackable change.Checkpoint
	err     error
}

type unit struct {
	cp    change.Checkpoint
	parts int64
}

// ID is the stream number tokens carry.
func (t *Tracker) ID() uint32 { return t.id }

// Open starts the unit of one Progress whose source emits parts elements,
// and returns the token to stamp them with. A unit of no parts (a
// keepalive) is complete at once. cp may be empty for units that only
// carry snapshot rows: completing them moves no checkpoint.
func (t *Tracker) Open(cp change.Checkpoint, parts int) change.AckToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.next
	t.next++
	t.units[seq] = &unit{cp: cp, parts: int64(parts)}
	t.advance()
	return change.AckToken{Stream: t.id, Seq: seq}
}

// add changes a unit's part count by d.
func (t *Tracker) add(seq uint64, d int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.units[seq]
	if !ok {
		if t.err == nil {
			t.err = fmt.Errorf("ack: stream %s: unit %d accounted for after it was complete (a stage called Done or Fork twice)", t.name, seq)
		}
		return
	}
	u.parts += d
	if u.parts < 0 && t.err == nil {
		t.err = fmt.Errorf("ack: stream %s: unit %d has %d parts (a stage called Done more often than elements it received)", t.name, seq, u.parts)
	}
	t.advance()
}

// advance moves the complete prefix forward; t.mu is held.
func (t *Tracker) advance() {
	for {
		u, ok := t.units[t.done+1]
		if !ok || u.parts != 0 {
			return
		}
		t.done++
		if u.cp != "" {
			t.ackable = u.cp
		}
		delete(t.units, t.done)
	}
}

// Ackable returns the checkpoint the source may acknowledge now (empty
// when none yet), and an error when a stage broke the accounting rules.
func (t *Tracker) Ackable() (change.Checkpoint, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ackable, t.err
}

// Outstanding returns the number of units not yet complete.
func (t *Tracker) Outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.units)
}

// Fork accounts for one element of tok's unit that became n elements.
func Fork(tok change.AckToken, n int) {
	if tok.IsZero() {
		return
	}
	if t := Lookup(tok.Stream); t != nil {
		t.add(tok.Seq, int64(n)-1)
	}
}

// Done accounts for n elements of tok's unit made durable.
func Done(tok change.AckToken, n int) {
	if tok.IsZero() || n == 0 {
		return
	}
	if t := Lookup(tok.Stream); t != nil {
		t.add(tok.Seq, -int64(n))
	}
}

// Pending collects the tokens of the batches a sink took in since its last
// flush. The zero value is ready to use; it is not safe for concurrent use.
type Pending struct {
	toks []change.AckToken
}

// Add records the token of a batch handed to the sink's writer.
func (p *Pending) Add(tok change.AckToken) {
	if !tok.IsZero() {
		p.toks = append(p.toks, tok)
	}
}

// Charge charges n dead letters the sink is about to emit to the oldest
// unit it holds (none of its batches is complete yet, so the dead letters'
// records belong to one of them or to a later unit), and returns the token
// to stamp them with.
func (p *Pending) Charge(n int) change.AckToken {
	if len(p.toks) == 0 || n == 0 {
		return change.AckToken{}
	}
	oldest := p.toks[0]
	for _, t := range p.toks[1:] {
		if t.Stream == oldest.Stream && t.Seq < oldest.Seq {
			oldest = t
		}
	}
	if t := Lookup(oldest.Stream); t != nil {
		t.add(oldest.Seq, int64(n))
	}
	return oldest
}

// Complete is called after a flush wrote every batch added so far (the
// dead letters of the flush charged and emitted already).
func (p *Pending) Complete() {
	for _, t := range p.toks {
		Done(t, 1)
	}
	p.toks = p.toks[:0]
}
