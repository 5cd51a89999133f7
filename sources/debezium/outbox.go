package debezium

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// Outbox routes change events of a transactional-outbox table: each event
// row (its after image; a delete of an outbox row is ignored) becomes a
// change of the table named by the AggregateType column's value, keyed by
// AggregateID, whose row is the JSON object in Payload (a string holding
// JSON, or a JSON object); an event whose Type column value is in
// DeleteTypes deletes that key. Defaults: aggregatetype, aggregateid,
// payload, type.
//
// A routed table has one key column, named like the AggregateID column
// (default "aggregateid"), that holds the aggregate id; its other columns are
// the payload's members. See the package documentation for the details.
type Outbox struct {
	// Table is the outbox table, "schema.table", "db.table" or "table";
	// empty: every event is an outbox event.
	Table string `yaml:"table" json:"table,omitempty"`
	// AggregateType, AggregateID, Payload and Type name the outbox table's
	// columns (defaults aggregatetype, aggregateid, payload, type).
	AggregateType string `yaml:"aggregate_type" json:"aggregate_type,omitempty"`
	AggregateID   string `yaml:"aggregate_id" json:"aggregate_id,omitempty"`
	Payload       string `yaml:"payload" json:"payload,omitempty"`
	Type          string `yaml:"type" json:"type,omitempty"`
	// DeleteTypes are the event types that delete the aggregate's key.
	DeleteTypes []string `yaml:"delete_types" json:"delete_types,omitempty"`
}

// Default outbox column names.
const (
	DefaultAggregateType = "aggregatetype"
	DefaultAggregateID   = "aggregateid"
	DefaultPayload       = "payload"
	DefaultType          = "type"
)

// WithDefaults returns the outbox with its default column names filled in.
func (o Outbox) WithDefaults() Outbox {
	if o.AggregateType == "" {
		o.AggregateType = DefaultAggregateType
	}
	if o.AggregateID == "" {
		o.AggregateID = DefaultAggregateID
	}
	if o.Payload == "" {
		o.Payload = DefaultPayload
	}
	if o.Type == "" {
		o.Type = DefaultType
	}
	return o
}

// Validate reports every problem of the outbox configuration at once.
func (o *Outbox) Validate() error {
	d := o.WithDefaults()
	var errs []error
	names := map[string]string{}
	for _, c := range []struct{ what, name string }{
		{"aggregate_type", d.AggregateType}, {"aggregate_id", d.AggregateID}, {"payload", d.Payload}, {"type", d.Type},
	} {
		if prev, ok := names[c.name]; ok {
			errs = append(errs, fmt.Errorf("outbox: %s and %s name the same column %q: give each its own column", prev, c.what, c.name))
		}
		names[c.name] = c.what
	}
	for _, t := range o.DeleteTypes {
		if t == "" {
			errs = append(errs, errors.New("outbox: delete_types holds an empty type"))
		}
	}
	return errors.Join(errs...)
}

// matches reports whether an event of that source is an outbox event.
func (o *Outbox) matches(src source) bool {
	if o.Table == "" {
		return true
	}
	id := tableID{src.db, src.schema, src.table}
	return o.Table == id.qualified() || o.Table == src.table ||
		(src.db != "" && o.Table == src.db+"."+src.table) ||
		(src.db != "" && src.schema != "" && o.Table == src.db+"."+src.schema+"."+src.table)
}

// outboxEvent is an outbox row, read.
type outboxEvent struct {
	aggType   string
	aggID     json.RawMessage
	aggSchema *connectSchema // the aggregate id's schema, when the event has one
	typ       string
	payload   []Field // nil when the row has no payload
	hasPay    bool
	delete    bool
}

// readOutbox reads the outbox row of an event. It returns ErrSkip for a
// delete of an outbox row.
func (o *Outbox) read(e *envelope) (*outboxEvent, error) {
	op, err := change.ParseOp(e.op)
	if err != nil {
		return nil, err
	}
	if op == change.OpDelete {
		return nil, ErrSkip
	}
	if e.after == nil {
		return nil, fmt.Errorf("outbox event without an after image (op %s)", op)
	}
	cfg := o.WithDefaults()
	row, err := DecodeObject(e.after)
	if err != nil {
		return nil, fmt.Errorf("outbox row: %w", err)
	}
	schema := e.imageSchema("after")
	text := func(col string) (string, error) {
		raw := get(row, col)
		if IsNull(raw) {
			return "", nil
		}
		if raw[0] != '"' {
			return "", fmt.Errorf("outbox column %q is not a string: %s", col, truncate(raw))
		}
		return stringValue(raw)
	}
	ev := &outboxEvent{}
	if ev.aggType, err = text(cfg.AggregateType); err != nil {
		return nil, err
	}
	if ev.aggType == "" {
		return nil, fmt.Errorf("outbox row without an aggregate type (column %q is missing, null or empty)", cfg.AggregateType)
	}
	if ev.aggID = get(row, cfg.AggregateID); IsNull(ev.aggID) {
		return nil, fmt.Errorf("outbox row without an aggregate id (column %q is missing or null)", cfg.AggregateID)
	}
	ev.aggSchema = schema.field(cfg.AggregateID)
	if ev.typ, err = text(cfg.Type); err != nil {
		return nil, err
	}
	ev.delete = slices.Contains(cfg.DeleteTypes, ev.typ)
	if ev.payload, ev.hasPay, err = payloadOf(get(row, cfg.Payload)); err != nil {
		return nil, fmt.Errorf("outbox column %q: %w", cfg.Payload, err)
	}
	return ev, nil
}

// payloadOf reads the payload: a JSON object, or a string holding one; null
// or absent is no payload.
func payloadOf(raw json.RawMessage) ([]Field, bool, error) {
	if IsNull(raw) {
		return nil, false, nil
	}
	text := []byte(raw)
	if raw[0] == '"' {
		s, err := stringValue(raw)
		if err != nil {
			return nil, false, err
		}
		if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "null" {
			return nil, false, nil
		}
		text = []byte(s)
	}
	fields, err := DecodeObject(text)
	if err != nil {
		return nil, false, fmt.Errorf("payload is not a JSON object: %w", err)
	}
	return fields, true, nil
}

// outboxChange routes an outbox event to its aggregate's table.
func (d *Decoder) outboxChange(e *envelope, m Meta) (*change.Table, change.Change, error) {
	ev, err := d.opts.Outbox.read(e)
	if err != nil {
		return nil, change.Change{}, err
	}
	t := d.table(tableID{name: ev.aggType})
	if t == nil {
		return nil, change.Change{}, &UnknownTableError{Table: ev.aggType}
	}
	c := change.Change{Op: change.OpUpdate, CommitTime: e.commitTime(m.Time), SourcePos: m.SourcePos}
	if c.Position, err = d.position(e, m); err != nil {
		return t, c, err
	}
	if len(t.Key) != 1 {
		return t, c, fmt.Errorf("table %s has %d key columns: an outbox routes to tables keyed by the aggregate id alone", t.QualifiedName(), len(t.Key))
	}
	keyCol := &t.Columns[t.Key[0]]
	var id any
	if ev.aggSchema != nil {
		id, err = ev.aggSchema.convert(ev.aggID)
	} else {
		id, err = plainValue(ev.aggID)
	}
	if err == nil {
		id, err = coerceKey(keyCol, id)
	}
	if err != nil {
		return t, c, fmt.Errorf("aggregate id: %w", err)
	}
	c.Key = []any{id}
	var row []any
	if ev.hasPay {
		absent := any(nil)
		if ev.delete {
			absent = change.Unchanged
		}
		if row, err = d.rowImage(t, ev.payload, absent); err != nil {
			return t, c, fmt.Errorf("payload: %w", err)
		}
		row[t.Key[0]] = id
	}
	if ev.delete {
		c.Op = change.OpDelete
		if row == nil {
			row = keyImage(t, c.Key)
		}
		c.Before = row
		return t, c, nil
	}
	if row == nil {
		return t, c, fmt.Errorf("outbox event of type %q without a payload (and %q is not one of the delete types)", ev.typ, ev.typ)
	}
	c.After = row
	return t, c, nil
}

// rowImage decodes the members of a plain JSON object (a payload, a
// JSON-lines row) into a row of the table; absent columns get absent.
func (d *Decoder) rowImage(t *change.Table, fields []Field, absent any) ([]any, error) {
	return d.fillRow(t, fields, absent, ValueFor)
}

// fillRow decodes the members of an object with conv into a row of the
// table; columns it does not hold get absent.
func (d *Decoder) fillRow(t *change.Table, fields []Field, absent any, conv func(*change.Column, json.RawMessage) (any, error)) ([]any, error) {
	cols := d.columns(t)
	row := make([]any, len(t.Columns))
	for i := range row {
		row[i] = absent
	}
	for _, f := range fields {
		i, ok := cols[f.Name]
		if !ok {
			if d.opts.IgnoreUnknownColumns {
				continue
			}
			return nil, fmt.Errorf("unknown column %q (not in table %s as described)", f.Name, t.QualifiedName())
		}
		v, err := conv(&t.Columns[i], f.Raw)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

// coerceKey converts an aggregate id to the kind of the key column: text
// holding a number to a number column, a number to a text column or to a
// column of any kind (so that the ids 17 and "17" are one key).
func coerceKey(col *change.Column, v any) (any, error) {
	k := change.KindOf(v)
	if k == col.Kind {
		return v, nil
	}
	if col.Kind == change.KindAny {
		switch x := v.(type) {
		case int64, uint64, float64, change.Decimal:
			return string(change.AppendJSON(nil, x)), nil
		}
		return v, nil
	}
	switch x := v.(type) {
	case string:
		if isNumber(x) {
			if n, ok := numberAs(x, col.Kind); ok {
				return n, nil
			}
		}
	case int64, uint64, float64, change.Decimal:
		if col.Kind == change.KindString {
			return string(change.AppendJSON(nil, x)), nil
		}
	}
	return nil, fmt.Errorf("a %s value %v does not fit key column %q of kind %s", k, v, col.Name, col.Kind)
}

// isNumber reports whether s is a JSON number.
func isNumber(s string) bool {
	var n json.Number
	return s != "" && json.Unmarshal([]byte(s), &n) == nil && !strings.ContainsAny(s, " \t\n\"")
}
