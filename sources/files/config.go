package files

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beamsync/beamsync/sources/debezium"
)

// The file formats.
const (
	FormatJSONL    = "jsonl"    // each line a row object (a snapshot: op r)
	FormatDebezium = "debezium" // each line a Debezium JSON change event
)

// DefaultBatchSize is the number of changes per change.Batch.
const DefaultBatchSize = 1024

// Config configures the files source.
type Config struct {
	// Path is a file or a glob (filepath.Match syntax); files are read in
	// sorted order.
	Path string `yaml:"path" json:"path"`
	// Format is "jsonl" (the default) or "debezium".
	Format string `yaml:"format" json:"format"`
	// Table is the name of the table the rows belong to. jsonl: defaults to
	// the first file's name without its extension. debezium: overrides the
	// events' source.schema/source.table (all events then belong to it).
	Table string `yaml:"table" json:"table"`
	// Key holds the primary-key column names. jsonl: required. debezium:
	// used when an event has no key part.
	Key []string `yaml:"key" json:"key"`
	// BatchSize is the number of changes per change.Batch (default 1024).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Outbox, with format debezium, routes the events of a transactional
	// outbox table to the tables of their aggregate types (see
	// debezium.Outbox).
	Outbox *debezium.Outbox `yaml:"outbox" json:"outbox,omitempty"`
	// Truncate, with format debezium, is what a truncate event (op t) of a
	// table does: debezium.TruncateFail (the default: Read fails, naming
	// the table) or debezium.TruncateIgnore (counted, logged, skipped).
	Truncate string `yaml:"truncate" json:"truncate,omitempty"`
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Path) == "" {
		errs = append(errs, errors.New("files source: path is required"))
	}
	if c.Outbox != nil && c.Format != FormatDebezium {
		errs = append(errs, errors.New("files source: outbox needs format debezium"))
	}
	if err := debezium.ValidateTruncate(c.Truncate); err != nil {
		errs = append(errs, fmt.Errorf("files source: %w", err))
	}
	switch c.Format {
	case "", FormatJSONL:
		if len(c.Key) == 0 {
			errs = append(errs, errors.New("files source: key is required for format jsonl"))
		}
	case FormatDebezium:
		if c.Outbox != nil {
			if c.Table != "" {
				errs = append(errs, errors.New("files source: table and outbox exclude each other: an outbox routes its events to the tables of their aggregate types (name the outbox table in outbox.table)"))
			}
			if err := c.Outbox.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("files source: %w", err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("files source: format %q is not one of %q, %q", c.Format, FormatJSONL, FormatDebezium))
	}
	seen := map[string]bool{}
	for _, k := range c.Key {
		switch {
		case k == "":
			errs = append(errs, errors.New("files source: key has an empty column name"))
		case seen[k]:
			errs = append(errs, fmt.Errorf("files source: key names column %q twice", k))
		}
		seen[k] = true
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("files source: batch_size must not be negative (got %d)", c.BatchSize))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Format == "" {
		c.Format = FormatJSONL
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	return c, nil
}
