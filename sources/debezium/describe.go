package debezium

import (
	"github.com/beamsync/beamsync/change"
)

// Describer infers the tables of a sequence of Debezium events: columns in
// order of first appearance (a schema's field order when events carry one),
// each with the kind of the values seen, and the key from the events' key
// part. Events a Decoder would dead-letter are passed over. It is not safe
// for concurrent use.
type Describer struct {
	opts  Options
	order []*TableInfo
	infos map[tableID]*TableInfo
	cache schemaCache
	// rows and seen count the payloads of each routed table and the
	// payloads each column was in (a column absent from some is nullable).
	rows   map[*TableInfo]int
	seen   map[*ColumnInfo]int
	events int // events that described a table
	passed int // events passed over (undecodable, tombstones, no table)
}

// NewDescriber starts describing.
func NewDescriber(opts Options) *Describer {
	return &Describer{opts: opts, infos: map[tableID]*TableInfo{}, cache: schemaCache{},
		rows: map[*TableInfo]int{}, seen: map[*ColumnInfo]int{}}
}

// AddLine describes the event of one line of a file.
func (d *Describer) AddLine(text []byte) {
	e, err := parseEnvelope(text, d.cache)
	d.add(e, err)
}

// AddRecord describes the event of one Kafka record.
func (d *Describer) AddRecord(key, value []byte) {
	e, err := parseRecord(key, value, d.cache)
	d.add(e, err)
}

// Counts returns the number of events that described a table and of those
// passed over.
func (d *Describer) Counts() (used, passed int) { return d.events, d.passed }

func (d *Describer) add(e *envelope, err error) {
	if err != nil || e.tombstone {
		d.passed++
		return
	}
	if _, err := change.ParseOp(e.op); err != nil {
		d.passed++
		return
	}
	if d.opts.Outbox != nil && d.opts.Outbox.matches(e.src) {
		if d.addOutbox(e) {
			d.events++
		} else {
			d.passed++
		}
		return
	}
	id := tableOf(d.opts, e)
	if id.name == "" {
		d.passed++
		return
	}
	d.events++
	ti := d.info(id)
	if ti.keyNames == nil && len(e.key) > 0 {
		for _, f := range e.key {
			ti.keyNames = append(ti.keyNames, f.Name)
		}
	}
	for _, img := range []string{"after", "before"} {
		describeImage(ti, e, img)
	}
}

func (d *Describer) info(id tableID) *TableInfo {
	ti := d.infos[id]
	if ti == nil {
		ti = NewTableInfo(id.db, id.schema, id.name)
		d.infos[id] = ti
		d.order = append(d.order, ti)
	}
	return ti
}

// addOutbox describes the routed table of an outbox event: the aggregate
// id column first, then the payload's members.
func (d *Describer) addOutbox(e *envelope) bool {
	ev, err := d.opts.Outbox.read(e)
	if err != nil {
		return false
	}
	cfg := d.opts.Outbox.WithDefaults()
	ti := d.info(tableID{name: ev.aggType})
	ti.keyNames = []string{cfg.AggregateID}
	c := ti.Col(cfg.AggregateID)
	c.textKey = true
	if ev.aggSchema != nil {
		c.addSchema(ev.aggSchema)
		if c.typ == "" {
			c.typ = ev.aggSchema.typeName()
		}
	} else {
		c.Observe(ev.aggID)
	}
	if ev.hasPay {
		d.rows[ti]++
	}
	for _, f := range ev.payload {
		if f.Name != cfg.AggregateID {
			c := ti.Col(f.Name)
			c.Observe(f.Raw)
			d.seen[c]++
		}
	}
	return true
}

// Tables returns the tables described, in order of first appearance; key
// is the key of the tables whose events had no key part.
func (d *Describer) Tables(key []string) ([]*change.Table, error) {
	tables := make([]*change.Table, 0, len(d.order))
	for _, ti := range d.order {
		if rows, ok := d.rows[ti]; ok {
			for _, c := range ti.cols {
				if c.name != d.opts.Outbox.WithDefaults().AggregateID && d.seen[c] < rows {
					c.nullable = true
				}
			}
		}
		t, err := ti.Build(key)
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// describeImage records the columns of an event's before or after image.
func describeImage(ti *TableInfo, e *envelope, img string) {
	schema := e.imageSchema(img)
	if schema != nil {
		for _, fs := range schema.Fields {
			c := ti.Col(fs.Field)
			c.addSchema(fs)
			if c.typ == "" {
				c.typ = fs.typeName()
			}
			c.nullable = c.nullable || fs.Optional
		}
	}
	raw := e.after
	if img == "before" {
		raw = e.before
	}
	if raw == nil {
		return
	}
	fields, err := DecodeObject(raw)
	if err != nil {
		return
	}
	for _, f := range fields {
		c := ti.Col(f.Name)
		switch {
		case isUnavailable(f.Raw):
		case schema != nil && schema.field(f.Name) != nil:
			if IsNull(f.Raw) {
				c.nullable = true
			}
		default:
			c.Observe(f.Raw)
		}
	}
}
