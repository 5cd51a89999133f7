package files

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// Describe reads the files through and returns the tables their rows belong
// to: columns in order of first appearance (a Debezium schema's field order
// when events carry one), each with the kind of the values seen (see
// doc.go), and the key from the events' key part or from Config.Key.
// Lines that Read would dead-letter are passed over.
func Describe(ctx context.Context, cfg Config) ([]*change.Table, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := expand(cfg.Path)
	if err != nil {
		return nil, err
	}
	if cfg.Format == FormatJSONL {
		return describeJSONL(ctx, cfg, files)
	}
	return describeDebezium(ctx, cfg, files)
}

// jsonlTableName is the configured table name, else the first file's name
// without its extension.
func jsonlTableName(cfg Config, files []string) string {
	if cfg.Table != "" {
		return cfg.Table
	}
	base := filepath.Base(files[0])
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func describeJSONL(ctx context.Context, cfg Config, files []string) ([]*change.Table, error) {
	ti := newTableInfo("", "", jsonlTableName(cfg, files))
	seen := map[string]int64{}
	var rows int64
	err := eachLine(ctx, files, func(l *line) error {
		fields, err := decodeObject(l.text)
		if err != nil {
			return nil // dead-lettered by Read
		}
		rows++
		for _, f := range fields {
			ti.col(f.name).observe(f.raw)
			seen[f.name]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range ti.cols {
		if seen[c.name] < rows { // absent from some rows: NULL there
			c.nullable = true
		}
	}
	t, err := ti.build(cfg.Key)
	if err != nil {
		return nil, err
	}
	return []*change.Table{t}, nil
}

type tableID struct{ db, schema, name string }

// tableOf returns the table an event belongs to: the configured table, else
// its source's db, schema and table.
func tableOf(cfg Config, e *envelope) tableID {
	if cfg.Table != "" {
		return tableID{name: cfg.Table}
	}
	return tableID{e.src.db, e.src.schema, e.src.table}
}

func describeDebezium(ctx context.Context, cfg Config, files []string) ([]*change.Table, error) {
	var order []*tableInfo
	infos := map[tableID]*tableInfo{}
	cache := schemaCache{}
	err := eachLine(ctx, files, func(l *line) error {
		e, err := parseEnvelope(l.text, cache)
		if err != nil || e.tombstone {
			return nil
		}
		if _, err := change.ParseOp(e.op); err != nil {
			return nil
		}
		id := tableOf(cfg, e)
		if id.name == "" {
			return nil
		}
		ti := infos[id]
		if ti == nil {
			ti = newTableInfo(id.db, id.schema, id.name)
			infos[id] = ti
			order = append(order, ti)
		}
		if ti.keyNames == nil && len(e.key) > 0 {
			for _, f := range e.key {
				ti.keyNames = append(ti.keyNames, f.name)
			}
		}
		for _, img := range []string{"after", "before"} {
			describeImage(ti, e, img)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tables := make([]*change.Table, 0, len(order))
	for _, ti := range order {
		t, err := ti.build(cfg.Key)
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// describeImage records the columns of an event's before or after image.
func describeImage(ti *tableInfo, e *envelope, img string) {
	schema := e.imageSchema(img)
	if schema != nil {
		for _, fs := range schema.Fields {
			c := ti.col(fs.Field)
			c.addKind(fs.kind())
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
	fields, err := decodeObject(raw)
	if err != nil {
		return
	}
	for _, f := range fields {
		c := ti.col(f.name)
		switch {
		case isUnavailable(f.raw):
		case schema != nil && schema.field(f.name) != nil:
			if isNull(f.raw) {
				c.nullable = true
			}
		default:
			c.observe(f.raw)
		}
	}
}
