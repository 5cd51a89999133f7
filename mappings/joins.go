package mappings

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"

	"github.com/beamsync/beamsync/change"
)

// TableResolver finds a table a mapping names: its source, and the table
// of each join ("table", "schema.table", "source.schema.table").
type TableResolver func(name string) (*change.Table, error)

// JoinNode is a compiled join: the rows of Table attached to each row of
// its parent (the view's source, or another join) where the parent's
// ParentCols equal the joined table's JoinedCols.
type JoinNode struct {
	Alias string
	Table *change.Table
	// Parent is the index in Mapping.Joins of the parent join, -1 for the
	// view's source.
	Parent     int
	ParentCols []int // columns of the parent's table
	JoinedCols []int // columns of Table, pairwise equal to ParentCols
	Many       bool  // an array of every matching row; else the first (a lookup)
	Inner      bool  // no match: the parent row leaves the view (or its array)
	OrderBy    []JoinOrderCol
	Limit      int   // many: at most this many rows (0: all)
	Children   []int // the joins whose parent this is
}

// JoinOrderCol is a column of a many join's order.
type JoinOrderCol struct {
	Col  int
	Desc bool
}

// aliasName marks a join alias in compiler.envNames.
const aliasName = -2

// joinContext is what a compiler knows of the joins: every node, and the
// aliases visible where it compiles (the view's source, or the element of
// a many join).
type joinContext struct {
	nodes []JoinNode
	types []types.Type // per node: the type of one joined row
	// visible maps the names expressions can read to nodes: the children
	// of the context's node, and the lookups reachable from them through
	// lookups only (customer.country is also country).
	visible map[string]int
}

// CompileView compiles a spec whose source (and joins) resolve finds. A
// spec without joins compiles as Compile does.
func CompileView(spec *Spec, resolve TableResolver) (*Mapping, error) {
	if spec == nil || resolve == nil {
		return nil, errors.New("mappings: CompileView needs a spec and a resolver")
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	src := spec.src
	if src == nil {
		src = newSource(spec.File, nil)
	}
	at := func(key string) loc {
		p, ok := spec.Pos[key]
		if !ok {
			p = spec.root
		}
		return loc{line: p.Line, col: p.Column}
	}
	table, err := resolve(spec.Source)
	if err != nil {
		l := at("source")
		return nil, src.errorf(l.line, l.col, "source: %v", err)
	}
	if len(spec.Joins) == 0 {
		return Compile(spec, table)
	}
	ctx, errs := buildJoins(spec, src, table, resolve)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := newCompiler(spec, table)
	c.joins = ctx
	if err := c.addAliases(ctx, -1); err != nil {
		return nil, err
	}
	m := c.compile()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	m.joins = ctx.nodes
	m.visible = ctx.visible
	return m, nil
}

// buildJoins resolves and checks every join of a spec.
func buildJoins(spec *Spec, src *source, root *change.Table, resolve TableResolver) (*joinContext, []error) {
	var errs []error
	errAt := func(l loc, format string, args ...any) {
		errs = append(errs, src.errorf(l.line, l.col, format, args...))
	}
	ctx := &joinContext{}
	index := map[string]int{}
	for i := range spec.Joins {
		index[spec.Joins[i].Alias] = i
	}
	for i := range spec.Joins {
		js := &spec.Joins[i]
		n := JoinNode{Alias: js.Alias, Parent: -1, Many: js.Many, Inner: js.JoinType() == JoinInner, Limit: js.Limit}
		t, err := resolve(js.Table)
		if err != nil {
			errAt(js.locs["table"], "join %s: table: %v", js.Alias, err)
			ctx.nodes = append(ctx.nodes, n)
			continue
		}
		n.Table = t
		parent := root
		if js.Parent != "" {
			n.Parent = index[js.Parent]
			parent = nil
			if p := n.Parent; p < i {
				parent = ctx.nodes[p].Table
			} else if t, err := resolve(spec.Joins[p].Table); err == nil {
				parent = t
			}
		}
		if parent == nil {
			ctx.nodes = append(ctx.nodes, n)
			continue
		}
		for _, on := range js.On {
			pc, jc := parent.ColumnIndex(on.Parent), t.ColumnIndex(on.Joined)
			if pc < 0 {
				errAt(js.locs["on."+on.Parent], "join %s: on: %s has no column %q%s", js.Alias, parent.QualifiedName(), on.Parent, suggest(on.Parent, columnNames(parent)))
			}
			if jc < 0 {
				errAt(js.locs["on>"+on.Parent], "join %s: on: %s has no column %q%s", js.Alias, t.QualifiedName(), on.Joined, suggest(on.Joined, columnNames(t)))
			}
			if pc < 0 || jc < 0 {
				continue
			}
			pk, jk := parent.Columns[pc].Kind, t.Columns[jc].Kind
			if !joinableKinds(pk, jk) {
				errAt(js.locs["on."+on.Parent], "join %s: on: %s.%s is %s (%s) but %s.%s is %s (%s): join columns must hold values of one kind (cast in the database, or join other columns)",
					js.Alias, parent.QualifiedName(), on.Parent, pk, parent.Columns[pc].Type, t.QualifiedName(), on.Joined, jk, t.Columns[jc].Type)
				continue
			}
			n.ParentCols = append(n.ParentCols, pc)
			n.JoinedCols = append(n.JoinedCols, jc)
		}
		for k, o := range js.OrderBy {
			col := t.ColumnIndex(o.Column)
			if col < 0 {
				errAt(js.locs[fmt.Sprintf("order_by.%d", k)], "join %s: order_by: %s has no column %q%s", js.Alias, t.QualifiedName(), o.Column, suggest(o.Column, columnNames(t)))
				continue
			}
			n.OrderBy = append(n.OrderBy, JoinOrderCol{Col: col, Desc: o.Desc})
		}
		if root.ColumnIndex(js.Alias) >= 0 && js.Parent == "" {
			errAt(js.locs["alias"], "join %s: %s has a column of that name: give the join another alias", js.Alias, root.QualifiedName())
		}
		ctx.nodes = append(ctx.nodes, n)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for i := range ctx.nodes {
		if p := ctx.nodes[i].Parent; p >= 0 {
			ctx.nodes[p].Children = append(ctx.nodes[p].Children, i)
		}
	}
	ctx.types = make([]types.Type, len(ctx.nodes))
	var typeOf func(i int) types.Type
	typeOf = func(i int) types.Type {
		if ctx.types[i] != nil {
			return ctx.types[i]
		}
		n := &ctx.nodes[i]
		m := types.Map{}
		for _, col := range n.Table.Columns {
			m[col.Name] = columnType(col)
		}
		for _, ch := range n.Children {
			m[ctx.nodes[ch].Alias] = nodeValueType(ctx.nodes[ch], typeOf(ch))
		}
		ctx.types[i] = m
		return m
	}
	for i := range ctx.nodes {
		typeOf(i)
	}
	ctx.visible = visibleAliases(ctx.nodes, -1)
	return ctx, nil
}

// visibleAliases returns the names readable at node at (-1: the source):
// its children, and lookups reached from them through lookups only.
func visibleAliases(nodes []JoinNode, at int) map[string]int {
	vis := map[string]int{}
	var walk func(parent int, viaLookups bool)
	walk = func(parent int, viaLookups bool) {
		for i := range nodes {
			if nodes[i].Parent != parent {
				continue
			}
			if _, taken := vis[nodes[i].Alias]; !taken && (viaLookups || parent == at) {
				vis[nodes[i].Alias] = i
			}
			if !nodes[i].Many {
				walk(i, true)
			}
		}
	}
	walk(at, true)
	return vis
}

func nodeValueType(n JoinNode, row types.Type) types.Type {
	if n.Many {
		return types.Array(row)
	}
	return row
}

func columnType(col change.Column) types.Type {
	if t := typeOfKind(col.Kind); t != nil {
		return types.TypeOf(reflect.Zero(t).Interface())
	}
	return types.Any
}

func columnNames(t *change.Table) []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// joinableKinds reports whether columns of two kinds can be compared for a
// join: equal kinds, integers with decimals, and untyped columns with any.
func joinableKinds(a, b change.Kind) bool {
	if a == b || a == change.KindAny || b == change.KindAny {
		return true
	}
	num := func(k change.Kind) bool { return k == change.KindInt || k == change.KindDecimal }
	return num(a) && num(b)
}

// addAliases puts the aliases visible at node at into the compiler's
// environment.
func (c *compiler) addAliases(ctx *joinContext, at int) error {
	vis := ctx.visible
	if at >= 0 {
		vis = visibleAliases(ctx.nodes, at)
	}
	var errs []error
	for name, i := range vis {
		if j, ok := c.envNames[name]; ok && j >= 0 {
			if at >= 0 {
				continue // a column of the element shadows a deeper alias
			}
			js := c.spec.Joins[i]
			errs = append(errs, c.src.errorf(js.Line, js.Column, "join %s: %s has a column of that name: give the join another alias", name, c.table.QualifiedName()))
			continue
		}
		c.env[name] = nodeValueType(ctx.nodes[i], ctx.types[i])
		c.envNames[name] = aliasName
		c.candidates = append(c.candidates, name)
	}
	slices.Sort(c.candidates)
	c.visible = vis
	return errors.Join(errs...)
}

// eachField compiles the fields of an array field built from a many join
// (FieldSpec.Each): one element per joined row, over its columns and its
// own joins.
func (c *compiler) eachField(fs FieldSpec, of *outField, f *Field) {
	i, ok := c.visible[fs.Each]
	if c.joins == nil || !ok || !c.joins.nodes[i].Many {
		var many []string
		for name, j := range c.visible {
			if c.joins.nodes[j].Many {
				many = append(many, name)
			}
		}
		slices.Sort(many)
		hint := " (declare one under joins: with many: true)"
		if len(many) > 0 {
			hint = suggest(fs.Each, many) + "; many joins here: " + strings.Join(many, ", ")
		}
		c.errAt(fs.expr, "field %s: each: %q is not a many join%s", of.path, fs.Each, hint)
		return
	}
	node := c.joins.nodes[i]
	sub := &Spec{View: c.spec.View, Source: node.Table.QualifiedName(), Fields: fs.Fields, File: c.spec.File,
		Pos: c.spec.Pos, src: c.spec.src, locs: c.spec.locs, root: c.spec.root, Joins: c.spec.Joins}
	sc := newCompiler(sub, node.Table)
	sc.joins = c.joins
	sc.element = true
	if err := sc.addAliases(c.joins, i); err != nil {
		c.errs = append(c.errs, err)
		return
	}
	sm := sc.compile()
	c.errs = append(c.errs, sc.errs...)
	if len(sc.errs) > 0 {
		return
	}
	sm.visible = sc.visible
	sm.joins = c.joins.nodes
	c.usedAliases[fs.Each] = true
	of.each = &eachPlan{alias: fs.Each, m: sm}
	f.Kind, f.Elem, f.Nullable = change.KindArray, change.KindObject, false
	f.Fields = sm.Fields()
}

// eachPlan is an array field of a many join.
type eachPlan struct {
	alias string
	m     *Mapping // the element's fields, compiled against the joined table
}

// aliasField describes a field that is a bare join alias: an object (or an
// array of objects) with the joined table's columns and its own joins.
func (c *compiler) aliasField(i int) Field {
	n := c.joins.nodes[i]
	var fields []Field
	for _, col := range n.Table.Columns {
		fields = append(fields, Field{Name: col.Name, Kind: col.Kind, Nullable: true})
	}
	for _, ch := range n.Children {
		fields = append(fields, c.aliasField(ch))
	}
	slices.SortFunc(fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	f := Field{Name: n.Alias, Kind: change.KindObject, Nullable: true, Fields: fields}
	if n.Many {
		f = Field{Name: n.Alias, Kind: change.KindArray, Elem: change.KindObject, Fields: fields}
	}
	return f
}

// optionalMembers makes member access on join aliases null-safe, as
// customer?.name: a lookup without a match is null, and so are its columns.
type optionalMembers struct{ c *compiler }

func (o optionalMembers) Visit(np *ast.Node) {
	m, ok := (*np).(*ast.MemberNode)
	if !ok || m.Method || !o.fromAlias(m.Node) {
		return
	}
	m.Optional = true
	*np = &ast.ChainNode{Node: m}
}

// fromAlias reports whether n is a join alias or a member of one.
func (o optionalMembers) fromAlias(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return o.c.envNames[x.Value] == aliasName
	case *ast.ChainNode:
		return o.fromAlias(x.Node)
	case *ast.MemberNode:
		return o.fromAlias(x.Node)
	}
	return false
}

// Joins returns the view's joins (nil for a view of one table). Do not
// modify them.
func (m *Mapping) Joins() []JoinNode { return m.joins }

// Aliases returns the join aliases the view's expressions can read at the
// source, each with its index in Joins.
func (m *Mapping) Aliases() map[string]int { return m.visible }

// ApplyJoined maps a change of a view's source together with the values of
// its join aliases (Aliases: for a lookup the joined row as a
// map[string]any of its columns and its own aliases, or nil; for a many
// join a []any of such maps), as Apply does.
func (e *Evaluator) ApplyJoined(c *change.Change, aliases map[string]any, dst []change.Record) ([]change.Record, error) {
	e.aliasVals = aliases
	defer func() { e.aliasVals = nil }()
	return e.Apply(c, dst)
}

// KeyOf computes the view key of a row image of the view's source (for a
// delete of a joined view's row).
func (e *Evaluator) KeyOf(row []any) ([]any, error) {
	if _, err := e.image(row, "row"); err != nil {
		return nil, err
	}
	e.load(row, &change.Change{Op: change.OpDelete})
	key, err := e.keyOf(row)
	if err != nil {
		return nil, err
	}
	return slices.Clone(key), nil
}

// eachValue builds an array field of a many join: one doc per joined row.
func (e *Evaluator) eachValue(f *outField) (any, error) {
	rows, _ := e.aliasVals[f.each.alias].([]any)
	out := make([]any, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	sub := e.subs[f.each]
	if sub == nil {
		if e.subs == nil {
			e.subs = map[*eachPlan]*Evaluator{}
		}
		sub = f.each.m.NewEvaluator()
		e.subs[f.each] = sub
	}
	cols := f.each.m.table.Columns
	for _, r := range rows {
		elem, _ := r.(map[string]any)
		row := make([]any, len(cols))
		for i, col := range cols {
			row[i] = elem[col.Name]
		}
		sub.aliasVals = elem
		sub.load(row, &change.Change{Op: change.OpRead})
		doc, _, err := sub.mapRow(row, false)
		sub.aliasVals = nil
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, nil
}
