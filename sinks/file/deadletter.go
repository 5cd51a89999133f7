package file

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/beamsync/beamsync/change"
)

// Dead letters are written like views: a DeadLetterWriter spills sorted
// runs (order: view, position, key, reason, then the whole line), and
// CommitDeadLetters merges them into <Dir>/_dead_letters.jsonl. Identical
// lines (a replayed bundle) are written once.
//
// Dead-letter run frame: uvarint position, then view, key and reason each as
// uvarint length + bytes, then the JSON line (the rest of the frame).
const deadLetterMagic = "bsdlr01\n"

// DeadLetterWriter buffers dead letters and writes them as sorted runs to
// <Dir>/.runs/_dead_letters/. It is not safe for concurrent use.
type DeadLetterWriter struct {
	cfg   Config
	err   error
	arena []byte // per dead letter: view, key, reason, line
	ents  []dlRecord
	runs  []string
	hdr   []byte
}

type dlRecord struct {
	off              uint32
	vlen, klen, rlen uint32
	llen             uint32
	pos              uint64
}

// NewDeadLetterWriter returns a writer of dead-letter runs. A configuration
// error is returned by the first Add or Flush.
func NewDeadLetterWriter(cfg Config) *DeadLetterWriter {
	w := &DeadLetterWriter{}
	w.cfg, w.err = cfg.withDefaults()
	return w
}

// Add buffers one dead letter; it spills a run when SpillRows are buffered.
func (w *DeadLetterWriter) Add(d change.DeadLetter) error {
	if w.err != nil {
		return w.err
	}
	start := len(w.arena)
	w.arena = append(w.arena, d.View...)
	if len(d.Key) > 0 {
		w.arena = change.AppendJSON(w.arena, d.Key)
	}
	klen := len(w.arena) - start - len(d.View)
	w.arena = append(w.arena, d.Reason...)
	lstart := len(w.arena)
	w.arena = appendDeadLetter(w.arena, &d)
	w.ents = append(w.ents, dlRecord{off: uint32(start), vlen: uint32(len(d.View)), klen: uint32(klen),
		rlen: uint32(len(d.Reason)), llen: uint32(len(w.arena) - lstart), pos: uint64(d.Position)})
	if len(w.ents) >= w.cfg.SpillRows || len(w.arena) >= spillBytes {
		return w.spill()
	}
	return nil
}

// Flush writes the buffered dead letters as a run and returns the paths of
// every run written since the last Flush.
func (w *DeadLetterWriter) Flush() (runs []string, err error) {
	if w.err != nil {
		return nil, w.err
	}
	if len(w.ents) > 0 {
		if err := w.spill(); err != nil {
			return nil, err
		}
	}
	runs, w.runs = w.runs, nil
	return runs, nil
}

// Abort drops the buffer and removes the runs written since the last Flush.
func (w *DeadLetterWriter) Abort() error {
	w.arena, w.ents = w.arena[:0], w.ents[:0]
	err := removeAll(w.runs)
	w.runs = nil
	return err
}

func (w *DeadLetterWriter) entry(r *dlRecord) dlEntry {
	b := w.arena[r.off:]
	v, b := b[:r.vlen], b[r.vlen:]
	k, b := b[:r.klen], b[r.klen:]
	rs, b := b[:r.rlen], b[r.rlen:]
	return dlEntry{view: v, key: k, reason: rs, line: b[:r.llen], pos: r.pos}
}

func (w *DeadLetterWriter) spill() error {
	defer func() { w.arena, w.ents = w.arena[:0], w.ents[:0] }()
	slices.SortFunc(w.ents, func(a, b dlRecord) int {
		ea, eb := w.entry(&a), w.entry(&b)
		return compareDeadLetters(&ea, &eb)
	})
	fw, err := createRunMagic(runDir(w.cfg, deadLetterName), deadLetterMagic)
	if err != nil {
		return err
	}
	var skipped uint64
	var last dlEntry
	for i := range w.ents {
		e := w.entry(&w.ents[i])
		if i > 0 && compareDeadLetters(&last, &e) == 0 {
			skipped++
			continue
		}
		last = e
		w.hdr = writeDeadLetterFrame(fw, w.hdr, &e)
	}
	if err := fw.finish(skipped); err != nil {
		fw.abort()
		return err
	}
	w.runs = append(w.runs, fw.path)
	return nil
}

// dlEntry is one dead letter with its sort fields.
type dlEntry struct {
	view, key, reason, line []byte
	pos                     uint64
}

func compareDeadLetters(a, b *dlEntry) int {
	if c := bytes.Compare(a.view, b.view); c != 0 {
		return c
	}
	switch {
	case a.pos < b.pos:
		return -1
	case a.pos > b.pos:
		return 1
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := bytes.Compare(a.reason, b.reason); c != 0 {
		return c
	}
	return bytes.Compare(a.line, b.line)
}

func writeDeadLetterFrame(fw *frameWriter, h []byte, e *dlEntry) []byte {
	h = binary.AppendUvarint(h[:0], e.pos)
	for _, f := range [][]byte{e.view, e.key, e.reason} {
		h = binary.AppendUvarint(h, uint64(len(f)))
		h = append(h, f...)
	}
	var lenb [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(lenb[:], uint64(len(h)+len(e.line)))
	fw.bw.Write(lenb[:n])
	fw.bw.Write(h)
	fw.bw.Write(e.line)
	fw.frames++
	return h
}

func parseDeadLetterFrame(frame []byte, e *dlEntry) error {
	pos, n := binary.Uvarint(frame)
	if n <= 0 {
		return errors.New("bad dead-letter frame")
	}
	e.pos = pos
	frame = frame[n:]
	for _, f := range []*[]byte{&e.view, &e.key, &e.reason} {
		l, n := binary.Uvarint(frame)
		if n <= 0 || l > uint64(len(frame)-n) {
			return errors.New("bad dead-letter frame")
		}
		*f = frame[n : n+int(l)]
		frame = frame[n+int(l):]
	}
	e.line = frame
	return nil
}

// appendDeadLetter appends d as one JSON object with the field names, order
// and omissions of change.DeadLetter's JSON tags; key and row are embedded
// as JSON (text that is not valid JSON is embedded as a string).
func appendDeadLetter(b []byte, d *change.DeadLetter) []byte {
	b = append(b, '{')
	b = appendField(b, "view", d.View, true)
	b = appendField(b, "sink", d.Sink, true)
	b = appendField(b, "stage", d.Stage, false)
	b = appendField(b, "table", d.Table, true)
	if len(d.Key) > 0 {
		b = change.AppendJSON(append(b, `,"key":`...), d.Key)
	}
	b = strconv.AppendUint(append(b, `,"position":`...), uint64(d.Position), 10)
	b = appendField(b, "source_position", d.SourcePos, true)
	b = appendField(b, "reason", d.Reason, false)
	if len(d.Row) > 0 {
		b = change.AppendJSON(append(b, `,"row":`...), d.Row)
	}
	return append(b, '}')
}

func appendField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return change.AppendJSON(b, v)
}

// deadLetterInput is one sorted input of the dead-letter merge: a run, or
// the existing dead-letter file (upsert mode).
type deadLetterInput struct {
	fr      *frameReader
	lines   *lineReader
	e       dlEntry
	prev    dlEntry // existing file: the previous line, to check the order
	prevBuf []byte
	skipped uint64
	n       int
}

func (in *deadLetterInput) next() (bool, error) {
	if in.lines != nil {
		return in.nextLine()
	}
	ok, err := in.fr.next()
	if err != nil || !ok {
		if err == nil {
			in.skipped = binary.LittleEndian.Uint64(in.fr.footer[8:])
		}
		return false, err
	}
	if err := parseDeadLetterFrame(in.fr.frame, &in.e); err != nil {
		return false, in.fr.fail(err)
	}
	return true, nil
}

// nextLine reads a line of the existing dead-letter file and recovers its
// sort fields.
func (in *deadLetterInput) nextLine() (bool, error) {
	if in.n > 0 {
		// Keep a copy of the previous entry to check that the file is sorted.
		e := &in.e
		in.prevBuf = append(append(append(append(in.prevBuf[:0], e.view...), e.key...), e.reason...), e.line...)
		b := in.prevBuf
		v, b := b[:len(e.view)], b[len(e.view):]
		k, b := b[:len(e.key)], b[len(e.key):]
		r, l := b[:len(e.reason)], b[len(e.reason):]
		in.prev = dlEntry{view: v, key: k, reason: r, line: l, pos: e.pos}
	}
	if in.lines.peekEOF() {
		return false, nil
	}
	line, err := in.lines.line()
	in.n++
	if err != nil {
		return false, fmt.Errorf("file sink: reading %s line %d: %w", in.lines.path, in.n, err)
	}
	var d struct {
		View     string          `json:"view"`
		Position uint64          `json:"position"`
		Key      json.RawMessage `json:"key"`
		Reason   string          `json:"reason"`
	}
	if err := json.Unmarshal(line, &d); err != nil {
		return false, fmt.Errorf("file sink: %s line %d: %w", in.lines.path, in.n, err)
	}
	in.e = dlEntry{view: []byte(d.View), key: d.Key, reason: []byte(d.Reason), line: line, pos: d.Position}
	if in.n > 1 && compareDeadLetters(&in.prev, &in.e) > 0 {
		return false, fmt.Errorf("file sink: %s is not sorted at line %d (edited by hand?)", in.lines.path, in.n)
	}
	return true, nil
}

func (in *deadLetterInput) close() {
	if in.fr != nil {
		in.fr.close()
	}
	if in.lines != nil {
		in.lines.f.Close()
	}
}
