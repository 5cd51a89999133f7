package mysql

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/beamsync/beamsync/change"
)

// tablePlan is how one table is read: its columns' decoders and the SQL of
// its boundary scan and chunk queries. Identifiers are always backquoted;
// values are always parameters.
type tablePlan struct {
	t     *change.Table
	name  string // t.QualifiedName(), the key of SnapshotInfo.Rows
	from  string // `db`.`table`
	cols  []column
	key   []int // t.Key
	nkey  int
	chunk bool // the key's types can bound chunks

	selectSQL   string // SELECT cols FROM t [FORCE INDEX (PRIMARY)]
	boundarySQL string // SELECT keys FROM t FORCE INDEX (PRIMARY) ORDER BY keys
	lowerSQL    string // key > boundary, expanded per key column
	lowerArgs   []int  // boundary component of each ? of lowerSQL
	upperSQL    string // key <= boundary, expanded per key column
	upperArgs   []int

	rows atomic.Int64 // rows read

	cursor *cursorFilter // Config.Cursor's filter, when set
}

// newPlan builds the plan of a table as Describe returned it.
func newPlan(t *change.Table) (*tablePlan, error) {
	if t == nil || t.Name == "" || t.Database == "" || len(t.Columns) == 0 {
		return nil, fmt.Errorf("mysql: snapshot of an incomplete table %v: pass the tables Describe returns", t)
	}
	p := &tablePlan{t: t, name: t.QualifiedName(), from: quoteTable(t.Database, t.Name), key: t.Key, nkey: len(t.Key)}
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		dt := dataTypeOf(c.Type)
		typ, kind := classify(dt, c.Type, c.Kind == change.KindJSON)
		if kind != c.Kind {
			return nil, fmt.Errorf("mysql: %s: column %q of type %s has kind %s, want %s: describe the table again", p.name, c.Name, c.Type, c.Kind, kind)
		}
		col := column{name: c.Name, typ: typ}
		col.bind, col.cast = bindFor(typ, dt, c.Type)
		p.cols = append(p.cols, col)
		sel[i] = col.selectExpr()
	}
	p.chunk = len(t.Key) > 0
	keyNames := make([]string, len(t.Key))
	for i, k := range t.Key {
		if k < 0 || k >= len(t.Columns) {
			return nil, fmt.Errorf("mysql: %s: key column index %d out of range", p.name, k)
		}
		if p.cols[k].bind == bindNone {
			p.chunk = false
		}
		keyNames[i] = quoteIdent(t.Columns[k].Name)
	}
	p.selectSQL = "SELECT " + strings.Join(sel, ", ") + " FROM " + p.from
	if p.chunk {
		p.selectSQL += " FORCE INDEX (PRIMARY)"
		keys := strings.Join(keyNames, ", ")
		p.boundarySQL = "SELECT " + keys + " FROM " + p.from + " FORCE INDEX (PRIMARY) ORDER BY " + keys
		p.lowerSQL, p.lowerArgs = p.rangeSQL(">", ">")
		p.upperSQL, p.upperArgs = p.rangeSQL("<", "<=")
	}
	return p, nil
}

// dataTypeOf is the DATA_TYPE of a COLUMN_TYPE: "bigint(20) unsigned" → "bigint".
func dataTypeOf(columnType string) string {
	s := strings.ToLower(strings.TrimSpace(columnType))
	if i := strings.IndexAny(s, "( "); i >= 0 {
		s = s[:i]
	}
	return s
}

// rangeSQL expands a comparison of the key with a boundary into the form
// the optimizer turns into a range of the primary key: for (a, b) > (x, y)
// "(`a` > ?) OR (`a` = ? AND `b` > ?)". op compares the leading columns,
// last the final one. It returns the boundary component of each parameter.
func (p *tablePlan) rangeSQL(op, last string) (string, []int) {
	var ors []string
	var args []int
	for i := range p.key {
		var ands []string
		for j := 0; j < i; j++ {
			c := &p.cols[p.key[j]]
			ands = append(ands, quoteIdent(c.name)+" = "+c.placeholder())
			args = append(args, j)
		}
		o := op
		if i == len(p.key)-1 {
			o = last
		}
		c := &p.cols[p.key[i]]
		ands = append(ands, quoteIdent(c.name)+" "+o+" "+c.placeholder())
		args = append(args, i)
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// chunk is a half-open range of a table's primary key: lo < key <= hi. A
// nil bound is unbounded: the first chunk has no lo, the last no hi.
type chunk struct {
	p      *tablePlan
	lo, hi []any // boundary keys as query parameters
}

// query returns the SQL and parameters that read a chunk.
func (c *chunk) query() (string, []any) {
	p := c.p
	var where []string
	var args []any
	if c.lo != nil {
		where = append(where, p.lowerSQL)
		for _, i := range p.lowerArgs {
			args = append(args, c.lo[i])
		}
	}
	if c.hi != nil {
		where = append(where, p.upperSQL)
		for _, i := range p.upperArgs {
			args = append(args, c.hi[i])
		}
	}
	if cur := p.cursor; cur != nil && cur.from != "" {
		where = append(where, cur.col+" >= "+cur.ph)
		args = append(args, cur.from)
	}
	if len(where) == 0 {
		return p.selectSQL, nil
	}
	return p.selectSQL + " WHERE " + strings.Join(where, " AND "), args
}

// boundaryParam turns a key value as the driver returned it into the
// parameter that compares in the column's own order (see bindKind). It
// copies bytes: the driver reuses its buffer.
func boundaryParam(c *column, v any) (any, error) {
	switch c.bind {
	case bindInt:
		switch v.(type) {
		case int64, uint64:
			return v, nil
		}
	case bindDecimal, bindString:
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	case bindBytes:
		if b, ok := v.([]byte); ok {
			return cloneBytes(b), nil
		}
	}
	return nil, fmt.Errorf("column %q: unexpected %T key value", c.name, v)
}
