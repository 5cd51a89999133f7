package files

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
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
	ti := debezium.NewTableInfo("", "", jsonlTableName(cfg, files))
	seen := map[string]int64{}
	var rows int64
	err := eachLine(ctx, files, func(l *line) error {
		fields, err := debezium.DecodeObject(l.text)
		if err != nil {
			return nil // dead-lettered by Read
		}
		rows++
		for _, f := range fields {
			ti.Col(f.Name).Observe(f.Raw)
			seen[f.Name]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range ti.Columns() {
		if seen[c.Name()] < rows { // absent from some rows: NULL there
			c.SetNullable()
		}
	}
	t, err := ti.Build(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("files source: %w", err)
	}
	return []*change.Table{t}, nil
}

// options are the decoder options of a configuration.
func (c Config) options() debezium.Options {
	return debezium.Options{Table: c.Table, Outbox: c.Outbox}
}

func describeDebezium(ctx context.Context, cfg Config, files []string) ([]*change.Table, error) {
	d := debezium.NewDescriber(cfg.options())
	err := eachLine(ctx, files, func(l *line) error {
		d.AddLine(l.text)
		return nil
	})
	if err != nil {
		return nil, err
	}
	tables, err := d.Tables(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("files source: %w", err)
	}
	return tables, nil
}
