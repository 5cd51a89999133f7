package bigquery

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

// How a view is written (Config.Mode).
const (
	// ModeReplace is a full refresh: the run's records are loaded into a
	// staging table, and the commit replaces the view's rows with the newest
	// record per key in one transaction.
	ModeReplace = "replace"
	// ModeUpsert appends the records to the view's change table, and the
	// commit merges the newest change per key into the view.
	ModeUpsert = "upsert"
)

// Defaults of Config.
const (
	DefaultTable              = "{view}"
	DefaultMode               = ModeReplace
	DefaultBatchRows          = 50_000
	DefaultBatchBytes         = 16 << 20
	DefaultFlushInterval      = time.Minute
	DefaultMergeInterval      = 5 * time.Minute
	DefaultTombstoneRetention = 7 * 24 * time.Hour
	DefaultMaxRejectedRows    = 100
)

// Config configures the BigQuery sink. The zero value of every field but
// Dataset means its default (see WithDefaults).
type Config struct {
	// Project is the Google Cloud project of the dataset; empty means the
	// project of the Application Default Credentials.
	Project string `yaml:"project" json:"project,omitempty"`
	// Dataset holds the view tables; it is created (in Location) when
	// missing.
	Dataset string `yaml:"dataset" json:"dataset"`
	// Location is the dataset's location ("EU", "us-central1"); empty means
	// BigQuery's default. Jobs run there.
	Location string `yaml:"location" json:"location,omitempty"`
	// Table is the table name template: "{view}" is replaced by the view's
	// name (default "{view}").
	Table string `yaml:"table" json:"table,omitempty"`
	// Mode is "replace" (default: full refresh) or "upsert" (change table
	// plus MERGE); see the package documentation.
	Mode string `yaml:"mode" json:"mode,omitempty"`
	// Endpoint overrides BigQuery's REST endpoint (an emulator such as
	// http://127.0.0.1:9050); empty means Google's. A loopback endpoint is
	// used without credentials.
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
	// BatchRows and BatchBytes bound the rows a writer buffers before it
	// loads them in one load job, sent in one request (defaults 50000 rows
	// and 16 MiB).
	BatchRows  int `yaml:"batch_rows" json:"batch_rows,omitempty"`
	BatchBytes int `yaml:"batch_bytes" json:"batch_bytes,omitempty"`
	// FlushInterval bounds how long a buffered row waits while more rows
	// arrive (default 1m). The end of a bundle always flushes. Each flush is
	// one load job: BigQuery allows 1,500 per table and day.
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval,omitempty"`
	// MergeInterval is how often a streaming pipeline merges a view's change
	// table into the view in upsert mode (default 5m).
	MergeInterval time.Duration `yaml:"merge_interval" json:"merge_interval,omitempty"`
	// TombstoneRetention is how long upsert mode keeps the tombstone of a
	// deleted key (default 7 days): it must exceed the longest delay after
	// which an update older than the delete may still arrive.
	TombstoneRetention time.Duration `yaml:"tombstone_retention" json:"tombstone_retention,omitempty"`
	// MaxRejectedRows bounds the rows one flush may dead-letter (default
	// 100): beyond it the flush fails, as a whole batch of rejected rows
	// means a table or mapping problem, not bad rows.
	MaxRejectedRows int `yaml:"max_rejected_rows" json:"max_rejected_rows,omitempty"`
	// Retry bounds the retries of throttled and failed requests.
	Retry retry.Policy `yaml:"retry" json:"retry"`
	// StorageWriteCDC writes through the Storage Write API in CDC mode
	// (UPSERT and DELETE rows ordered by _CHANGE_SEQUENCE_NUMBER, the record's
	// position) into a table with a primary key, instead of load jobs and
	// MERGE. Real BigQuery only; it implies mode upsert.
	StorageWriteCDC bool `yaml:"storage_write_cdc" json:"storage_write_cdc,omitempty"`
	// MaxStaleness is the max_staleness of tables made for StorageWriteCDC
	// (default 15m): how old the applied state a query reads may be.
	MaxStaleness time.Duration `yaml:"max_staleness" json:"max_staleness,omitempty"`
	// Infinity is what an infinite timestamp or date, which TIMESTAMP and
	// DATE cannot hold, becomes: "dead_letter" (the default), "clamp" or
	// "null" (see InfinityClamp).
	Infinity string `yaml:"infinity" json:"infinity,omitempty"`
}

// DefaultMaxStaleness is the default of Config.MaxStaleness.
const DefaultMaxStaleness = 15 * time.Minute

var (
	datasetChars = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	tableChars   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// maxTableName is BigQuery's limit on a table name, in bytes.
const maxTableName = 1024

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("bigquery sink: "+format, args...))
	}
	if c.Dataset == "" {
		bad("dataset is required")
	} else if !datasetChars.MatchString(c.Dataset) || len(c.Dataset) > 1024 {
		bad("dataset %q may hold only letters, digits and '_' (at most 1024)", c.Dataset)
	}
	tmpl := c.Table
	if tmpl == "" {
		tmpl = DefaultTable
	}
	if !tableChars.MatchString(strings.ReplaceAll(tmpl, "{view}", "v")) {
		bad("table %q may hold only letters, digits, '_', '-' and the placeholder {view}", c.Table)
	}
	switch c.Mode {
	case "", ModeReplace, ModeUpsert:
	default:
		bad("mode %q is not one of %q, %q", c.Mode, ModeReplace, ModeUpsert)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("endpoint %q is not an http(s) URL such as http://127.0.0.1:9050", c.Endpoint)
		}
		if c.Project == "" {
			bad("project is required with an endpoint (there are no credentials to take it from)")
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"batch_rows", c.BatchRows}, {"batch_bytes", c.BatchBytes}, {"max_rejected_rows", c.MaxRejectedRows}} {
		if n.v < 0 {
			bad("%s must not be negative (got %d)", n.name, n.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"flush_interval", c.FlushInterval}, {"merge_interval", c.MergeInterval},
		{"tombstone_retention", c.TombstoneRetention}, {"max_staleness", c.MaxStaleness}} {
		if d.v < 0 {
			bad("%s must not be negative (got %s)", d.name, d.v)
		}
	}
	switch c.Infinity {
	case "", InfinityDeadLetter, InfinityClamp, InfinityNull:
	default:
		bad("infinity %q is not one of %q, %q, %q", c.Infinity, InfinityDeadLetter, InfinityClamp, InfinityNull)
	}
	if c.Retry.Attempts < 0 || c.Retry.Initial < 0 || c.Retry.Max < 0 || c.Retry.Elapsed < 0 {
		bad("retry bounds must not be negative")
	}
	if c.StorageWriteCDC {
		if c.Mode == ModeReplace {
			bad("storage_write_cdc applies changes in place: it needs mode %q, not %q", ModeUpsert, ModeReplace)
		}
		if c.Endpoint != "" {
			bad("storage_write_cdc needs real BigQuery's Storage Write API: it cannot be combined with endpoint %q", c.Endpoint)
		}
	}
	return errors.Join(errs...)
}

// WithDefaults returns the configuration with every unset field set to its
// default.
func (c Config) WithDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.Mode == "" {
		c.Mode = DefaultMode
		if c.StorageWriteCDC {
			c.Mode = ModeUpsert
		}
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MergeInterval == 0 {
		c.MergeInterval = DefaultMergeInterval
	}
	if c.TombstoneRetention == 0 {
		c.TombstoneRetention = DefaultTombstoneRetention
	}
	if c.MaxRejectedRows == 0 {
		c.MaxRejectedRows = DefaultMaxRejectedRows
	}
	if c.MaxStaleness == 0 {
		c.MaxStaleness = DefaultMaxStaleness
	}
	if c.Infinity == "" {
		c.Infinity = DefaultInfinity
	}
	c.Retry = c.Retry.WithDefaults()
	return c
}

// TableName returns the name of the table that holds a view.
func (c *Config) TableName(view string) string {
	t := c.Table
	if t == "" {
		t = DefaultTable
	}
	return strings.ReplaceAll(t, "{view}", view)
}

// localEndpoint reports whether an endpoint is on this machine (an
// emulator): only there is BigQuery called without credentials.
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
