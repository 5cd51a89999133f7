package postgres

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults applied by WithDefaults to zero fields.
const (
	DefaultChunkSize   = 10000
	DefaultParallelism = 4
	DefaultBatchSize   = 1024
)

// Upper limits Validate enforces.
const (
	maxParallelism = 128
	maxBatchSize   = 1 << 20
)

// Config selects the tables to read and tunes the snapshot.
type Config struct {
	// Tables are "schema.table" or "table" (schema public). Unquoted names
	// fold to lower case as in SQL; quoted identifiers keep their spelling:
	// "\"My Schema\".\"Odd Table\"" (a doubled quote inside stands for one).
	Tables []string `yaml:"tables" json:"tables"`
	// ChunkSize is the number of rows per primary-key range (default 10000).
	// Batches are emitted in chunk order as far as Parallelism × 16384 rows
	// waiting for an earlier chunk allow (see package doc, step 5): much
	// larger chunks read in parallel give that order up.
	ChunkSize int `yaml:"chunk_size" json:"chunk_size"`
	// Parallelism is the number of concurrent reader connections (default 4).
	Parallelism int `yaml:"parallelism" json:"parallelism"`
	// BatchSize is the number of rows per emitted change.Batch (default 1024).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// AllowNoPrimaryKey reads a table without a primary key as a single
	// chunk instead of refusing it.
	AllowNoPrimaryKey bool `yaml:"allow_no_primary_key" json:"allow_no_primary_key"`
	// Cursor, when set, reads only the rows changed since a watermark
	// (incremental batch; see Cursor).
	Cursor *Cursor `yaml:"-" json:"cursor,omitempty"`

	// slotSnapshot, when set, is the snapshot a replication slot exported:
	// the snapshot imports it instead of exporting its own.
	slotSnapshot *exportedSnapshot

	// onExported, when set, is called once the snapshot is exported and
	// before any reader imports it (a test hook).
	onExported func()
	// onChunk, when set, is called from the planner for every chunk planned
	// (a test hook).
	onChunk func(table string, lower, upper []string)
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
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

// Validate reports every problem of the configuration at once. Zero numeric
// fields are valid: they stand for the defaults.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Tables) == 0 {
		errs = append(errs, errors.New("tables: list at least one table to read"))
	}
	seen := make(map[tableName]int, len(c.Tables))
	for i, s := range c.Tables {
		tn, err := parseTableName(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("tables[%d]: %w", i, err))
			continue
		}
		if j, dup := seen[tn]; dup {
			errs = append(errs, fmt.Errorf("tables[%d]: %s is listed twice (also tables[%d])", i, tn, j))
			continue
		}
		seen[tn] = i
	}
	errs = append(errs, c.validateTuning()...)
	return errors.Join(errs...)
}

func (c *Config) validateTuning() []error {
	var errs []error
	if c.ChunkSize < 0 {
		errs = append(errs, fmt.Errorf("chunk_size: must be a positive number of rows, got %d", c.ChunkSize))
	}
	if c.Parallelism < 0 || c.Parallelism > maxParallelism {
		errs = append(errs, fmt.Errorf("parallelism: must be between 1 and %d connections, got %d", maxParallelism, c.Parallelism))
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		errs = append(errs, fmt.Errorf("batch_size: must be between 1 and %d rows, got %d", maxBatchSize, c.BatchSize))
	}
	return errs
}

// tableName is a parsed table reference: the exact schema and table names
// as the catalog spells them.
type tableName struct{ Schema, Name string }

// String renders the name as SQL would need it: each part bare when it is a
// plain lower-case identifier, quoted otherwise.
func (t tableName) String() string { return quoteIfNeeded(t.Schema) + "." + quoteIfNeeded(t.Name) }

func quoteIfNeeded(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && i > 0 || r == '$' && i > 0 || r >= utf8.RuneSelf && unicode.IsLetter(r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// parseTableName parses "schema.table" or "table" with SQL identifier rules:
// unquoted parts fold to lower case, quoted parts are taken literally.
func parseTableName(s string) (tableName, error) {
	parts, err := parseIdentifiers(s)
	if err != nil {
		return tableName{}, err
	}
	switch len(parts) {
	case 1:
		return tableName{Schema: "public", Name: parts[0]}, nil
	case 2:
		return tableName{Schema: parts[0], Name: parts[1]}, nil
	}
	return tableName{}, fmt.Errorf("%q: want \"table\" or \"schema.table\", got %d dotted parts (quote a name that contains a dot)", s, len(parts))
}

func parseIdentifiers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty table name")
	}
	var parts []string
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			return nil, fmt.Errorf("%q: a name is missing after the last dot", s)
		}
		var part string
		if s[i] == '"' {
			var b strings.Builder
			i++
			for {
				if i == len(s) {
					return nil, fmt.Errorf("%q: unterminated quoted identifier (close it with a double quote)", s)
				}
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			part = b.String()
			if part == "" {
				return nil, fmt.Errorf("%q: empty quoted identifier", s)
			}
		} else {
			start := i
			for i < len(s) && s[i] != '.' && s[i] != ' ' && s[i] != '"' {
				i++
			}
			part = s[start:i]
			if part == "" {
				return nil, fmt.Errorf("%q: empty name part", s)
			}
			if err := checkBareIdentifier(part); err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
			part = foldASCII(part)
		}
		parts = append(parts, part)
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			return parts, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("%q: unexpected %q at byte %d (quote names that contain spaces or punctuation: \"\\\"My Table\\\"\")", s, s[i], i)
		}
		i++
	}
}

// checkBareIdentifier accepts what SQL accepts as an unquoted identifier.
func checkBareIdentifier(s string) error {
	for i, r := range s {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r))
		if i > 0 {
			ok = ok || r >= '0' && r <= '9' || r == '$'
		}
		if !ok {
			return fmt.Errorf("%q is not a valid unquoted identifier (write it in double quotes to use it as is)", s)
		}
	}
	return nil
}

// foldASCII lower-cases ASCII letters only, as PostgreSQL does for unquoted
// identifiers in a UTF-8 database.
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// exportedSnapshot names a snapshot exported by CREATE_REPLICATION_SLOT and
// the slot's consistent point.
type exportedSnapshot struct{ name, lsn string }
