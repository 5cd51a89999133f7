package change

import (
	"fmt"
	"strconv"
	"time"
)

// Op is the kind of a change, using Debezium's letters.
type Op byte

// The operations of a change.
const (
	OpRead   Op = 'r' // a row read by a snapshot
	OpCreate Op = 'c' // an insert
	OpUpdate Op = 'u' // an update
	OpDelete Op = 'd' // a delete
)

// String returns the op's letter.
func (o Op) String() string { return string(rune(o)) }

// Valid reports whether o is one of the four known ops.
func (o Op) Valid() bool { return o == OpRead || o == OpCreate || o == OpUpdate || o == OpDelete }

// ParseOp parses a Debezium op letter.
func ParseOp(s string) (Op, error) {
	if len(s) == 1 && Op(s[0]).Valid() {
		return Op(s[0]), nil
	}
	return 0, fmt.Errorf("unknown op %q (want r, c, u or d)", s)
}

// Position orders the changes of one source. It serves as the version of a
// row: for any one key, a later commit has a greater position. Each source
// documents how it builds positions from its native coordinates (LSN, binlog
// file and offset, Kafka offset, snapshot watermark).
type Position uint64

// String renders the position as a decimal number.
func (p Position) String() string { return strconv.FormatUint(uint64(p), 10) }

// Column describes one column of a source table.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // the database's type name, e.g. "numeric(38,10)"
	Kind     Kind   `json:"kind"` // the value kind this column decodes to
	Nullable bool   `json:"nullable"`
	// Generated is the expression of a column the database computes from
	// the row's other columns (PostgreSQL's GENERATED ALWAYS AS (...)
	// STORED), empty for other columns.
	Generated string `json:"generated,omitempty"`
}

// Table is the schema of a captured table as the source knows it.
type Table struct {
	// Source names the job's source the table belongs to, in a job with
	// several sources (empty otherwise).
	Source   string   `json:"source,omitempty"`
	Database string   `json:"database,omitempty"`
	Schema   string   `json:"schema,omitempty"`
	Name     string   `json:"name"`
	Columns  []Column `json:"columns"`
	// Key holds the indexes into Columns of the primary key, in key order.
	// Empty for a table without a primary key.
	Key []int `json:"key,omitempty"`
	// EstimatedRows is the database's estimate of the row count (for
	// progress and ETA), or -1 when unknown.
	EstimatedRows int64 `json:"estimated_rows,omitempty"`
}

// QualifiedName is "schema.table" (or "database.table" where the source has no
// schemas, or just the name).
func (t *Table) QualifiedName() string {
	switch {
	case t.Schema != "":
		return t.Schema + "." + t.Name
	case t.Database != "":
		return t.Database + "." + t.Name
	}
	return t.Name
}

// ID names the table across a job's sources: its qualified name, after its
// source's name in a job with several sources.
func (t *Table) ID() string {
	if t.Source != "" {
		return t.Source + "." + t.QualifiedName()
	}
	return t.QualifiedName()
}

// ColumnIndex returns the index of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// KeyNames returns the names of the primary-key columns.
func (t *Table) KeyNames() []string {
	names := make([]string, len(t.Key))
	for i, k := range t.Key {
		names[i] = t.Columns[k].Name
	}
	return names
}

// Change is one row event of one table.
type Change struct {
	Op Op
	// Key holds the primary-key values in key order (Table.Key).
	Key []any
	// Before is the row image before the change (updates and deletes; may
	// hold only the key columns when the source has no full before image:
	// absent columns are Unchanged). After is the image after (reads,
	// creates, updates). Both are aligned with Table.Columns.
	Before, After []any
	// CommitTime is the source's commit time of the change (UTC); for a
	// snapshot row, the time of the snapshot.
	CommitTime time.Time
	// Position is the version of this change (see Position).
	Position Position
	// SourcePos is the source's native coordinate of the change, for
	// humans: "0/16B3748", "binlog.000003:1234", "orders-2@17", "file.jsonl:42".
	SourcePos string
}

// Row returns the image a view is built from: After, or Before for a delete.
func (c *Change) Row() []any {
	if c.Op == OpDelete {
		return c.Before
	}
	return c.After
}

// Batch is a group of changes of one table: the element type sources emit.
type Batch struct {
	Table   *Table
	Changes []Change
	// Ack is the acknowledgement unit of a stream's batch (zero in batch
	// pipelines).
	Ack AckToken
}
