package kafka

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
)

// Defaults of Config.
const (
	DefaultSample    = 1000
	DefaultBatchSize = 1024
	DefaultTimeout   = 10 * time.Second
	StartEarliest    = "earliest"
	StartLatest      = "latest"
)

// Config configures the Kafka source: Debezium JSON change events on Kafka
// topics, read by a consumer group.
type Config struct {
	// Brokers are the seed brokers, "host:port".
	Brokers []string `yaml:"brokers" json:"brokers"`
	// Topics are the topics to read.
	Topics []string `yaml:"topics" json:"topics"`
	// Group is the consumer group whose offsets the stream commits once the
	// sinks wrote (required; the pipeline passes "beamsync-<job>").
	Group string `yaml:"group" json:"group"`
	// Start is where a group with no committed offset for a partition
	// starts: "earliest" (the default) or "latest".
	Start string `yaml:"start" json:"start,omitempty"`
	// Truncate is what a truncate event (op t) of a captured table does:
	// debezium.TruncateFail (the default: Next fails, naming the table) or
	// debezium.TruncateIgnore (counted, logged, skipped). A job sets it
	// with source.stream.truncate.
	Truncate string `yaml:"-" json:"truncate,omitempty"`
	// Tables, when set, declares the tables (else Describe samples the
	// topics).
	Tables []TableSpec `yaml:"tables" json:"tables,omitempty"`
	// Sample is the number of messages per partition Describe reads to
	// infer the tables (default 1000).
	Sample int `yaml:"sample" json:"sample,omitempty"`
	// Outbox, when set, says the topics carry the change events of a
	// transactional-outbox table, routed to the aggregates' tables.
	Outbox *debezium.Outbox `yaml:"outbox" json:"outbox,omitempty"`
	// BatchSize is the most changes per change.Batch (default 1024).
	BatchSize int `yaml:"batch_size" json:"batch_size,omitempty"`
	// Timeout bounds the wait for the brokers: dialing, and the requests
	// of Describe and of opening a stream (default 10s).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// TableSpec declares a table of the topics.
type TableSpec struct {
	// Name is "db.table", "schema.table" (matched against the events'
	// source.db/source.schema and source.table) or, for an outbox's
	// routed tables, the aggregate type.
	Name string `yaml:"name" json:"name"`
	// Key names the primary-key columns, in order.
	Key []string `yaml:"key" json:"key"`
	// Columns maps column names to kinds ("int", "string", "decimal",
	// "timestamp", "json", "any", ...; see change.Kind). The table's
	// columns are the key columns in key order, then the others by name.
	Columns map[string]string `yaml:"columns" json:"columns"`
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("kafka source: "+format, args...)) }
	if len(c.Brokers) == 0 {
		add("brokers is required (host:port of at least one broker)")
	}
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			add("brokers[%d] is empty", i)
		}
	}
	if len(c.Topics) == 0 {
		add("topics is required (the topics Debezium writes the change events to)")
	}
	seen := map[string]bool{}
	for i, t := range c.Topics {
		switch {
		case strings.TrimSpace(t) == "":
			add("topics[%d] is empty", i)
		case strings.ContainsAny(t, ":@,/ "):
			add("topic %q: a Kafka topic name holds only letters, digits, '.', '_' and '-'", t)
		case seen[t]:
			add("topic %q is listed twice", t)
		}
		seen[t] = true
	}
	if strings.TrimSpace(c.Group) == "" {
		add("group is required (the consumer group whose offsets the stream commits)")
	}
	switch c.Start {
	case "", StartEarliest, StartLatest:
	default:
		add("start %q is not %q or %q", c.Start, StartEarliest, StartLatest)
	}
	if c.Sample < 0 {
		add("sample must not be negative (got %d)", c.Sample)
	}
	if c.BatchSize < 0 {
		add("batch_size must not be negative (got %d)", c.BatchSize)
	}
	if c.Timeout < 0 {
		add("timeout must not be negative (got %s)", c.Timeout)
	}
	if err := debezium.ValidateTruncate(c.Truncate); err != nil {
		errs = append(errs, fmt.Errorf("kafka source: %w", err))
	}
	if c.Outbox != nil {
		if err := c.Outbox.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("kafka source: %w", err))
		}
	}
	names := map[string]bool{}
	for i, t := range c.Tables {
		if _, err := t.table(c.Outbox != nil); err != nil {
			errs = append(errs, fmt.Errorf("kafka source: tables[%d]: %w", i, err))
		}
		if names[t.Name] {
			add("tables[%d]: table %q is declared twice", i, t.Name)
		}
		names[t.Name] = true
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Start == "" {
		c.Start = StartEarliest
	}
	if c.Sample == 0 {
		c.Sample = DefaultSample
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// options are the decoder options: a stream drops columns added after the
// tables were described, and takes the key from the row image when the
// message key lacks the (declared) key columns.
func (c Config) options() debezium.Options {
	return debezium.Options{Outbox: c.Outbox, IgnoreUnknownColumns: true, KeyFromImage: true}
}

// table builds the declared table.
func (t TableSpec) table(outbox bool) (*change.Table, error) {
	var errs []error
	tb := &change.Table{EstimatedRows: -1}
	parts := strings.Split(t.Name, ".")
	switch {
	case strings.TrimSpace(t.Name) == "":
		errs = append(errs, errors.New("name is required"))
	case outbox:
		tb.Name = t.Name // an aggregate type, dots included
	case len(parts) == 1:
		tb.Name = parts[0]
	case len(parts) == 2:
		tb.Schema, tb.Name = parts[0], parts[1]
	case len(parts) == 3:
		tb.Database, tb.Schema, tb.Name = parts[0], parts[1], parts[2]
	default:
		errs = append(errs, fmt.Errorf("name %q: want table, schema.table or db.table", t.Name))
	}
	if len(t.Columns) == 0 {
		errs = append(errs, fmt.Errorf("table %q: columns is required (column name: kind)", t.Name))
	}
	if len(t.Key) == 0 {
		errs = append(errs, fmt.Errorf("table %q: key is required", t.Name))
	}
	if outbox && len(t.Key) > 1 {
		errs = append(errs, fmt.Errorf("table %q: an outbox's table is keyed by the aggregate id alone: give one key column", t.Name))
	}
	addCol := func(name string) {
		if strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("table %q: a column has an empty name", t.Name))
		}
		k, ok := change.ParseKind(t.Columns[name])
		if !ok {
			errs = append(errs, fmt.Errorf("table %q: column %q: unknown kind %q (want one of any, bool, int, float, decimal, string, bytes, timestamp, date, time, interval, json, array, object)", t.Name, name, t.Columns[name]))
		}
		tb.Columns = append(tb.Columns, change.Column{Name: name, Type: k.String(), Kind: k, Nullable: true})
	}
	for _, k := range t.Key {
		if _, ok := t.Columns[k]; !ok {
			errs = append(errs, fmt.Errorf("table %q: key column %q is not among its columns", t.Name, k))
			continue
		}
		if tb.ColumnIndex(k) >= 0 {
			errs = append(errs, fmt.Errorf("table %q: key names column %q twice", t.Name, k))
			continue
		}
		tb.Key = append(tb.Key, len(tb.Columns))
		addCol(k)
		tb.Columns[len(tb.Columns)-1].Nullable = false
	}
	rest := make([]string, 0, len(t.Columns))
	for name := range t.Columns {
		if tb.ColumnIndex(name) < 0 {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		addCol(name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tb, nil
}
