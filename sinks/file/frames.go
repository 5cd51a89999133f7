package file

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/beamsync/beamsync/change"
)

// Runs and the versions sidecar share one framed, sorted file format:
//
//	magic (8 bytes)
//	frame*       uvarint length (> 0), then the frame:
//	               flags (1 byte: 1 = delete/tombstone, 2 = key in values form)
//	               uvarint position
//	               uvarint key length, key bytes (see keys.go)
//	               the view row as JSON (the rest of the frame; empty for
//	               deletes and in the versions sidecar)
//	uvarint 0    end of frames
//	footer       fixed size, little-endian; its first 8 bytes count the frames
//
// A file without its end marker and footer (a crash while writing) is
// rejected as truncated.
const (
	runMagic      = "bsrun01\n"
	versionsMagic = "bsver01\n"

	flagDelete    = 1
	flagValuesKey = 2

	runFooterLen      = 16 // frames, skipped records
	versionsFooterLen = 28 // frames, view rows, view size, view CRC-32C

	ioBufSize = 64 << 10
)

// entry is one frame: a record of a run, or a key of the versions sidecar
// together with its row of the existing view.
type entry struct {
	key       []byte
	valuesKey bool // key is in change.AppendValues form
	del       bool
	pos       uint64
	doc       []byte

	keyv    []any // the decoded key, once needed
	decoded bool
}

// values returns the key decoded (once) for change.CompareKeys.
func (e *entry) values() []any {
	if !e.decoded {
		if e.valuesKey {
			e.keyv = change.NewDecoder(e.key).Values()
		} else {
			e.keyv, _ = decodeSortKey(e.key)
		}
		e.decoded = true
	}
	return e.keyv
}

// set points e at a new frame, forgetting the decoded key.
func (e *entry) set(key []byte, valuesKey, del bool, pos uint64, doc []byte) {
	*e = entry{key: key, valuesKey: valuesKey, del: del, pos: pos, doc: doc}
}

// compareKeys orders two entries by view key.
func compareKeys(a, b *entry) int {
	if !a.valuesKey && !b.valuesKey {
		return bytes.Compare(a.key, b.key)
	}
	return change.CompareKeys(a.values(), b.values())
}

// compareVersions orders two entries of one key winner first: the greater
// position, then a delete, then the greater JSON row.
func compareVersions(a, b *entry) int {
	switch {
	case a.pos > b.pos:
		return -1
	case a.pos < b.pos:
		return 1
	case a.del != b.del:
		if a.del {
			return -1
		}
		return 1
	}
	return -bytes.Compare(a.doc, b.doc)
}

func compareEntries(a, b *entry) int {
	if c := compareKeys(a, b); c != 0 {
		return c
	}
	return compareVersions(a, b)
}

// frameWriter writes a framed file.
type frameWriter struct {
	f      *os.File
	bw     *bufio.Writer
	path   string
	frames uint64
	hdr    [1 + 3*binary.MaxVarintLen64]byte // frame length and header (a field: no allocation per frame)
	// scratch files (runs) are not synced: they live only until the
	// commit that merges them, within the same process, and a crash
	// abandons them; the commit syncs what it installs.
	scratch bool
}

func newFrameWriter(f *os.File, magic string) *frameWriter {
	w := &frameWriter{f: f, bw: bufio.NewWriterSize(f, 4*ioBufSize), path: f.Name()}
	w.bw.WriteString(magic)
	return w
}

// createRun creates a new view run file with a unique name in dir.
func createRun(dir string) (*frameWriter, error) { return createRunMagic(dir, runMagic) }

func (w *frameWriter) write(key []byte, valuesKey, del bool, pos uint64, doc []byte) {
	var flags byte
	if del {
		flags |= flagDelete
	}
	if valuesKey {
		flags |= flagValuesKey
	}
	// The header is built after room for the frame length, which is then
	// written right before it.
	const room = binary.MaxVarintLen64
	h := w.hdr[:room]
	h = append(h, flags)
	h = binary.AppendUvarint(h, pos)
	h = binary.AppendUvarint(h, uint64(len(key)))
	size := uint64(len(h) - room + len(key) + len(doc))
	start := room - uvarintLen(size)
	binary.PutUvarint(w.hdr[start:], size)
	w.bw.Write(h[start:])
	w.bw.Write(key)
	w.bw.Write(doc)
	w.frames++
}

func (w *frameWriter) writeEntry(e *entry) { w.write(e.key, e.valuesKey, e.del, e.pos, e.doc) }

// finish writes the end marker and footer (after the frame count), then
// flushes, fsyncs and closes the file.
func (w *frameWriter) finish(footer ...uint64) error {
	w.bw.WriteByte(0)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], w.frames)
	w.bw.Write(b[:])
	for _, v := range footer {
		binary.LittleEndian.PutUint64(b[:], v)
		w.bw.Write(b[:])
	}
	return w.close()
}

// finishVersions is finish for the versions sidecar, whose footer ends with
// the 4-byte CRC of the view file.
func (w *frameWriter) finishVersions(rows uint64, viewSize int64, viewCRC uint32) error {
	w.bw.WriteByte(0)
	var b [versionsFooterLen]byte
	binary.LittleEndian.PutUint64(b[0:], w.frames)
	binary.LittleEndian.PutUint64(b[8:], rows)
	binary.LittleEndian.PutUint64(b[16:], uint64(viewSize))
	binary.LittleEndian.PutUint32(b[24:], viewCRC)
	w.bw.Write(b[:])
	return w.close()
}

func (w *frameWriter) close() error {
	err := w.bw.Flush()
	if err == nil && !w.scratch {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file sink: writing %s: %w", w.path, err)
	}
	return nil
}

// abort closes and removes a file that will not be finished.
func (w *frameWriter) abort() {
	w.f.Close()
	os.Remove(w.path)
}

// frameReader reads a framed file frame by frame. The current frame stays
// valid until the next call to next.
type frameReader struct {
	f       *os.File
	br      *bufio.Reader
	path    string
	frame   []byte // the current frame
	pending int    // bytes of the current frame still in the buffer
	scratch []byte
	frames  uint64
	footer  []byte
	done    bool
}

var errTruncated = errors.New("truncated (no end marker): the file was not completely written")

func openFrames(path, magic string, footerLen int) (*frameReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	r := &frameReader{f: f, br: bufio.NewReaderSize(f, ioBufSize), path: path, footer: make([]byte, footerLen)}
	var m [8]byte
	if _, err := io.ReadFull(r.br, m[:]); err != nil || string(m[:]) != magic {
		f.Close()
		return nil, fmt.Errorf("file sink: %s is not a %q file", path, magic[:len(magic)-1])
	}
	return r, nil
}

func (r *frameReader) fail(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errTruncated
	}
	return fmt.Errorf("file sink: reading %s: %w", r.path, err)
}

// next moves to the next frame; it returns false at the end of the frames,
// after checking the footer.
func (r *frameReader) next() (bool, error) {
	if r.done {
		return false, nil
	}
	if r.pending > 0 {
		r.br.Discard(r.pending)
		r.pending = 0
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return false, r.fail(err)
	}
	if n == 0 {
		r.done = true
		if _, err := io.ReadFull(r.br, r.footer); err != nil {
			return false, r.fail(err)
		}
		if got := binary.LittleEndian.Uint64(r.footer); got != r.frames {
			return false, r.fail(fmt.Errorf("footer counts %d frames, read %d", got, r.frames))
		}
		if _, err := r.br.ReadByte(); err != io.EOF {
			return false, r.fail(errors.New("data after the footer"))
		}
		return false, nil
	}
	var frame []byte
	if n <= uint64(r.br.Size()) {
		if frame, err = r.br.Peek(int(n)); err != nil {
			return false, r.fail(err)
		}
		r.pending = int(n)
	} else {
		if n > 1<<40 {
			return false, r.fail(fmt.Errorf("frame length %d", n))
		}
		if uint64(cap(r.scratch)) < n {
			r.scratch = make([]byte, n)
		}
		r.scratch = r.scratch[:n]
		if _, err := io.ReadFull(r.br, r.scratch); err != nil {
			return false, r.fail(err)
		}
		frame = r.scratch
	}
	r.frame = frame
	r.frames++
	return true, nil
}

// parseEntry parses a view frame (of a run or of the versions sidecar).
func parseEntry(frame []byte, e *entry) error {
	flags := frame[0]
	pos, n := binary.Uvarint(frame[1:])
	if n <= 0 {
		return errors.New("bad frame position")
	}
	rest := frame[1+n:]
	klen, n := binary.Uvarint(rest)
	if n <= 0 || klen > uint64(len(rest)-n) {
		return errors.New("bad frame key")
	}
	key := rest[n : n+int(klen)]
	e.set(key, flags&flagValuesKey != 0, flags&flagDelete != 0, pos, rest[n+int(klen):])
	return nil
}

func (r *frameReader) close() { r.f.Close() }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
