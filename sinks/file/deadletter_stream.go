package file

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
)

// StreamDeadLetterFile is the name of the dead-letter file of a stream
// pipeline, in the dead-letter directory.
const StreamDeadLetterFile = "_dead_letters.stream.jsonl"

// AppendDeadLetters writes the dead letters of a stream pipeline: each
// bundle appends its dead letters, one JSON line each, to
// <dir>/_dead_letters.stream.jsonl and syncs the file before their
// acknowledgement units are released (internal/ack), so that a position
// is never acknowledged before the dead letters it produced are on disk.
// After a crash, lines of the last bundle may appear twice.
func AppendDeadLetters(s beam.Scope, dir string, dead beam.PCollection) {
	beam.ParDo0(s.Scope("file.AppendDeadLetters"), &appendDeadFn{Dir: dir}, dead)
}

type appendDeadFn struct {
	Dir string `json:"dir"`

	buf  []byte
	toks []change.AckToken
}

func (f *appendDeadFn) ProcessElement(d change.DeadLetter) error {
	// The same line the batch dead-letter file holds: key and row as JSON.
	f.buf = append(appendDeadLetter(f.buf, &d), '\n')
	f.toks = append(f.toks, d.Ack)
	return nil
}

func (f *appendDeadFn) FinishBundle() error {
	if len(f.buf) == 0 {
		return nil
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	path := filepath.Join(f.Dir, StreamDeadLetterFile)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	_, err = fh.Write(f.buf)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appending dead letters to %s: %w", path, err)
	}
	for _, t := range f.toks {
		ack.Done(t, 1)
	}
	f.buf, f.toks = f.buf[:0], f.toks[:0]
	return nil
}

func init() {
	register.DoFn1x1[change.DeadLetter, error](&appendDeadFn{})
}
