package files

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/sources/debezium"
)

// Read streams the files and emits their changes in batches of up to
// Config.BatchSize changes of one table, in file order. emit and dead are
// called only from the calling goroutine. A line that cannot be decoded
// becomes a dead letter (Stage "decode", SourcePos "file:line") and reading
// goes on; with a nil dead, Read stops with an error instead. tables are
// the tables Describe returned (nil: Read describes the files itself).
func Read(ctx context.Context, cfg Config, tables []*change.Table, emit func(change.Batch) error, dead func(change.DeadLetter) error) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	files, err := expand(cfg.Path)
	if err != nil {
		return err
	}
	if tables == nil {
		if tables, err = Describe(ctx, cfg); err != nil {
			return err
		}
	}
	r := &reader{cfg: cfg, emit: emit, dead: dead}
	var decode func(*line) (*change.Table, change.Change, error)
	if cfg.Format == FormatJSONL {
		t := findTable(tables, jsonlTableName(cfg, files))
		if t == nil {
			if len(tables) != 1 {
				return fmt.Errorf("files source: no table %s among the tables given", jsonlTableName(cfg, files))
			}
			t = tables[0]
		}
		r.jsonl = debezium.NewDecoder([]*change.Table{t}, debezium.Options{})
		decode = func(l *line) (*change.Table, change.Change, error) {
			c, err := r.jsonlChange(t, l)
			return t, c, err
		}
	} else {
		dec := debezium.NewDecoder(tables, cfg.options())
		decode = func(l *line) (*change.Table, change.Change, error) {
			return dec.DecodeLine(l.text, debezium.Meta{Seq: l.seq, Time: l.modTime, SourcePos: l.sourcePos()})
		}
	}
	err = eachLine(ctx, files, func(l *line) error {
		t, c, err := decode(l)
		var trunc *debezium.TruncateError
		switch {
		case errors.Is(err, debezium.ErrSkip):
			return nil
		case errors.Is(err, debezium.ErrMessage):
			runstats.Add(runstats.Messages, "files", 1)
			return nil
		case errors.As(err, &trunc) && cfg.Truncate == debezium.TruncateIgnore:
			runstats.Add(runstats.Truncates, trunc.Table, 1)
			slog.Warn("files source: truncate ignored (truncate: ignore): the views keep the table's rows", "table", trunc.Table, "at", l.sourcePos())
			return nil
		case trunc != nil:
			return fmt.Errorf("files source: %s: %w", l.sourcePos(), err)
		case err != nil:
			return r.deadLetter(t, l, err)
		}
		return r.add(t, c)
	})
	if err != nil {
		return err
	}
	return r.flush()
}

func findTable(tables []*change.Table, name string) *change.Table {
	for _, t := range tables {
		if t.Database == "" && t.Schema == "" && t.Name == name {
			return t
		}
	}
	return nil
}

// reader is the state of one Read.
type reader struct {
	cfg   Config
	emit  func(change.Batch) error
	dead  func(change.DeadLetter) error
	batch change.Batch
	jsonl *debezium.Decoder // jsonl: its column index
}

// add appends a change to the current batch, emitting the batch when it is
// full or when the table changes.
func (r *reader) add(t *change.Table, c change.Change) error {
	if r.batch.Table != t && len(r.batch.Changes) > 0 {
		if err := r.flush(); err != nil {
			return err
		}
	}
	if r.batch.Changes == nil {
		r.batch.Changes = make([]change.Change, 0, r.cfg.BatchSize)
	}
	r.batch.Table = t
	r.batch.Changes = append(r.batch.Changes, c)
	if len(r.batch.Changes) >= r.cfg.BatchSize {
		return r.flush()
	}
	return nil
}

func (r *reader) flush() error {
	if len(r.batch.Changes) == 0 {
		return nil
	}
	b := r.batch
	r.batch = change.Batch{}
	return r.emit(b)
}

func (r *reader) deadLetter(t *change.Table, l *line, reason error) error {
	d := change.DeadLetter{
		Stage:     change.StageDecode,
		Position:  change.Position(l.seq),
		SourcePos: l.sourcePos(),
		Reason:    reason.Error(),
		Row:       change.JSON(append([]byte(nil), l.text...)),
	}
	if t != nil {
		d.Table = t.QualifiedName()
	}
	if r.dead == nil {
		return fmt.Errorf("files source: %s: %s", d.SourcePos, d.Reason)
	}
	return r.dead(d)
}

// jsonlChange decodes a JSON-lines row into a snapshot change.
func (r *reader) jsonlChange(t *change.Table, l *line) (change.Change, error) {
	after, err := r.jsonl.Row(t, l.text)
	if err != nil {
		return change.Change{}, err
	}
	key, err := debezium.KeyOf(t, after)
	if err != nil {
		return change.Change{}, err
	}
	return change.Change{
		Op:         change.OpRead,
		Key:        key,
		After:      after,
		CommitTime: l.modTime,
		Position:   change.Position(l.seq),
		SourcePos:  l.sourcePos(),
	}, nil
}
