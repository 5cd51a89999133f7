package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// The write modes of a view.
const (
	ModeReplace = "replace" // the view becomes exactly the rows of this run
	ModeUpsert  = "upsert"  // this run's records are merged into the existing view
)

// DefaultSpillRows is the number of buffered records after which a
// RunWriter spills a sorted run to disk.
const DefaultSpillRows = 200000

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
