package files

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/beamsync/beamsync/change"
)

// debeziumChange decodes one Debezium event. It returns errSkip for a
// tombstone, and the table (when known) with any error.
func (r *reader) debeziumChange(l *line) (*change.Table, change.Change, error) {
	e, err := parseEnvelope(l.text, r.schemas)
	if err != nil {
		return nil, change.Change{}, err
	}
	if e.tombstone {
		return nil, change.Change{}, errSkip
	}
	id := tableOf(r.cfg, e)
	t := r.tables[id]
	if t == nil {
		if id.name == "" {
			return nil, change.Change{}, errors.New("no source.table in the event and no table configured")
		}
		return nil, change.Change{}, fmt.Errorf("table %s was not described", tableName(id))
	}
	op, err := change.ParseOp(e.op)
	if err != nil {
		return t, change.Change{}, err
	}
	c := change.Change{Op: op, CommitTime: e.commitTime(l.modTime), SourcePos: l.sourcePos()}
	if c.Position, err = e.position(l.seq); err != nil {
		return t, c, err
	}

	var absentAfter any // columns missing from an image: not sent
	if op == change.OpUpdate {
		absentAfter = change.Unchanged
	}
	if c.After, err = r.image(t, e.after, e.imageSchema("after"), absentAfter); err != nil {
		return t, c, fmt.Errorf("after: %w", err)
	}
	if c.Before, err = r.image(t, e.before, e.imageSchema("before"), change.Unchanged); err != nil {
		return t, c, fmt.Errorf("before: %w", err)
	}
	switch {
	case op != change.OpDelete && c.After == nil:
		return t, c, fmt.Errorf("missing after for op %s", op)
	case op == change.OpDelete && c.Before == nil && e.key == nil:
		return t, c, errors.New("delete without a before image or a key")
	}

	if e.key != nil {
		c.Key, err = r.keyPart(t, e)
	} else {
		c.Key, err = keyOf(t, c.Row())
	}
	if err != nil {
		return t, c, err
	}
	if op == change.OpDelete && c.Before == nil {
		// Only the key is known: the before image holds the key columns.
		c.Before = make([]any, len(t.Columns))
		for i := range c.Before {
			c.Before[i] = change.Unchanged
		}
		for i, ci := range t.Key {
			c.Before[ci] = c.Key[i]
		}
	}
	return t, c, nil
}

func tableName(id tableID) string {
	return (&change.Table{Database: id.db, Schema: id.schema, Name: id.name}).QualifiedName()
}

// image decodes a before or after image into values aligned with the
// table's columns; columns it does not hold get absent.
func (r *reader) image(t *change.Table, raw json.RawMessage, schema *connectSchema, absent any) ([]any, error) {
	if raw == nil {
		return nil, nil
	}
	fields, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	cols := r.columns(t)
	row := make([]any, len(t.Columns))
	for i := range row {
		row[i] = absent
	}
	for _, f := range fields {
		i, ok := cols[f.name]
		if !ok {
			return nil, fmt.Errorf("unknown column %q (not in table %s as described)", f.name, t.QualifiedName())
		}
		if row[i], err = r.value(&t.Columns[i], f.raw, schema.field(f.name)); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// value decodes one column value: by its schema when the event has one,
// else as plain JSON for the column's kind.
func (r *reader) value(col *change.Column, raw json.RawMessage, fs *connectSchema) (any, error) {
	switch {
	case isUnavailable(raw):
		return change.Unchanged, nil
	case fs != nil:
		v, err := fs.convert(raw)
		if err != nil {
			return nil, fmt.Errorf("column %q: %v", col.Name, err)
		}
		return v, nil
	}
	return valueFor(col, raw)
}

// keyPart decodes the event's key part in the table's key order.
func (r *reader) keyPart(t *change.Table, e *envelope) ([]any, error) {
	key := make([]any, len(t.Key))
	for i, ci := range t.Key {
		col := &t.Columns[ci]
		raw := get(e.key, col.Name)
		if isNull(raw) {
			return nil, fmt.Errorf("key column %q is null or missing from the key", col.Name)
		}
		v, err := r.value(col, raw, e.keySchema.field(col.Name))
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		key[i] = v
	}
	return key, nil
}
