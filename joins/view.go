package joins

import (
	"slices"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/mappings"
)

// View composes the rows of one joined view from a store: for a row of the
// view's source, the values of its join aliases, as
// mappings.Evaluator.ApplyJoined takes them.
type View struct {
	s     *Store
	m     *mappings.Mapping
	joins []mappings.JoinNode
	root  uint32
	nodes []viewNode
}

type viewNode struct {
	table uint32
	by    *index // the index rows are looked up by; nil: the primary key
}

// NewView declares the tables and indexes of a joined view in the store.
// Declare every view before writing rows.
func NewView(s *Store, m *mappings.Mapping) *View {
	v := &View{s: s, m: m, joins: m.Joins(), root: s.Table(m.Table())}
	for _, n := range v.joins {
		v.nodes = append(v.nodes, viewNode{table: s.Table(n.Table), by: s.Index(n.Table, n.JoinedCols)})
	}
	return v
}

// Mapping returns the view's mapping.
func (v *View) Mapping() *mappings.Mapping { return v.m }

// Tables returns the tables the view reads: its source first, then the
// joined tables (each once).
func (v *View) Tables() []*change.Table {
	out := []*change.Table{v.m.Table()}
	for _, n := range v.joins {
		if !slices.ContainsFunc(out, func(t *change.Table) bool { return t.ID() == n.Table.ID() }) {
			out = append(out, n.Table)
		}
	}
	return out
}

// Compose returns the alias values of a source row. ok is false when an
// inner join finds no match: the row is not in the view.
func (v *View) Compose(row []any) (aliases map[string]any, ok bool, err error) {
	vals := make([]any, len(v.joins))
	have := make([]bool, len(v.joins))
	for i, n := range v.joins {
		if n.Parent != -1 {
			continue
		}
		val, ok, err := v.value(i, row)
		if err != nil || !ok {
			return nil, false, err
		}
		vals[i], have[i] = val, true
	}
	aliases = make(map[string]any, len(v.m.Aliases()))
	var valueOf func(i int) any
	valueOf = func(i int) any {
		if have[i] {
			return vals[i]
		}
		parent, _ := valueOf(v.joins[i].Parent).(map[string]any)
		return parent[v.joins[i].Alias]
	}
	for name, i := range v.m.Aliases() {
		aliases[name] = valueOf(i)
	}
	return aliases, true, nil
}

// value returns the value of join i for a parent row: the joined row (a
// map of its columns and its own aliases) or nil for a lookup, the joined
// rows for a many join. ok is false when an inner join has no match.
func (v *View) value(i int, parent []any) (any, bool, error) {
	n := &v.joins[i]
	var rows [][]any
	if key, ok := project(parent, n.ParentCols); ok {
		var err error
		if rows, err = v.lookup(i, key); err != nil {
			return nil, false, err
		}
	}
	if n.Many && len(n.OrderBy) > 0 {
		slices.SortStableFunc(rows, func(a, b []any) int {
			for _, o := range n.OrderBy {
				if c := change.Compare(a[o.Col], b[o.Col]); c != 0 {
					if o.Desc {
						return -c
					}
					return c
				}
			}
			return 0
		})
	}
	var elems []any
	for _, r := range rows {
		elem, ok, err := v.element(i, r)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		if !n.Many {
			return elem, true, nil
		}
		elems = append(elems, elem)
		if n.Limit > 0 && len(elems) == n.Limit {
			break
		}
	}
	if !n.Many {
		return nil, !n.Inner, nil
	}
	if elems == nil {
		elems = []any{}
	}
	return elems, len(elems) > 0 || !n.Inner, nil
}

// element builds the value of one joined row of join i.
func (v *View) element(i int, row []any) (map[string]any, bool, error) {
	n := &v.joins[i]
	elem := make(map[string]any, len(row)+len(n.Children))
	for c, col := range n.Table.Columns {
		if c < len(row) {
			elem[col.Name] = row[c]
		}
	}
	for _, ch := range n.Children {
		val, ok, err := v.value(ch, row)
		if err != nil || !ok {
			return nil, false, err
		}
		elem[v.joins[ch].Alias] = val
	}
	return elem, true, nil
}

// lookup returns the live rows of join i's table whose joined columns
// equal key, in primary-key order (a lookup by the primary key finds at
// most one).
func (v *View) lookup(i int, key []any) ([][]any, error) {
	vn := v.nodes[i]
	if vn.by == nil {
		r, ok, err := v.s.get(vn.table, key)
		if err != nil || !ok || r.deleted {
			return nil, err
		}
		return [][]any{r.values}, nil
	}
	var rows [][]any
	err := v.s.rowsByIndex(vn.by, key, func(r storedRow) error {
		rows = append(rows, r.values)
		return nil
	})
	return rows, err
}

// ScanSource calls fn with every live row of the view's source, in
// primary-key order.
func (v *View) ScanSource(fn func(row []any, pos change.Position) error) error {
	return v.s.scanTable(v.root, func(r storedRow) error { return fn(r.values, r.pos) })
}
