package mysql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// Defaults of Config.
const (
	DefaultChunkSize   = 100000
	DefaultParallelism = 4
	DefaultBatchSize   = 1024

	maxParallelism = 256
)

// Policies of Config.ZeroDates: what becomes of a zero or invalid date
// ("0000-00-00", "2024-00-15", "2024-02-31", "0000-00-00 00:00:00"), which
// MySQL stores where sql_mode allows it.
const (
	// ZeroDatesKeep (the default) keeps the value as the server shows it:
	// a DATE as change.Date of its text, a DATETIME or TIMESTAMP as a
	// string of its text.
	ZeroDatesKeep = "keep"
	// ZeroDatesNull makes the value null (counted per table).
	ZeroDatesNull = "null"
	// ZeroDatesDeadLetter sends the row to the dead letters (stage decode).
	ZeroDatesDeadLetter = "dead_letter"
)

// Config configures Describe and Snapshot.
type Config struct {
	// Tables names the captured tables, as "db.table" or "table" (in the
	// DSN's database). A part holding a dot is written in backquotes:
	// "`my.db`.`odd.name`".
	Tables []string `yaml:"tables" json:"tables"`
	// ChunkSize is the number of rows per primary-key range (default 100000).
	ChunkSize int `yaml:"chunk_size" json:"chunk_size"`
	// Parallelism is the number of concurrent reader connections (default 4).
	Parallelism int `yaml:"parallelism" json:"parallelism"`
	// BatchSize is the number of rows per emitted change.Batch (default 1024).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// AllowNoPrimaryKey lets tables without a primary key be captured; they
	// are read as one unchunked range.
	AllowNoPrimaryKey bool `yaml:"allow_no_primary_key" json:"allow_no_primary_key"`
	// ZeroDates says what becomes of zero and invalid dates: keep
	// (default), null or dead_letter (see ZeroDatesKeep).
	ZeroDates string `yaml:"zero_dates" json:"zero_dates,omitempty"`
	// Cursor, when set, reads only the rows changed since a watermark
	// (incremental batch; see Cursor).
	Cursor *Cursor `yaml:"-" json:"cursor,omitempty"`

	// OnSnapshot, when set, is called by Snapshot on its calling goroutine
	// right after the consistent point is established and the tables are
	// unlocked, before any row is read. It is a test hook.
	OnSnapshot func() `yaml:"-" json:"-"`
	// OnDeadLetter receives the rows Snapshot sends to the dead letters
	// (ZeroDates dead_letter), on Snapshot's calling goroutine, like emit;
	// Snapshot refuses ZeroDates dead_letter without it.
	OnDeadLetter func(change.DeadLetter) error `yaml:"-" json:"-"`
}

// Validate checks the configuration. Zero sizes mean the defaults.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Tables) == 0 {
		errs = append(errs, errors.New("tables: list at least one table to capture"))
	}
	seen := map[tableRef]string{}
	for _, s := range c.Tables {
		r, err := parseTableName(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("tables: %w", err))
			continue
		}
		if prev, dup := seen[r]; dup {
			errs = append(errs, fmt.Errorf("tables: %q is listed twice (also as %q)", s, prev))
		}
		seen[r] = s
	}
	if c.ChunkSize < 0 {
		errs = append(errs, fmt.Errorf("chunk_size: %d is negative (0 means the default, %d)", c.ChunkSize, DefaultChunkSize))
	}
	if c.Parallelism < 0 || c.Parallelism > maxParallelism {
		errs = append(errs, fmt.Errorf("parallelism: %d is out of range 1..%d (0 means the default, %d)", c.Parallelism, maxParallelism, DefaultParallelism))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch_size: %d is negative (0 means the default, %d)", c.BatchSize, DefaultBatchSize))
	}
	if err := validateZeroDates(c.ZeroDates); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("mysql source config: %w", errors.Join(errs...))
	}
	return nil
}

// validateZeroDates checks a ZeroDates policy ("" is the default, keep).
func validateZeroDates(p string) error {
	switch p {
	case "", ZeroDatesKeep, ZeroDatesNull, ZeroDatesDeadLetter:
		return nil
	}
	return fmt.Errorf("zero_dates: %q is not a policy: use keep (the default: the value as the server shows it), null, or dead_letter", p)
}

// WithDefaults returns c with zero sizes replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.Parallelism == 0 {
		c.Parallelism = DefaultParallelism
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	return c
}

// tableRef is a parsed table name; db is empty for "the DSN's database".
type tableRef struct{ db, name string }

func (r tableRef) String() string {
	if r.db == "" {
		return r.name
	}
	return r.db + "." + r.name
}

// parseTableName parses "table", "db.table", or either with backquoted
// parts ("`a.b`.`c`", backquotes inside doubled). An unquoted part runs to
// the first dot; a part may hold spaces or (unquoted, not first) backquotes.
func parseTableName(s string) (tableRef, error) {
	var parts []string
	rest := s
	for {
		var part string
		if strings.HasPrefix(rest, "`") {
			var b strings.Builder
			i := 1
			closed := false
			for i < len(rest) {
				if rest[i] == '`' {
					if i+1 < len(rest) && rest[i+1] == '`' {
						b.WriteByte('`')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(rest[i])
				i++
			}
			if !closed {
				return tableRef{}, fmt.Errorf("table name %q: unterminated backquote", s)
			}
			part, rest = b.String(), rest[i:]
			if rest != "" && rest[0] != '.' {
				return tableRef{}, fmt.Errorf("table name %q: expected a dot after a backquoted name", s)
			}
		} else {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				i = len(rest)
			}
			part, rest = rest[:i], rest[i:]
		}
		if part == "" {
			return tableRef{}, fmt.Errorf("table name %q: empty name (write \"table\" or \"db.table\")", s)
		}
		parts = append(parts, part)
		if rest == "" {
			break
		}
		rest = rest[1:] // the dot
		if rest == "" {
			return tableRef{}, fmt.Errorf("table name %q: empty name after the dot", s)
		}
	}
	switch len(parts) {
	case 1:
		return tableRef{name: parts[0]}, nil
	case 2:
		return tableRef{db: parts[0], name: parts[1]}, nil
	}
	return tableRef{}, fmt.Errorf("table name %q: too many dots (write \"table\" or \"db.table\"; backquote a name holding a dot)", s)
}
