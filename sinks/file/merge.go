package file

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// maxFanIn is the most runs one merge reads at once; more runs are first
// merged in groups into intermediate runs, which bounds memory (one read
// buffer per input) and open files however many runs a view has.
const maxFanIn = 64

// input is one sorted input of a merge: a run, a view run (viewrun.go), or
// the existing view (its versions sidecar, each live key paired with the
// next line of the view).
type input struct {
	fr      *frameReader
	e       entry
	view    *lineReader // the lines of the existing view or of a view run
	viewRun bool        // a view run (not the existing view)
	skipped uint64      // records the run's writer already dropped (footer)
	rows    uint64      // lines read (existing view and view runs)
}

// openRun opens a run or a view run, told apart by their magic.
func openRun(path string) (*input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	var m [len(runMagic)]byte
	_, err = io.ReadFull(f, m[:])
	f.Close()
	if err == nil && string(m[:]) == versionsMagic {
		fr, err := openFrames(path, versionsMagic, versionsFooterLen)
		if err != nil {
			return nil, err
		}
		return openViewRun(fr)
	}
	fr, err := openFrames(path, runMagic, runFooterLen)
	if err != nil {
		return nil, err
	}
	return &input{fr: fr}, nil
}

func (in *input) cur() *entry { return &in.e }

// isBase reports whether the input is the existing view (whose records are
// not counted as written, deleted or skipped).
func (in *input) isBase() bool { return in.view != nil && !in.viewRun }

func (in *input) next() (bool, error) {
	ok, err := in.fr.next()
	if err != nil {
		return false, err
	}
	if !ok {
		if in.view == nil {
			in.skipped = binary.LittleEndian.Uint64(in.fr.footer[8:])
		}
		return false, nil
	}
	if err := parseEntry(in.fr.frame, &in.e); err != nil {
		return false, in.fr.fail(err)
	}
	if in.view != nil && !in.e.del {
		line, err := in.view.line()
		if err != nil {
			return false, fmt.Errorf("file sink: %s is out of sync with %s: %w", in.view.path, in.fr.path, err)
		}
		in.e.doc = line
		in.rows++
	}
	return true, nil
}

func (in *input) close() {
	in.fr.close()
	if in.view != nil {
		in.view.f.Close()
	}
}

func closeInputs(ins []*input) {
	for _, in := range ins {
		in.close()
	}
}

// mergeWinners merges sorted inputs. It calls win with the winner of every
// key (the greatest position; see compareVersions) and lose with every
// other entry of that key.
func mergeWinners(ins []*input, win func(*entry, *input) error, lose func(*entry, *input)) error {
	h := minHeap[*input]{cmp: func(a, b *input) int { return compareEntries(a.cur(), b.cur()) }}
	for _, in := range ins {
		ok, err := in.next()
		if err != nil {
			return err
		}
		if ok {
			h.s = append(h.s, in)
		}
	}
	h.init()
	var last entry
	var lastKey []byte
	have := false
	for len(h.s) > 0 {
		in := h.top()
		e := in.cur()
		if have && compareKeys(&last, e) == 0 {
			lose(e, in)
		} else {
			if err := win(e, in); err != nil {
				return err
			}
			lastKey = append(lastKey[:0], e.key...)
			last = entry{key: lastKey, valuesKey: e.valuesKey, keyv: e.keyv, decoded: e.decoded}
			have = true
		}
		ok, err := in.next()
		if err != nil {
			return err
		}
		if ok {
			h.fixTop()
		} else {
			h.dropTop()
		}
	}
	return nil
}

// reduceRuns merges runs in groups of maxFanIn into intermediate runs until
// at most maxFanIn remain. It returns the runs to merge and the
// intermediate runs it wrote (to remove once the commit is done).
func reduceRuns(dir string, runs []string) (final, temp []string, err error) {
	for len(runs) > maxFanIn {
		var next []string
		for start := 0; start < len(runs); start += maxFanIn {
			group := runs[start:min(start+maxFanIn, len(runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			p, err := mergeToRun(dir, group)
			if err != nil {
				removeAll(temp)
				return nil, nil, err
			}
			temp = append(temp, p)
			next = append(next, p)
		}
		runs = next
	}
	return runs, temp, nil
}

// mergeToRun merges runs into one new run (winners only).
func mergeToRun(dir string, runs []string) (string, error) {
	ins, err := openRuns(runs)
	if err != nil {
		return "", err
	}
	defer closeInputs(ins)
	fw, err := createRun(dir)
	if err != nil {
		return "", err
	}
	var skipped uint64
	err = mergeWinners(ins,
		func(e *entry, _ *input) error { fw.writeEntry(e); return nil },
		func(*entry, *input) { skipped++ })
	if err == nil {
		err = checkViewRunInputs(ins)
	}
	if err == nil {
		for _, in := range ins {
			skipped += in.skipped
		}
		err = fw.finish(skipped)
	}
	if err != nil {
		fw.abort()
		return "", err
	}
	return fw.path, nil
}

func openRuns(paths []string) ([]*input, error) {
	ins := make([]*input, 0, len(paths))
	for _, p := range paths {
		in, err := openRun(p)
		if err != nil {
			closeInputs(ins)
			return nil, err
		}
		ins = append(ins, in)
	}
	return ins, nil
}

func removeAll(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// uniquePaths returns the paths sorted, without duplicates (a run path
// delivered twice is merged once).
func uniquePaths(paths []string) []string {
	paths = slices.Clone(paths)
	slices.Sort(paths)
	return slices.Compact(paths)
}

// lineReader reads the lines of a view file, checksumming what it reads.
type lineReader struct {
	f    *os.File
	path string
	crc  *crcReader
	br   *bufio.Reader
	buf  []byte
}

func openLines(path string) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	c := &crcReader{r: f}
	return &lineReader{f: f, path: path, crc: c, br: bufio.NewReaderSize(c, ioBufSize)}, nil
}

// line returns the next line without its newline; it is valid until the
// next call. A last line without a newline is an error.
func (l *lineReader) line() ([]byte, error) {
	b, err := l.br.ReadSlice('\n')
	if err == nil {
		return b[:len(b)-1], nil
	}
	partial := len(b) > 0
	if err == bufio.ErrBufferFull {
		l.buf = append(l.buf[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			l.buf = append(l.buf, b...)
		}
		if err == nil {
			return l.buf[:len(l.buf)-1], nil
		}
	}
	if err == io.EOF {
		if partial {
			return nil, errors.New("last line has no newline")
		}
		return nil, errors.New("fewer lines than the versions sidecar has rows")
	}
	return nil, err
}

// atEOF reports whether the whole file has been read.
func (l *lineReader) atEOF() bool {
	_, err := l.br.ReadByte()
	return err == io.EOF
}

// peekEOF reports whether nothing is left to read.
func (l *lineReader) peekEOF() bool {
	_, err := l.br.Peek(1)
	return err == io.EOF
}
