package dynamodb

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/beamsync/beamsync/internal/retry"
)

// How deletes are applied (Config.Deletes).
const (
	DeletesTombstone = "tombstone" // replace the item by a versioned tombstone (the default)
	DeletesHard      = "hard"      // remove the item with a conditional DeleteItem
)

// When BatchWriteItem may be used (Config.FirstLoad).
const (
	FirstLoadAuto  = "auto"  // on the first load of an empty table (the default)
	FirstLoadNever = "never" // always conditional writes
)

// Defaults of Config.
const (
	DefaultTable            = "{view}"
	DefaultBatchRows        = 25 // DynamoDB's BatchWriteItem limit
	DefaultFlushRows        = 1000
	DefaultFlushBytes       = 8 << 20
	DefaultConcurrency      = 16
	DefaultFlushInterval    = time.Second
	DefaultVersionAttribute = "_version"
	DefaultTombstoneTTL     = 7 * 24 * time.Hour
	DefaultRegion           = "us-east-1" // for local endpoints only
)

// The attributes the sink writes besides the view's fields.
const (
	// DeletedAttribute is true on a tombstone.
	DeletedAttribute = "_deleted"
	// ExpiresAttribute holds a tombstone's expiry in Unix seconds: the
	// table's TTL attribute.
	ExpiresAttribute = "_expires_at"
	// CompositeKeyAttribute is the partition key of a view whose key has
	// more than two fields: change.KeyString of the key.
	CompositeKeyAttribute = "_key"
)

// Config configures the DynamoDB sink. The zero value of every field means
// its default (see WithDefaults).
type Config struct {
	// Table is the table name template: "{view}" is replaced by the view's
	// name (default "{view}"). TablePrefix is put in front of it, e.g.
	// "reporting_".
	Table       string `yaml:"table" json:"table,omitempty"`
	TablePrefix string `yaml:"table_prefix" json:"table_prefix,omitempty"`
	// Endpoint overrides the DynamoDB endpoint (dynalite, DynamoDB Local, a
	// VPC endpoint); empty means AWS's endpoint for the region.
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
	// Region is the AWS region; empty means the default chain's (AWS_REGION,
	// the shared config), or us-east-1 for a local endpoint.
	Region string `yaml:"region" json:"region,omitempty"`
	// CreateTables creates missing tables (on-demand billing, key schema
	// from the view key, TTL on _expires_at). Default true.
	CreateTables *bool `yaml:"create_tables" json:"create_tables,omitempty"`
	// BatchRows is the number of items per BatchWriteItem request on a first
	// load (default and maximum 25).
	BatchRows int `yaml:"batch_rows" json:"batch_rows,omitempty"`
	// FlushRows and FlushBytes bound the records a writer buffers before it
	// writes them (defaults 1000 and 8 MiB).
	FlushRows  int `yaml:"flush_rows" json:"flush_rows,omitempty"`
	FlushBytes int `yaml:"flush_bytes" json:"flush_bytes,omitempty"`
	// Concurrency is the number of writes in flight: conditional writes, or
	// BatchWriteItem requests on a first load (default 16).
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// FlushInterval bounds how long a buffered record waits while more
	// records arrive (default 1s). The end of a bundle always flushes.
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval,omitempty"`
	// Retry bounds the retries of throttled and failed writes.
	Retry retry.Policy `yaml:"retry" json:"retry"`
	// VersionAttribute holds the record's position, the guard of every write
	// (default "_version").
	VersionAttribute string `yaml:"version_attribute" json:"version_attribute,omitempty"`
	// Deletes is "tombstone" (default) or "hard"; see the package comment.
	Deletes string `yaml:"deletes" json:"deletes,omitempty"`
	// TombstoneTTL is how long a tombstone is kept (default 7 days): it must
	// exceed the longest delay after which an older update may still arrive.
	TombstoneTTL time.Duration `yaml:"tombstone_ttl" json:"tombstone_ttl,omitempty"`
	// FirstLoad is "auto" (default: BatchWriteItem while first loading an
	// empty table, see the package comment) or "never".
	FirstLoad string `yaml:"first_load" json:"first_load,omitempty"`
}

// tableChars is what DynamoDB allows in a table name.
var tableChars = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// reservedAttributes may not be chosen as the version attribute.
var reservedAttributes = []string{DeletedAttribute, ExpiresAttribute, CompositeKeyAttribute}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("dynamodb sink: "+format, args...))
	}
	tmpl := c.Table
	if tmpl == "" {
		tmpl = DefaultTable
	}
	if rest := strings.ReplaceAll(c.TablePrefix+tmpl, "{view}", "v"); !tableChars.MatchString(rest) {
		bad("table %q with table_prefix %q: a table name may hold only letters, digits, '_', '-', '.' and the placeholder {view}", c.Table, c.TablePrefix)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("endpoint %q is not an http(s) URL such as http://127.0.0.1:4567", c.Endpoint)
		}
	}
	if c.BatchRows < 0 || c.BatchRows > DefaultBatchRows {
		bad("batch_rows must be between 1 and 25 (got %d)", c.BatchRows)
	}
	if c.FlushRows < 0 {
		bad("flush_rows must not be negative (got %d)", c.FlushRows)
	}
	if c.FlushBytes < 0 {
		bad("flush_bytes must not be negative (got %d)", c.FlushBytes)
	}
	if c.Concurrency < 0 || c.Concurrency > 1024 {
		bad("concurrency must be between 1 and 1024 (got %d)", c.Concurrency)
	}
	if c.FlushInterval < 0 {
		bad("flush_interval must not be negative (got %s)", c.FlushInterval)
	}
	if c.Retry.Attempts < 0 || c.Retry.Initial < 0 || c.Retry.Max < 0 || c.Retry.Elapsed < 0 {
		bad("retry bounds must not be negative")
	}
	for _, r := range reservedAttributes {
		if c.VersionAttribute == r {
			bad("version_attribute %q is reserved for the sink's own use", r)
		}
	}
	switch c.Deletes {
	case "", DeletesTombstone, DeletesHard:
	default:
		bad("deletes %q is not one of %q, %q", c.Deletes, DeletesTombstone, DeletesHard)
	}
	if c.TombstoneTTL < 0 {
		bad("tombstone_ttl must not be negative (got %s)", c.TombstoneTTL)
	}
	switch c.FirstLoad {
	case "", FirstLoadAuto, FirstLoadNever:
	default:
		bad("first_load %q is not one of %q, %q", c.FirstLoad, FirstLoadAuto, FirstLoadNever)
	}
	return errors.Join(errs...)
}

// WithDefaults returns the configuration with every unset field set to its
// default.
func (c Config) WithDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.CreateTables == nil {
		t := true
		c.CreateTables = &t
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.FlushRows == 0 {
		c.FlushRows = DefaultFlushRows
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = DefaultFlushBytes
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	c.Retry = c.Retry.WithDefaults()
	if c.VersionAttribute == "" {
		c.VersionAttribute = DefaultVersionAttribute
	}
	if c.Deletes == "" {
		c.Deletes = DeletesTombstone
	}
	if c.TombstoneTTL == 0 {
		c.TombstoneTTL = DefaultTombstoneTTL
	}
	if c.FirstLoad == "" {
		c.FirstLoad = FirstLoadAuto
	}
	return c
}

// TableName returns the name of the table that holds a view.
func (c *Config) TableName(view string) string {
	t := c.Table
	if t == "" {
		t = DefaultTable
	}
	return c.TablePrefix + strings.ReplaceAll(t, "{view}", view)
}

// checkTableName reports a table name DynamoDB would refuse.
func checkTableName(name string) error {
	if len(name) < 3 || len(name) > 255 || !tableChars.MatchString(name) {
		return fmt.Errorf("dynamodb sink: table name %q is not valid (3 to 255 letters, digits, '_', '-', '.')", name)
	}
	return nil
}

// localEndpoint reports whether an endpoint is on this machine (dynalite,
// DynamoDB Local): only there are dummy credentials used.
func localEndpoint(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
