package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// The write modes of a view.
const (
	ModeReplace = "replace" // the view becomes exactly the rows of this run
	ModeUpsert  = "upsert"  // this run's records are merged into the existing view
)

// DefaultSpillRows is the number of buffered records after which a
// RunWriter spills a sorted run to disk.
const DefaultSpillRows = 200000

// The defaults of a stream's log compaction (log.go, compactor.go).
const (
	DefaultCompactInterval = 10 * time.Second // the most a view file trails its log
	DefaultCompactBytes    = 64 << 20         // log bytes that trigger a compaction at once
	DefaultCompactSegments = 32               // log segments merged into one (not into the view)
)

// DeadLetterFile is the name of the job's dead-letter file in Config.Dir.
const DeadLetterFile = "_dead_letters.jsonl"

// deadLetterName is the reserved name of the dead-letter "view" under .runs.
const deadLetterName = "_dead_letters"

// Config configures the file sink.
type Config struct {
	// Dir is the output directory; views are written to <Dir>/<view>.jsonl.
	Dir string `yaml:"dir" json:"dir"`
	// Mode is "replace" (the default: the view becomes exactly this run's
	// rows) or "upsert" (merge into the existing view file: the newest
	// position per key wins, deletes apply).
	Mode string `yaml:"mode" json:"mode"`
	// SpillRows is the number of records a writer buffers before it spills
	// a sorted run to disk (default 200000).
	SpillRows int `yaml:"spill_rows" json:"spill_rows"`

	// A stream appends each bundle to a change log and compacts the log
	// into the view file in the background: once CompactInterval (default
	// 10s) has passed since the last compaction, or at once when the log
	// holds CompactBytes (default 64 MiB). CompactSegments (default 32)
	// segments are merged into one segment in between, which costs what
	// the log holds, not what the view holds.
	CompactInterval time.Duration `yaml:"compact_interval" json:"compact_interval"`
	CompactBytes    int64         `yaml:"compact_bytes" json:"compact_bytes"`
	CompactSegments int           `yaml:"compact_segments" json:"compact_segments"`
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Dir) == "" {
		errs = append(errs, errors.New("file sink: dir is required"))
	}
	switch c.Mode {
	case "", ModeReplace, ModeUpsert:
	default:
		errs = append(errs, fmt.Errorf("file sink: mode %q is not one of %q, %q", c.Mode, ModeReplace, ModeUpsert))
	}
	if c.SpillRows < 0 {
		errs = append(errs, fmt.Errorf("file sink: spill_rows must not be negative (got %d)", c.SpillRows))
	}
	if c.CompactInterval < 0 || c.CompactBytes < 0 || c.CompactSegments < 0 {
		errs = append(errs, fmt.Errorf("file sink: compact_interval, compact_bytes and compact_segments must not be negative (got %s, %d, %d)", c.CompactInterval, c.CompactBytes, c.CompactSegments))
	}
	return errors.Join(errs...)
}

// withDefaults returns the validated configuration with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Mode == "" {
		c.Mode = ModeReplace
	}
	if c.SpillRows == 0 {
		c.SpillRows = DefaultSpillRows
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = DefaultCompactInterval
	}
	if c.CompactBytes == 0 {
		c.CompactBytes = DefaultCompactBytes
	}
	if c.CompactSegments == 0 {
		c.CompactSegments = DefaultCompactSegments
	}
	return c, nil
}

// checkView rejects view names that are not plain, visible file names.
func checkView(view string) error {
	switch {
	case view == "":
		return errors.New("file sink: empty view name")
	case view == deadLetterName:
		return fmt.Errorf("file sink: view name %q is reserved for dead letters", view)
	case strings.HasPrefix(view, "."):
		return fmt.Errorf("file sink: view name %q must not start with a dot", view)
	case strings.ContainsAny(view, "/\\\x00"):
		return fmt.Errorf("file sink: view name %q must not contain path separators or NUL", view)
	}
	return nil
}

// The layout of the output directory.
func viewPath(cfg Config, view string) string { return filepath.Join(cfg.Dir, view+".jsonl") }
func runDir(cfg Config, view string) string   { return filepath.Join(cfg.Dir, ".runs", view) }
func stateDir(cfg Config) string              { return filepath.Join(cfg.Dir, ".state") }
func versionsPath(cfg Config, view string) string {
	return filepath.Join(stateDir(cfg), view+".versions")
}
