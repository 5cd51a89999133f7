package file

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/beamsync/beamsync/change"
)

// spillBytes bounds the buffer of a RunWriter whatever SpillRows says, so
// that very wide rows cannot exhaust memory (and offsets fit in 32 bits).
const spillBytes = 256 << 20

// The arena is a list of chunks: a full chunk is set aside and a new one
// started (or an old one reused) when less than arenaSlack is left, so that
// buffering never copies what is buffered. A record larger than the slack
// grows its chunk (append copies that chunk once).
const (
	arenaChunk = 8 << 20
	arenaSlack = 64 << 10
)

// ErrEmptyKey is returned by RunWriter.Add for a record without a key.
var ErrEmptyKey = errors.New("file sink: record has no key")

// ErrNoDoc is returned by RunWriter.Add for an upsert record without a row.
var ErrNoDoc = errors.New("file sink: record is not a delete but has no row")

// RunWriter buffers the records of one view and writes them as sorted runs,
// deduplicated per key (the winner kept), to <Dir>/.runs/<view>/. It is not
// safe for concurrent use; give every worker its own.
type RunWriter struct {
	cfg  Config
	view string
	err  error // configuration error, reported by every call

	arena     []byte      // the current chunk; per record: key bytes, then the JSON row
	chunks    [][]byte    // the full chunks before it (bufRecord.chunk indexes them)
	spare     [][]byte    // emptied chunks, for reuse
	arenaUsed int         // bytes in chunks (not counting arena)
	ents      []bufRecord // one per buffered record
	valuesKey bool        // some buffered key is in values form
	keys      [][]any     // decoded keys, for sorting when valuesKey
	runs      []string    // runs written since the last Flush

	// Records arriving in strictly increasing key order are streamed to a
	// view run (viewrun.go) instead of being buffered; the first record
	// out of order ends the view run, and the rest, until Flush, is
	// buffered and sorted.
	stream   *viewRunWriter
	unsorted bool   // a record arrived out of order since the last Flush
	keyBuf   []byte // the sortable key of the record being added
	noStream bool   // always buffer and sort (the stream sink; tests)
}

// bufRecord is a buffered record: the first 16 bytes of its sortable key
// (so that most comparisons never touch the arena), offsets into the arena
// and the version.
type bufRecord struct {
	p0, p1          uint64 // key bytes 0-7 and 8-15, big-endian, zero-padded
	off, klen, dlen uint32
	idx             uint32 // index into keys (only when sorting values keys)
	pos             uint64
	flags           uint8
	chunk           uint16 // the arena chunk holding the key and row
}

// NewRunWriter returns a writer of runs for one view. A configuration or
// view name error is returned by the first Add or Flush.
func NewRunWriter(cfg Config, view string) *RunWriter {
	w := &RunWriter{view: view}
	w.cfg, w.err = cfg.withDefaults()
	if w.err == nil {
		w.err = checkView(view)
	}
	return w
}

// Add buffers one record; it spills a sorted run when SpillRows records are
// buffered. Add copies what it needs: r may be reused after it returns.
func (w *RunWriter) Add(r change.Record) error {
	if w.err != nil {
		return w.err
	}
	if len(r.Key) == 0 {
		return ErrEmptyKey
	}
	if !r.Delete && r.Doc == nil {
		return ErrNoDoc
	}
	if !w.unsorted && !w.noStream {
		streamed, err := w.addSorted(&r)
		if streamed || err != nil {
			return err
		}
	}
	if cap(w.arena)-len(w.arena) < arenaSlack {
		w.newChunk()
	}
	start := len(w.arena)
	var flags uint8
	var ok bool
	w.arena, ok = appendSortKey(w.arena, r.Key)
	if !ok {
		w.arena = change.AppendValues(w.arena[:start], r.Key)
		flags |= flagValuesKey
		w.valuesKey = true
	}
	klen := len(w.arena) - start
	if r.Delete {
		flags |= flagDelete
	} else {
		w.arena = change.AppendJSON(w.arena, r.Doc)
	}
	dlen := len(w.arena) - start - klen
	if len(w.arena) > math.MaxUint32 || len(w.chunks) > math.MaxUint16 {
		w.arena = w.arena[:start]
		return fmt.Errorf("file sink: record of view %s is too large (%d bytes)", w.view, dlen)
	}
	var pre [16]byte
	copy(pre[:], w.arena[start:start+klen])
	if len(w.ents) == cap(w.ents) {
		w.ents = slices.Grow(w.ents, max(cap(w.ents), 4096))
	}
	w.ents = append(w.ents, bufRecord{
		p0: binary.BigEndian.Uint64(pre[:8]), p1: binary.BigEndian.Uint64(pre[8:]),
		off: uint32(start), klen: uint32(klen), dlen: uint32(dlen), pos: uint64(r.Position), flags: flags,
		chunk: uint16(len(w.chunks)),
	})
	if len(w.ents) >= w.cfg.SpillRows || w.arenaUsed+len(w.arena) >= spillBytes {
		return w.spill()
	}
	return nil
}

// addSorted streams r to the view run when its key follows every key
// streamed so far. It reports false when r must be buffered instead (its
// key is out of order, or has no sortable form); the view run is then
// finished, and streaming stops until Flush.
func (w *RunWriter) addSorted(r *change.Record) (bool, error) {
	key, ok := appendSortKey(w.keyBuf[:0], r.Key)
	w.keyBuf = key
	if ok && w.stream != nil && w.stream.follows(key) {
		w.stream.add(key, r)
		return true, nil
	}
	if ok && w.stream == nil && len(w.ents) == 0 {
		vr, err := createViewRun(runDir(w.cfg, w.view))
		if err != nil {
			return false, err
		}
		w.stream = vr
		vr.add(key, r)
		return true, nil
	}
	w.unsorted = true
	return false, w.finishStream()
}

// finishStream completes the view run being streamed, if any.
func (w *RunWriter) finishStream() error {
	vr := w.stream
	if vr == nil {
		return nil
	}
	w.stream = nil
	if err := vr.finish(); err != nil {
		return err
	}
	w.runs = append(w.runs, vr.frames.path)
	return nil
}

// Flush writes the buffered records as a run and returns the paths of every
// run written since the last Flush (none when nothing was added).
func (w *RunWriter) Flush() (runs []string, err error) {
	if w.err != nil {
		return nil, w.err
	}
	w.unsorted = false
	if err := w.finishStream(); err != nil {
		return nil, err
	}
	if len(w.ents) > 0 {
		if err := w.spill(); err != nil {
			return nil, err
		}
	}
	runs, w.runs = w.runs, nil
	return runs, nil
}

// Abort drops the buffered records and removes the runs written since the
// last Flush (for a bundle that failed and will be retried).
func (w *RunWriter) Abort() error {
	w.reset()
	if w.stream != nil {
		w.stream.abort()
		w.stream = nil
	}
	w.unsorted = false
	err := removeRuns(w.runs)
	w.runs = nil
	return err
}

func (w *RunWriter) reset() {
	for _, c := range w.chunks {
		w.spare = append(w.spare, c[:0])
	}
	clear(w.chunks)
	w.chunks, w.arenaUsed = w.chunks[:0], 0
	w.arena = w.arena[:0]
	w.ents = w.ents[:0]
	clear(w.keys)
	w.keys = w.keys[:0]
	w.valuesKey = false
}

// newChunk sets the current chunk aside (when it holds records) and starts
// another.
func (w *RunWriter) newChunk() {
	if len(w.arena) > 0 {
		w.chunks = append(w.chunks, w.arena)
		w.arenaUsed += len(w.arena)
		w.arena = nil
	}
	if n := len(w.spare); n > 0 {
		w.arena, w.spare = w.spare[n-1], w.spare[:n-1]
	}
	if cap(w.arena)-len(w.arena) < arenaSlack {
		// Small first, growing to arenaChunk: a writer of a few records
		// (a stream's bundle) stays small.
		w.arena = make([]byte, 0, min(arenaChunk, max(4*arenaSlack, w.arenaUsed)))
	}
}

// chunkOf returns the chunk holding a record.
func (w *RunWriter) chunkOf(e *bufRecord) []byte {
	if int(e.chunk) < len(w.chunks) {
		return w.chunks[e.chunk]
	}
	return w.arena
}

func (w *RunWriter) key(e *bufRecord) []byte { return w.chunkOf(e)[e.off : e.off+e.klen] }
func (w *RunWriter) doc(e *bufRecord) []byte {
	return w.chunkOf(e)[e.off+e.klen : e.off+e.klen+e.dlen]
}

// compareBuf orders buffered records like compareEntries: by key, then the
// winner of a key first.
func (w *RunWriter) compareBuf(a, b *bufRecord) int {
	var c int
	switch {
	case (a.flags|b.flags)&flagValuesKey != 0:
		c = change.CompareKeys(w.keys[a.idx], w.keys[b.idx])
	case a.p0 != b.p0:
		return cmpUint64(a.p0, b.p0)
	case a.p1 != b.p1:
		return cmpUint64(a.p1, b.p1)
	case a.klen <= 16 && b.klen <= 16:
		// Equal zero-padded prefixes: the shorter key is a prefix of the
		// longer one.
		c = int(a.klen) - int(b.klen)
	default:
		c = bytes.Compare(w.key(a), w.key(b))
	}
	if c != 0 {
		return c
	}
	switch {
	case a.pos > b.pos:
		return -1
	case a.pos < b.pos:
		return 1
	case a.flags&flagDelete != b.flags&flagDelete:
		if a.flags&flagDelete != 0 {
			return -1
		}
		return 1
	}
	return -bytes.Compare(w.doc(a), w.doc(b))
}

// spill sorts the buffer and writes it as one run, keeping only the winner
// of every key.
func (w *RunWriter) spill() error {
	defer w.reset()
	if w.valuesKey {
		// Decode every key once so that the sort compares decoded values.
		for i := range w.ents {
			e := &w.ents[i]
			var k []any
			if e.flags&flagValuesKey != 0 {
				k = change.NewDecoder(w.key(e)).Values()
			} else {
				k, _ = decodeSortKey(w.key(e))
			}
			e.idx = uint32(len(w.keys))
			w.keys = append(w.keys, k)
		}
	}
	slices.SortFunc(w.ents, func(a, b bufRecord) int { return w.compareBuf(&a, &b) })

	fw, err := createRun(runDir(w.cfg, w.view))
	if err != nil {
		return err
	}
	var skipped uint64
	var last *bufRecord
	for i := range w.ents {
		e := &w.ents[i]
		if last != nil && w.sameKey(last, e) {
			skipped++
			continue
		}
		last = e
		fw.write(w.key(e), e.flags&flagValuesKey != 0, e.flags&flagDelete != 0, e.pos, w.doc(e))
	}
	if err := fw.finish(skipped); err != nil {
		fw.abort()
		return err
	}
	w.runs = append(w.runs, fw.path)
	return nil
}

func (w *RunWriter) sameKey(a, b *bufRecord) bool {
	switch {
	case (a.flags|b.flags)&flagValuesKey != 0:
		return change.CompareKeys(w.keys[a.idx], w.keys[b.idx]) == 0
	case a.p0 != b.p0 || a.p1 != b.p1 || a.klen != b.klen:
		return false
	case a.klen <= 16:
		return true
	}
	return bytes.Equal(w.key(a), w.key(b))
}

func cmpUint64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
