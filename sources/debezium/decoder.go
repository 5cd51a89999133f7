package debezium

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/beamsync/beamsync/change"
)

// ErrSkip is returned for an event that holds no change: a tombstone, or
// the delete of an outbox row.
var ErrSkip = errors.New("no change in the event (a tombstone or an outbox row's delete)")

// UnknownTableError is returned for an event of a table the Decoder was not
// given. The files source dead-letters such events; the Kafka source skips
// them (it captures only the tables it is asked for).
type UnknownTableError struct {
	// Table is the event's table, "schema.table" or "db.table" (empty when
	// the event names none).
	Table string
}

func (e *UnknownTableError) Error() string {
	if e.Table == "" {
		return "no source.table in the event and no table configured"
	}
	return fmt.Sprintf("table %s was not described", e.Table)
}

// Options say how events map to tables.
type Options struct {
	// Table, when set, names the one table every event belongs to (their
	// source.db, schema and table are ignored).
	Table string
	// Outbox, when set, routes the events of an outbox table (see Outbox).
	Outbox *Outbox
	// IgnoreUnknownColumns drops the columns of an image that the table
	// does not have (a column added after the table was described) instead
	// of failing the event.
	IgnoreUnknownColumns bool
	// KeyFromImage takes the key from the row image when the event's key
	// part lacks one of the table's key columns (declared keys that differ
	// from the topic's message key), instead of failing the event.
	KeyFromImage bool
}

// Meta is what the carrier of an event knows about it.
type Meta struct {
	// Seq is the event's position when it has neither source.lsn nor
	// binlog coordinates: the line number of a file, the offset of a Kafka
	// record.
	Seq int64
	// Time is the commit time when the event has no ts_ms: the file's time,
	// the record's timestamp.
	Time time.Time
	// SourcePos is the event's coordinate for humans ("file.jsonl:42",
	// "orders/2@17").
	SourcePos string
	// Stream names the sequence the event arrives in, within which arrival
	// order breaks ties of equal positions: "" for a files source's files,
	// "topic/partition" for a Kafka record.
	Stream string
}

// tableID names a table by its source coordinates.
type tableID struct{ db, schema, name string }

func (id tableID) qualified() string {
	return (&change.Table{Database: id.db, Schema: id.schema, Name: id.name}).QualifiedName()
}

// Decoder turns Debezium events into changes of the tables it was given.
// It is not safe for concurrent use.
type Decoder struct {
	opts    Options
	exact   map[tableID]*change.Table
	byName  map[string]*change.Table // by qualified name
	cols    map[*change.Table]map[string]int
	schemas schemaCache
	logical map[*change.Column]*connectSchema // a logical-typed column's last schema
	runs    map[string]Run                    // by Meta.Stream
}

// NewDecoder makes a Decoder for the given tables.
func NewDecoder(tables []*change.Table, opts Options) *Decoder {
	d := &Decoder{opts: opts, exact: map[tableID]*change.Table{}, byName: map[string]*change.Table{},
		cols: map[*change.Table]map[string]int{}, schemas: schemaCache{}, runs: map[string]Run{},
		logical: map[*change.Column]*connectSchema{}}
	for _, t := range tables {
		d.exact[tableID{t.Database, t.Schema, t.Name}] = t
		if _, ok := d.byName[t.QualifiedName()]; !ok {
			d.byName[t.QualifiedName()] = t
		}
	}
	return d
}

// table finds the table of an event: by its exact coordinates, else by its
// qualified name.
func (d *Decoder) table(id tableID) *change.Table {
	if t := d.exact[id]; t != nil {
		return t
	}
	return d.byName[id.qualified()]
}

// DecodeLine decodes one line of a Debezium JSON-lines file (an event, or a
// {"key", "value"} pair). It returns ErrSkip for a line without a change,
// an *UnknownTableError for an event of a table it was not given, and else
// the table (when known) with the change or the error that makes the line
// a dead letter.
func (d *Decoder) DecodeLine(text []byte, m Meta) (*change.Table, change.Change, error) {
	e, err := parseEnvelope(text, d.schemas)
	if err != nil {
		return nil, change.Change{}, err
	}
	return d.decode(e, m)
}

// DecodeRecord decodes a Kafka record: value the event (nil or empty for a
// tombstone), key the Debezium key (optional). Results as DecodeLine.
func (d *Decoder) DecodeRecord(key, value []byte, m Meta) (*change.Table, change.Change, error) {
	e, err := parseRecord(key, value, d.schemas)
	if err != nil {
		return nil, change.Change{}, err
	}
	return d.decode(e, m)
}

func (d *Decoder) decode(e *envelope, m Meta) (*change.Table, change.Change, error) {
	if e.tombstone {
		return nil, change.Change{}, ErrSkip
	}
	if e.op == "m" {
		return nil, change.Change{}, ErrMessage
	}
	if d.opts.Outbox != nil && d.opts.Outbox.matches(e.src) {
		return d.outboxChange(e, m)
	}
	id := tableOf(d.opts, e)
	t := d.table(id)
	if t == nil {
		if id.name == "" {
			return nil, change.Change{}, &UnknownTableError{}
		}
		return nil, change.Change{}, &UnknownTableError{Table: id.qualified()}
	}
	if e.op == "t" {
		return t, change.Change{}, &TruncateError{Table: t.QualifiedName()}
	}
	op, err := change.ParseOp(e.op)
	if err != nil {
		return t, change.Change{}, err
	}
	c := change.Change{Op: op, CommitTime: e.commitTime(m.Time), SourcePos: m.SourcePos}
	if c.Position, err = d.position(e, m); err != nil {
		return t, c, err
	}

	var absentAfter any // columns missing from an image: not sent
	if op == change.OpUpdate {
		absentAfter = change.Unchanged
	}
	if c.After, err = d.image(t, e.after, e.imageSchema("after"), absentAfter); err != nil {
		return t, c, fmt.Errorf("after: %w", err)
	}
	if c.Before, err = d.image(t, e.before, e.imageSchema("before"), change.Unchanged); err != nil {
		return t, c, fmt.Errorf("before: %w", err)
	}
	switch {
	case op != change.OpDelete && c.After == nil:
		return t, c, fmt.Errorf("missing after for op %s", op)
	case op == change.OpDelete && c.Before == nil && e.key == nil:
		return t, c, errors.New("delete without a before image or a key")
	}

	switch {
	case e.key != nil && (!d.opts.KeyFromImage || hasKeyColumns(t, e.key)):
		c.Key, err = d.keyPart(t, e)
	case op == change.OpDelete && c.Before == nil:
		err = fmt.Errorf("delete without a before image, and its key part lacks the key columns %v", t.KeyNames())
	default:
		c.Key, err = KeyOf(t, c.Row())
	}
	if err != nil {
		return t, c, err
	}
	if op == change.OpDelete && c.Before == nil {
		c.Before = keyImage(t, c.Key)
	}
	return t, c, nil
}

// keyImage is a before image that holds only the key columns (the others
// Unchanged).
func keyImage(t *change.Table, key []any) []any {
	row := make([]any, len(t.Columns))
	for i := range row {
		row[i] = change.Unchanged
	}
	for i, ci := range t.Key {
		row[ci] = key[i]
	}
	return row
}

func hasKeyColumns(t *change.Table, key []Field) bool {
	for _, ci := range t.Key {
		if !has(key, t.Columns[ci].Name) {
			return false
		}
	}
	return true
}

// tableOf returns the table an event belongs to: the configured table, else
// its source's db, schema and table.
func tableOf(opts Options, e *envelope) tableID {
	if opts.Table != "" {
		return tableID{name: opts.Table}
	}
	return tableID{e.src.db, e.src.schema, e.src.table}
}

// columns returns the column indexes of a table by name.
func (d *Decoder) columns(t *change.Table) map[string]int {
	m := d.cols[t]
	if m == nil {
		m = make(map[string]int, len(t.Columns))
		for i, c := range t.Columns {
			m[c.Name] = i
		}
		d.cols[t] = m
	}
	return m
}

// image decodes a before or after image into values aligned with the
// table's columns; columns it does not hold get absent.
func (d *Decoder) image(t *change.Table, raw json.RawMessage, schema *connectSchema, absent any) ([]any, error) {
	if raw == nil {
		return nil, nil
	}
	fields, err := DecodeObject(raw)
	if err != nil {
		return nil, err
	}
	return d.fillRow(t, fields, absent, func(col *change.Column, raw json.RawMessage) (any, error) {
		return value(col, raw, d.fieldSchema(t, col, schema.field(col.Name)))
	})
}

// fieldSchema is the schema a column's value decodes by: the event's, else
// for a column of a logical type (a Decimal, a ZonedTimestamp, ...) the
// last schema an event gave it (its parameters: a decimal's scale), else
// the logical type's. So an event without the schema part decodes such a
// column to the same kind as one with it.
func (d *Decoder) fieldSchema(t *change.Table, col *change.Column, fs *connectSchema) *connectSchema {
	switch {
	case fs != nil:
		if fs.Name != "" && fs.Name == col.Type {
			d.logical[col] = fs
		}
		return fs
	case d.logical[col] != nil:
		return d.logical[col]
	}
	return logicalSchema(col)
}

// value decodes one column value: by its schema when the event has one,
// else as plain JSON for the column's kind.
func value(col *change.Column, raw json.RawMessage, fs *connectSchema) (any, error) {
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
	return ValueFor(col, raw)
}

// keyPart decodes the event's key part in the table's key order.
func (d *Decoder) keyPart(t *change.Table, e *envelope) ([]any, error) {
	key := make([]any, len(t.Key))
	for i, ci := range t.Key {
		col := &t.Columns[ci]
		raw := get(e.key, col.Name)
		if IsNull(raw) {
			return nil, fmt.Errorf("key column %q is null or missing from the key", col.Name)
		}
		v, err := value(col, raw, e.keySchema.field(col.Name))
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		key[i] = v
	}
	return key, nil
}

// Row decodes a plain JSON row object (a line of a JSON-lines snapshot)
// into values aligned with the table's columns; absent columns are NULL.
func (d *Decoder) Row(t *change.Table, text []byte) ([]any, error) {
	fields, err := DecodeObject(text)
	if err != nil {
		return nil, err
	}
	return d.rowImage(t, fields, nil)
}
