package debezium

import (
	"fmt"
	"math/bits"

	"github.com/beamsync/beamsync/change"
)

// ColumnInfo gathers what a describe saw of one column.
type ColumnInfo struct {
	name     string
	kinds    uint32 // one bit per change.Kind a schema gave (null left out)
	plain    uint32 // one bit per change.Kind of the plain values seen
	wire     uint32 // the kinds of plain JSON a schema's values are written as
	typ      string // the schema's type name, when a schema gave one
	nullable bool   // a null was seen, or the column was absent from some rows
	bigInt   bool   // an integer beyond ±2^53 was seen
	textKey  bool   // an outbox's aggregate id: text when text and numbers meet
}

const maxExactFloatInt = 1 << 53

func (c *ColumnInfo) addKind(k change.Kind) {
	if k != change.KindAny {
		c.kinds |= 1 << k
	}
}

// addSchema records the kind a column's schema gives, and the kinds of
// plain JSON its values are written as (an event without the schema part
// writes them so).
func (c *ColumnInfo) addSchema(s *connectSchema) {
	c.addKind(s.kind())
	c.wire |= s.wireKinds()
}

// Observe records a plain JSON value (no schema).
func (c *ColumnInfo) Observe(raw []byte) {
	k := jsonKind(raw)
	if k == change.KindAny {
		c.nullable = true
		return
	}
	if k == change.KindInt {
		switch v := numberValue(string(raw)).(type) {
		case int64:
			c.bigInt = c.bigInt || v > maxExactFloatInt || v < -maxExactFloatInt
		case uint64:
			c.bigInt = true
		}
	}
	c.plain |= 1 << k
}

// resolveKind is the kind of a column from the kinds of its values: the one
// kind seen; for numbers of several kinds float (decimal when there are
// decimals, or integers that float64 cannot hold exactly); else any. When
// a schema gave the column a kind, plain values written as that schema
// writes its values (an ISO string for a ZonedTimestamp, base64 text for a
// Decimal) are of the schema's kind: the Decoder decodes them by it.
func (c *ColumnInfo) resolveKind() change.Kind {
	const numbers = 1<<change.KindInt | 1<<change.KindFloat | 1<<change.KindDecimal
	kinds := c.plain
	if c.kinds != 0 {
		kinds = c.kinds | c.plain&^c.wire
	}
	switch {
	case kinds == 0:
		return change.KindAny
	case c.textKey && kinds&(1<<change.KindString) != 0 && kinds&^(numbers|1<<change.KindString) == 0:
		return change.KindString // ids 17 and "17": one key, "17"
	case bits.OnesCount32(kinds) == 1:
		return change.Kind(bits.TrailingZeros32(kinds))
	case kinds&^numbers != 0:
		return change.KindAny
	case kinds&(1<<change.KindDecimal) != 0 || c.bigInt:
		return change.KindDecimal
	}
	return change.KindFloat
}

// TableInfo gathers what a describe saw of one table.
type TableInfo struct {
	db, schema, name string
	cols             []*ColumnInfo
	index            map[string]int
	keyNames         []string // from the events' key part (debezium)
}

// NewTableInfo starts the description of a table.
func NewTableInfo(db, schema, name string) *TableInfo {
	return &TableInfo{db: db, schema: schema, name: name, index: map[string]int{}}
}

// Col returns the column of that name, added at the end when new.
func (t *TableInfo) Col(name string) *ColumnInfo {
	if i, ok := t.index[name]; ok {
		return t.cols[i]
	}
	c := &ColumnInfo{name: name}
	t.index[name] = len(t.cols)
	t.cols = append(t.cols, c)
	return c
}

// Build makes the change.Table, with the key from the events when they had
// one, else from key.
func (t *TableInfo) Build(key []string) (*change.Table, error) {
	tb := &change.Table{Database: t.db, Schema: t.schema, Name: t.name, EstimatedRows: -1}
	for _, c := range t.cols {
		k := c.resolveKind()
		typ := c.typ
		if typ == "" {
			typ = k.String()
		}
		tb.Columns = append(tb.Columns, change.Column{Name: c.name, Type: typ, Kind: k, Nullable: c.nullable})
	}
	names := t.keyNames
	if len(names) == 0 {
		names = key
	}
	for _, n := range names {
		i := tb.ColumnIndex(n)
		if i < 0 {
			return nil, fmt.Errorf("key column %q is not a column of table %s", n, tb.QualifiedName())
		}
		tb.Key = append(tb.Key, i)
	}
	return tb, nil
}

// SetNullable marks the column nullable (a row without it was seen).
func (c *ColumnInfo) SetNullable() { c.nullable = true }

// Name is the column's name.
func (c *ColumnInfo) Name() string { return c.name }

// Columns returns the columns seen, in order of first appearance.
func (t *TableInfo) Columns() []*ColumnInfo { return t.cols }
