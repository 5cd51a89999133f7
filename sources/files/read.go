package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/beamsync/beamsync/change"
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
	r := &reader{cfg: cfg, emit: emit, dead: dead, cols: map[*change.Table]map[string]int{}}
	var decode func(*line) (*change.Table, change.Change, error)
	if cfg.Format == FormatJSONL {
		t := findTable(tables, tableID{name: jsonlTableName(cfg, files)})
		if t == nil {
			if len(tables) != 1 {
				return fmt.Errorf("files source: no table %s among the tables given", jsonlTableName(cfg, files))
			}
			t = tables[0]
		}
		decode = func(l *line) (*change.Table, change.Change, error) {
			c, err := r.jsonlChange(t, l)
			return t, c, err
		}
	} else {
		r.tables = map[tableID]*change.Table{}
		for _, t := range tables {
			r.tables[tableID{t.Database, t.Schema, t.Name}] = t
		}
		r.schemas = schemaCache{}
		decode = r.debeziumChange
	}
	err = eachLine(ctx, files, func(l *line) error {
		t, c, err := decode(l)
		switch {
		case errors.Is(err, errSkip):
			return nil
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

func findTable(tables []*change.Table, id tableID) *change.Table {
	for _, t := range tables {
		if t.Database == id.db && t.Schema == id.schema && t.Name == id.name {
			return t
		}
	}
	return nil
}

// errSkip marks a line that holds no change (a tombstone).
var errSkip = errors.New("skip")

// reader is the state of one Read.
type reader struct {
	cfg     Config
	emit    func(change.Batch) error
	dead    func(change.DeadLetter) error
	batch   change.Batch
	cols    map[*change.Table]map[string]int
	tables  map[tableID]*change.Table // debezium
	schemas schemaCache               // debezium
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

// columns returns the column indexes of a table by name.
func (r *reader) columns(t *change.Table) map[string]int {
	m := r.cols[t]
	if m == nil {
		m = make(map[string]int, len(t.Columns))
		for i, c := range t.Columns {
			m[c.Name] = i
		}
		r.cols[t] = m
	}
	return m
}

// valueFor decodes a plain JSON value for a column of kind k.
func valueFor(col *change.Column, raw json.RawMessage) (any, error) {
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		if v, ok := numberAs(string(raw), col.Kind); ok {
			return v, nil
		}
		return nil, fmt.Errorf("column %q: number %s does not fit its kind %s", col.Name, truncate(raw), col.Kind)
	}
	v, err := plainValue(raw)
	if err != nil {
		return nil, fmt.Errorf("column %q: %v", col.Name, err)
	}
	if v != nil && col.Kind != change.KindAny && change.KindOf(v) != col.Kind {
		return nil, fmt.Errorf("column %q: %s value in a column of kind %s", col.Name, change.KindOf(v), col.Kind)
	}
	return v, nil
}

// keyOf picks the key values out of a row image.
func keyOf(t *change.Table, row []any) ([]any, error) {
	if len(t.Key) == 0 {
		return nil, nil
	}
	key := make([]any, len(t.Key))
	for i, ci := range t.Key {
		if ci >= len(row) || row[ci] == nil || change.IsUnchanged(row[ci]) {
			return nil, fmt.Errorf("key column %q is null or missing", t.Columns[ci].Name)
		}
		key[i] = row[ci]
	}
	return key, nil
}

// jsonlChange decodes a JSON-lines row into a snapshot change.
func (r *reader) jsonlChange(t *change.Table, l *line) (change.Change, error) {
	fields, err := decodeObject(l.text)
	if err != nil {
		return change.Change{}, err
	}
	cols := r.columns(t)
	after := make([]any, len(t.Columns))
	for _, f := range fields {
		i, ok := cols[f.name]
		if !ok {
			return change.Change{}, fmt.Errorf("unknown column %q (not in table %s as described)", f.name, t.QualifiedName())
		}
		if after[i], err = valueFor(&t.Columns[i], f.raw); err != nil {
			return change.Change{}, err
		}
	}
	key, err := keyOf(t, after)
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
