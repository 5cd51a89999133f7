package debezium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/beamsync/beamsync/change"
)

// envelope is one Debezium change event, in any of the shapes a line may
// hold: the bare payload {"op":..., "before":..., ...}, the converter's
// {"schema":..., "payload":...}, or a key/value pair {"key":..., "value":...}
// whose parts are either of those.
type envelope struct {
	tombstone bool

	op            string
	before, after json.RawMessage
	schema        *connectSchema // the value's envelope schema, or nil
	src           source
	tsMs          int64
	hasTs         bool

	key       []Field        // the key part's fields, or nil
	keySchema *connectSchema // the key part's schema, or nil
}

// source holds the fields of the event's source block that beamsync uses.
type source struct {
	db, schema, table string
	lsn               string
	file              string
	pos, row          string
	tsMs              int64
	hasTs             bool
}

// schemaCache parses each distinct schema text once.
type schemaCache map[string]*connectSchema

func (c schemaCache) get(raw json.RawMessage) (*connectSchema, error) {
	if IsNull(raw) {
		return nil, nil
	}
	if s, ok := c[string(raw)]; ok {
		return s, nil
	}
	s := new(connectSchema)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("bad schema: %v", err)
	}
	c[string(raw)] = s
	return s, nil
}

func get(fields []Field, name string) json.RawMessage {
	if i := indexField(fields, name); i >= 0 {
		return fields[i].Raw
	}
	return nil
}

func has(fields []Field, name string) bool { return indexField(fields, name) >= 0 }

// isWrapper reports whether an object is the converter's {"schema", "payload"}.
func isWrapper(fields []Field) bool {
	if !has(fields, "payload") {
		return false
	}
	for _, f := range fields {
		if f.Name != "schema" && f.Name != "payload" {
			return false
		}
	}
	return true
}

// parseEnvelope parses one Debezium event: a line of a file, or the value
// of a Kafka record.
func parseEnvelope(text []byte, cache schemaCache) (*envelope, error) {
	if string(bytes.TrimSpace(text)) == "null" {
		return &envelope{tombstone: true}, nil
	}
	top, err := DecodeObject(text)
	if err != nil {
		return nil, err
	}
	e := &envelope{}
	value := text
	switch {
	case has(top, "op") || has(top, "before") || has(top, "after"):
	case isWrapper(top):
	case has(top, "value") || has(top, "key"):
		if err := e.parseKey(get(top, "key"), cache); err != nil {
			return nil, err
		}
		value = get(top, "value")
		if IsNull(value) || string(bytes.TrimSpace(value)) == `""` {
			return &envelope{tombstone: true}, nil
		}
		if top, err = DecodeObject(value); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
	default:
		return nil, errors.New("not a Debezium event: no op, payload or value")
	}
	payload := top
	if isWrapper(top) {
		if e.schema, err = cache.get(get(top, "schema")); err != nil {
			return nil, err
		}
		p := get(top, "payload")
		if IsNull(p) {
			return &envelope{tombstone: true}, nil
		}
		if payload, err = DecodeObject(p); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
	}
	return e, e.parsePayload(payload)
}

// parseRecord parses a Kafka record: its value is the event (payload, or
// schema and payload), its key the Debezium key. A key that is not a JSON
// object in Debezium's shape (a plain string key, say) is ignored: the key
// is then taken from the row image.
func parseRecord(key, value []byte, cache schemaCache) (*envelope, error) {
	if len(bytes.TrimSpace(value)) == 0 {
		return &envelope{tombstone: true}, nil
	}
	e, err := parseEnvelope(value, cache)
	if err != nil || e.tombstone || e.key != nil || IsNull(key) {
		return e, err
	}
	k := &envelope{}
	if k.parseKey(key, cache) == nil {
		e.key, e.keySchema = k.key, k.keySchema
	}
	return e, nil
}

func (e *envelope) parseKey(raw json.RawMessage, cache schemaCache) error {
	if IsNull(raw) {
		return nil
	}
	fields, err := DecodeObject(raw)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if isWrapper(fields) {
		if e.keySchema, err = cache.get(get(fields, "schema")); err != nil {
			return fmt.Errorf("key: %w", err)
		}
		p := get(fields, "payload")
		if IsNull(p) {
			return nil
		}
		if fields, err = DecodeObject(p); err != nil {
			return fmt.Errorf("key payload: %w", err)
		}
	}
	e.key = fields
	return nil
}

func (e *envelope) parsePayload(p []Field) error {
	if op := get(p, "op"); !IsNull(op) {
		if err := json.Unmarshal(op, &e.op); err != nil {
			return fmt.Errorf("op is not a string: %s", truncate(op))
		}
	} else {
		return errors.New("missing op")
	}
	e.before, e.after = get(p, "before"), get(p, "after")
	if IsNull(e.before) {
		e.before = nil
	}
	if IsNull(e.after) {
		e.after = nil
	}
	for _, raw := range []json.RawMessage{e.before, e.after} {
		if raw != nil && raw[0] != '{' {
			return fmt.Errorf("before and after must be objects, got %s", truncate(raw))
		}
	}
	if ts := get(p, "ts_ms"); !IsNull(ts) {
		v, err := intValue(ts)
		if err != nil {
			return fmt.Errorf("ts_ms: %w", err)
		}
		e.tsMs, e.hasTs = v, true
	}
	if src := get(p, "source"); !IsNull(src) {
		fields, err := DecodeObject(src)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		e.src = parseSource(fields)
	}
	return nil
}

func parseSource(fields []Field) source {
	text := func(name string) string {
		raw := get(fields, name)
		if IsNull(raw) {
			return ""
		}
		if raw[0] == '"' {
			s, _ := stringValue(raw)
			return s
		}
		return string(raw)
	}
	s := source{db: text("db"), schema: text("schema"), table: text("table"), lsn: text("lsn"),
		file: text("file"), pos: text("pos"), row: text("row")}
	if ts, err := strconv.ParseInt(text("ts_ms"), 10, 64); err == nil {
		s.tsMs, s.hasTs = ts, true
	}
	return s
}

// imageSchema returns the schema of the before or after image.
func (e *envelope) imageSchema(name string) *connectSchema { return e.schema.field(name) }

// commitTime is the source's commit time, else the event's time.
func (e *envelope) commitTime(fallback time.Time) time.Time {
	switch {
	case e.src.hasTs:
		return time.UnixMilli(e.src.tsMs).UTC()
	case e.hasTs:
		return time.UnixMilli(e.tsMs).UTC()
	}
	return fallback
}

// position computes the change's base position and the least tie it may
// take (its binlog row): source.lsn when present, else the MySQL binlog
// file and offset, else the line. The Decoder ranks it (see order.go).
func (e *envelope) position(line int64) (base, row uint64, err error) {
	if e.src.lsn != "" {
		lsn, err := strconv.ParseUint(e.src.lsn, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("source.lsn %q is not an unsigned integer", e.src.lsn)
		}
		if lsn > maxBase {
			return 0, 0, fmt.Errorf("source.lsn %d is beyond %d and does not fit a position", lsn, uint64(maxBase))
		}
		return lsn, 0, nil
	}
	if e.src.file != "" && e.src.pos != "" {
		return packBinlog(e.src.file, e.src.pos, e.src.row)
	}
	if line < 0 || uint64(line) > maxBase {
		return 0, 0, fmt.Errorf("line or offset %d does not fit a position", line)
	}
	return uint64(line), 0, nil
}

// packBinlog packs the MySQL binlog file sequence number and offset of
// source.file and pos into a base position, seq<<32 | pos, and returns
// source.row (capped at the largest tie) beside it.
func packBinlog(file, pos, row string) (base, r uint64, err error) {
	seq, err := change.BinlogSequence(file)
	if err != nil {
		return 0, 0, fmt.Errorf("source.file %q does not end in a binlog sequence number", file)
	}
	if seq >= 1<<binlogSeqBits {
		return 0, 0, fmt.Errorf("source.file %q: sequence number beyond %d does not fit a position", file, 1<<binlogSeqBits-1)
	}
	off, err := strconv.ParseUint(pos, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("source.pos %q is not an unsigned integer", pos)
	}
	if off >= 1<<32 {
		return 0, 0, fmt.Errorf("source.file/pos: binlog offset %s:%d is beyond 4 GiB and does not fit a position", file, off)
	}
	if row != "" {
		if r, err = strconv.ParseUint(row, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("source.row %q is not an unsigned integer", row)
		}
	}
	return seq<<32 | off, min(r, maxTie), nil
}
