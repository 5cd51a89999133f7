package files

import (
	"fmt"
	"math/bits"

	"github.com/beamsync/beamsync/change"
)

// colInfo gathers what Describe saw of one column.
type colInfo struct {
	name     string
	kinds    uint32 // one bit per change.Kind seen (null left out)
	typ      string // the schema's type name, when a schema gave one
	nullable bool
	bigInt   bool // an integer beyond ±2^53 was seen
}

const maxExactFloatInt = 1 << 53

func (c *colInfo) addKind(k change.Kind) {
	if k != change.KindAny {
		c.kinds |= 1 << k
	}
}

// observe records a plain JSON value (no schema).
func (c *colInfo) observe(raw []byte) {
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
	c.addKind(k)
}

// resolveKind is the kind of a column from the kinds of its values: the one
// kind seen; for numbers of several kinds float (decimal when there are
// decimals, or integers that float64 cannot hold exactly); else any.
func (c *colInfo) resolveKind() change.Kind {
	const numbers = 1<<change.KindInt | 1<<change.KindFloat | 1<<change.KindDecimal
	switch {
	case c.kinds == 0:
		return change.KindAny
	case bits.OnesCount32(c.kinds) == 1:
		return change.Kind(bits.TrailingZeros32(c.kinds))
	case c.kinds&^numbers != 0:
		return change.KindAny
	case c.kinds&(1<<change.KindDecimal) != 0 || c.bigInt:
		return change.KindDecimal
	}
	return change.KindFloat
}

// tableInfo gathers what Describe saw of one table.
type tableInfo struct {
	db, schema, name string
	cols             []*colInfo
	index            map[string]int
	keyNames         []string // from the events' key part (debezium)
}

func newTableInfo(db, schema, name string) *tableInfo {
	return &tableInfo{db: db, schema: schema, name: name, index: map[string]int{}}
}

// col returns the column of that name, added at the end when new.
func (t *tableInfo) col(name string) *colInfo {
	if i, ok := t.index[name]; ok {
		return t.cols[i]
	}
	c := &colInfo{name: name}
	t.index[name] = len(t.cols)
	t.cols = append(t.cols, c)
	return c
}

// build makes the change.Table, with the key from the events when they had
// one, else from key.
func (t *tableInfo) build(key []string) (*change.Table, error) {
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
			return nil, fmt.Errorf("files source: key column %q is not a column of table %s", n, tb.QualifiedName())
		}
		tb.Key = append(tb.Key, i)
	}
	return tb, nil
}
