package mappings

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/beamsync/beamsync/change"
)

// Field describes one field of a view's rows: the output schema that sinks
// use to create their tables and indexes. Kind is KindAny when an
// expression's type is not known statically; Fields are a nested object's.
type Field = change.Field

// Mapping is a spec compiled against its source table. It is immutable and
// safe for concurrent use; each goroutine maps rows with its own Evaluator.
type Mapping struct {
	spec      *Spec
	table     *change.Table
	fields    []Field
	out       []outField
	names     []string // the top-level field names, shared by every doc
	key       []int    // indexes into out of the key fields, in key order
	keyNames  []string
	keyCols   []int // the columns the key fields read
	where     *program
	envCols   []int    // the columns programs read, loaded into the env per row
	envKeys   []string // their names
	readCols  []int    // every column an expression reads (UsedColumns)
	specials  []string // the special names programs read (_op, ...)
	soft      bool     // deletes: soft (docs end with _deleted)
	identity  bool     // every column passed through in table order: docs share the row image
	keyRun    int      // >= 0: the key is out[keyRun:keyRun+len(key)], so keys share the doc's values
	deletes   string
	onError   string
	tableName any // the boxed qualified name, for _table

	// Joins: the view's joins, the aliases readable at the source (or, for
	// the fields of a many join's element, at that join), and those read.
	joins   []JoinNode
	visible map[string]int
	aliases []string
}

// outField is the plan of one output field: exactly one of a copied column,
// a program, a constant or a nested object.
type outField struct {
	name     string
	path     string // "address.city", for errors
	col      int    // >= 0: the column copied as is
	prog     *program
	konst    any
	sub      []outField // a nested object
	subNames []string
	each     *eachPlan // an array of a many join's rows
	aliases  bool      // its expression reads a join alias
}

// program is one compiled expression.
type program struct {
	field  string // the RowError's Field: the output field's path, or "where"
	code   *vm.Program
	cols   []int   // the columns it reads: they must not be Unchanged
	direct *direct // set when the expression is a plain call: run without the VM
}

// direct is a call of a function on columns and literals, which Evaluators
// make without the VM.
type direct struct {
	fn   func(args ...any) (any, error)
	args []argSource
}

type argSource struct {
	col   int // >= 0: the column's value; else konst
	konst any
}

// The names besides columns that expressions can read.
var specialTypes = map[string]reflect.Type{
	"_op":          stringType,
	"_position":    intType,
	"_commit_time": timeType,
	"_table":       stringType,
}

// Compile checks a spec against the source table's schema and compiles its
// expressions. Type errors, unknown columns and a non-bool where are
// reported with their file positions; the error joins every problem, each a
// *CompileError.
func Compile(spec *Spec, table *change.Table) (*Mapping, error) {
	if spec == nil || table == nil {
		return nil, errors.New("mappings: Compile needs a spec and a table")
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	c := newCompiler(spec, table)
	m := c.compile()
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return m, nil
}

type compiler struct {
	spec       *Spec
	table      *change.Table
	src        *source
	env        types.Map
	envNames   map[string]int // column name -> index; specials -> -1
	candidates []string       // for did-you-mean
	errs       []error
	usedCols   map[int]bool
	usedSpec   map[string]bool
	// Joins (joins.go): the aliases expressions may read, with their types,
	// and those they do read.
	joins       *joinContext
	usedAliases map[string]bool
	visible     map[string]int // the aliases in env
	element     bool           // compiling the fields of a many join's element: no key, no where
	readCols    map[int]bool   // every column any expression reads
}

func newCompiler(spec *Spec, table *change.Table) *compiler {
	c := &compiler{spec: spec, table: table, src: spec.src, env: types.Map{}, envNames: map[string]int{},
		usedCols: map[int]bool{}, usedSpec: map[string]bool{}, readCols: map[int]bool{}, usedAliases: map[string]bool{}}
	if c.src == nil {
		c.src = newSource(spec.File, nil)
	}
	for name, t := range specialTypes {
		c.env[name] = types.TypeOf(reflect.Zero(t).Interface())
		c.envNames[name] = -1
	}
	for i, col := range table.Columns {
		if t := typeOfKind(col.Kind); t != nil {
			c.env[col.Name] = types.TypeOf(reflect.Zero(t).Interface())
		} else {
			c.env[col.Name] = types.Any
		}
		c.envNames[col.Name] = i
	}
	for name := range c.envNames {
		c.candidates = append(c.candidates, name)
	}
	c.candidates = append(c.candidates, helperNames()...)
	sort.Strings(c.candidates)
	return c
}

// identNotNull reports whether a name is known never to be null.
func (c *compiler) identNotNull(name string) bool {
	i, ok := c.envNames[name]
	switch {
	case !ok, i == aliasName:
		return false
	case i < 0:
		return true
	}
	col := c.table.Columns[i]
	return !col.Nullable && col.Kind != change.KindAny
}

func (c *compiler) errAt(l loc, format string, args ...any) {
	c.errs = append(c.errs, c.src.errorf(l.line, l.col, format, args...))
}

func (c *compiler) posLoc(key string) loc {
	p, ok := c.spec.Pos[key]
	if !ok {
		p = c.spec.root
	}
	return loc{line: p.Line, col: p.Column}
}

func (c *compiler) compile() *Mapping {
	s, t := c.spec, c.table
	m := &Mapping{spec: s, table: t, deletes: s.Deletes, onError: s.OnError, soft: s.Deletes == DeletesSoft}
	if m.deletes == "" {
		m.deletes = DeletesDelete
	}
	if m.onError == "" {
		m.onError = OnErrorDeadLetter
	}
	m.tableName = t.QualifiedName()

	if s.AllColumns {
		excluded := map[string]bool{}
		colNames := make([]string, len(t.Columns))
		for i, col := range t.Columns {
			colNames[i] = col.Name
		}
		for i, name := range s.Exclude {
			if t.ColumnIndex(name) < 0 {
				c.errAt(c.spec.locs[fmt.Sprintf("exclude.%d", i)], "exclude: %s has no column %q%s", t.QualifiedName(), name, suggest(name, colNames))
			}
			excluded[name] = true
		}
		for i, col := range t.Columns {
			if excluded[col.Name] {
				continue
			}
			m.out = append(m.out, outField{name: col.Name, path: col.Name, col: i})
			m.fields = append(m.fields, Field{Name: col.Name, Kind: col.Kind, Nullable: col.Nullable || col.Kind == change.KindAny})
		}
	}
	for _, fs := range s.Fields {
		of, f := c.field(fs, "")
		if i := slices.IndexFunc(m.out, func(o outField) bool { return o.name == fs.Name }); i >= 0 {
			m.out[i], m.fields[i] = of, f // all_columns: an override keeps the column's place
		} else {
			m.out = append(m.out, of)
			m.fields = append(m.fields, f)
		}
	}
	for _, o := range m.out {
		m.names = append(m.names, o.name)
	}
	if m.soft {
		m.names = append(m.names, DeletedField)
		m.fields = append(m.fields, Field{Name: DeletedField, Kind: change.KindBool})
	}
	m.names = slices.Clip(m.names)

	if c.element {
		m.keyRun = -1
		return c.finish(m)
	}
	c.keys(m)
	for _, k := range m.key {
		if m.out[k].aliases {
			c.errAt(c.posLoc("key"), "key: field %s reads a join alias: the key of a view with joins must come from the columns of its source (%s)", m.out[k].path, t.QualifiedName())
		}
	}
	m.identity = !m.soft && len(m.out) == len(t.Columns) && c.joins == nil
	for i, o := range m.out {
		m.identity = m.identity && o.col == i
	}
	m.keyRun = -1
	if len(m.key) > 0 {
		m.keyRun = m.key[0]
		for j, k := range m.key {
			if k != m.key[0]+j {
				m.keyRun = -1
			}
		}
	}
	return c.finish(m)
}

// finish compiles where and records what the programs read.
func (c *compiler) finish(m *Mapping) *Mapping {
	s, t := c.spec, c.table
	if s.Where != "" && !c.element {
		l := c.spec.locs["where"]
		if p := c.expr(s.Where, l, "where", "where", true); p != nil {
			if !boolish(p.typ) {
				c.errAt(l, "where: must be a bool expression, got %s", describeType(p.typ))
			} else {
				m.where = p.prog
			}
		}
	}
	for i := range c.usedCols {
		m.envCols = append(m.envCols, i)
	}
	for i := range c.readCols {
		m.readCols = append(m.readCols, i)
	}
	sort.Ints(m.envCols)
	for _, i := range m.envCols {
		m.envKeys = append(m.envKeys, t.Columns[i].Name)
	}
	for name := range c.usedSpec {
		if c.envNames[name] < 0 {
			m.specials = append(m.specials, name)
		}
	}
	sort.Strings(m.specials)
	for name := range c.usedAliases {
		m.aliases = append(m.aliases, name)
	}
	sort.Strings(m.aliases)
	return m
}

// field compiles one output field.
func (c *compiler) field(fs FieldSpec, path string) (outField, Field) {
	of := outField{name: fs.Name, path: path + fs.Name, col: -1}
	f := Field{Name: fs.Name}
	if fs.Each != "" {
		c.eachField(fs, &of, &f)
		return of, f
	}
	if len(fs.Fields) > 0 {
		f.Kind = change.KindObject
		for _, sub := range fs.Fields {
			so, sf := c.field(sub, of.path+".")
			of.sub = append(of.sub, so)
			of.subNames = append(of.subNames, sub.Name)
			f.Fields = append(f.Fields, sf)
		}
		of.subNames = slices.Clip(of.subNames)
		return of, f
	}
	p := c.expr(fs.Expr, fs.expr, "field "+of.path, of.path, false)
	if p == nil {
		return of, f
	}
	f.Kind, f.Nullable = kindOfType(p.typ), !p.notNull
	if f.Kind == change.KindArray && p.typ.Kind() == reflect.Slice {
		f.Elem = kindOfType(p.typ.Elem())
	}
	if p.alias >= 0 {
		f = c.aliasField(p.alias)
		f.Name = fs.Name
	}
	of.aliases = p.aliases
	switch {
	case p.col >= 0:
		col := c.table.Columns[p.col]
		of.col = p.col
		f.Kind, f.Nullable = col.Kind, col.Nullable || col.Kind == change.KindAny
	case p.isConst:
		of.konst = p.konst
		f.Nullable = p.konst == nil
		if p.konst != nil {
			f.Kind = change.KindOf(p.konst)
		}
	default:
		of.prog = p.prog
	}
	return of, f
}

// keys resolves the view key.
func (c *compiler) keys(m *Mapping) {
	names := c.spec.Key
	outNames := make([]string, len(m.out))
	for i, o := range m.out {
		outNames[i] = o.name
	}
	if len(names) == 0 {
		t := c.table
		l := c.posLoc("key")
		if _, ok := c.spec.Pos["key"]; !ok {
			l = c.posLoc("source")
		}
		if len(t.Key) == 0 {
			c.errAt(l, "key: %s has no primary key: set key to the view's key fields", t.QualifiedName())
			return
		}
		for _, k := range t.Key {
			name := t.Columns[k].Name
			i := slices.Index(outNames, name)
			if i < 0 || m.out[i].col != k {
				c.errAt(l, "key: not set, and the primary key column %q of %s is not passed through under its own name: set key", name, t.QualifiedName())
				return
			}
			m.key = append(m.key, i)
			m.keyNames = append(m.keyNames, name)
		}
	} else {
		for j, name := range names {
			i := slices.Index(outNames, name)
			if i < 0 {
				l := c.spec.locs[fmt.Sprintf("key.%d", j)]
				c.errAt(l, "key: %q is not a field of the view%s", name, suggest(name, outNames))
				continue
			}
			if m.out[i].sub != nil {
				c.errAt(c.spec.locs[fmt.Sprintf("key.%d", j)], "key: %q is an object; a key field must be a single value", name)
				continue
			}
			m.key = append(m.key, i)
			m.keyNames = append(m.keyNames, name)
		}
	}
	cols := map[int]bool{}
	for _, k := range m.key {
		o := m.out[k]
		switch {
		case o.col >= 0:
			cols[o.col] = true
		case o.prog != nil:
			for _, col := range o.prog.cols {
				cols[col] = true
			}
		}
	}
	for col := range cols {
		m.keyCols = append(m.keyCols, col)
	}
	sort.Ints(m.keyCols)
}

// compiled is the result of compiling one expression.
type compiled struct {
	prog    *program // nil for a bare column or a constant
	cols    []int
	col     int // >= 0: the expression is this column's name
	konst   any
	isConst bool
	typ     reflect.Type
	notNull bool
	alias   int  // >= 0: the expression is this join alias (an index into the joins)
	aliases bool // it reads a join alias
}

var unknownNameRE = regexp.MustCompile(`^unknown name (\S+)`)

// expr compiles one expression; what prefixes error messages.
func (c *compiler) expr(code string, l loc, what, field string, isWhere bool) *compiled {
	g := newGuard(c)
	opts := []expr.Option{
		expr.Env(c.env),
		expr.DisableBuiltin("now"), // views must not depend on when rows are mapped: use _commit_time
		expr.Timezone("UTC"),
		helperOption(),
		g.option(),
	}
	prog, err := safeCompile(code, opts)
	if err == nil && g.err != nil {
		err = g.err
	}
	if err != nil {
		hint := ""
		var fe *file.Error
		if errors.As(err, &fe) {
			if m := unknownNameRE.FindStringSubmatch(fe.Message); m != nil {
				hint = c.unknownHint(m[1], code, l)
			}
		}
		c.errs = append(c.errs, exprError(c.src, l, code, what, err, hint))
		return nil
	}
	root := prog.Node()
	p := &compiled{col: -1, alias: -1, typ: root.Type(), notNull: g.notNull[g.root]}
	if !isUnknown(p.typ) && !storable(p.typ) {
		c.errAt(l, "%s: a value of type %s cannot be stored in a view", what, p.typ)
		return nil
	}
	// Which columns and specials does it read?
	cols := map[int]bool{}
	ast.Walk(&root, visitFunc(func(n ast.Node) {
		id, ok := n.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if id.Value == "$env" {
			for i := range c.table.Columns {
				cols[i] = true
			}
			for name := range specialTypes {
				c.usedSpec[name] = true
			}
			return
		}
		if i, ok := c.envNames[id.Value]; ok {
			switch {
			case i >= 0:
				cols[i] = true
			case i == aliasName:
				c.usedAliases[id.Value] = true
				p.aliases = true
			default:
				c.usedSpec[id.Value] = true
			}
		}
	}))
	for i := range cols {
		p.cols = append(p.cols, i)
		c.readCols[i] = true
	}
	sort.Ints(p.cols)

	if id, ok := root.(*ast.IdentifierNode); ok {
		if i, ok := c.envNames[id.Value]; ok && i >= 0 && !isWhere {
			p.col = i // copied without running the VM
			return p
		}
		if j, ok := c.visible[id.Value]; ok && c.envNames[id.Value] == aliasName && !isWhere {
			p.alias = j
		}
	}
	switch root.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode:
		if isWhere {
			break
		}
		v, err := vm.Run(prog, map[string]any{})
		if err == nil {
			v, err = toValue(v)
		}
		if err != nil {
			c.errAt(l, "%s: %v", what, err)
			return nil
		}
		p.konst, p.isConst = v, true
		return p
	}
	p.prog = &program{field: field, code: prog, cols: p.cols, direct: c.direct(root, g)}
	if p.prog.direct == nil {
		for i := range cols {
			c.usedCols[i] = true
		}
	}
	return p
}

// direct returns the plan of a call that can run without the VM: a
// function of the config applied to columns and literals.
func (c *compiler) direct(root ast.Node, g *guard) *direct {
	call, ok := root.(*ast.CallNode)
	if !ok {
		return nil
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	fn, ok := g.cfg.Functions[id.Value]
	if !ok || fn.Func == nil {
		return nil
	}
	d := &direct{fn: fn.Func}
	for _, a := range call.Arguments {
		src := argSource{col: -1}
		switch x := a.(type) {
		case *ast.IdentifierNode:
			i, ok := c.envNames[x.Value]
			if !ok || i < 0 {
				return nil
			}
			src.col = i
		case *ast.StringNode:
			src.konst = x.Value
		case *ast.BoolNode:
			src.konst = x.Value
		case *ast.FloatNode:
			src.konst = x.Value
		case *ast.NilNode:
		case *ast.IntegerNode:
			if x.Type() != reflect.TypeOf(0) && !isUnknown(x.Type()) {
				return nil // the compiler would convert it
			}
			src.konst = x.Value
		default:
			return nil
		}
		d.args = append(d.args, src)
	}
	return d
}

// unknownHint explains an unknown name.
func (c *compiler) unknownHint(name, code string, l loc) string {
	switch {
	case name == "now":
		return " (now() is disabled: a view must not depend on when rows are mapped; use _commit_time)"
	case l.style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && strings.TrimSpace(code) == name:
		return fmt.Sprintf(" (YAML removed the quotes: for the text %q write '\"%s\"')", name, name)
	}
	return suggest(name, c.candidates)
}

type visitFunc func(ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(*n) }

// safeCompile runs expr.Compile, turning a panic inside expr into an error.
func safeCompile(code string, opts []expr.Option) (prog *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("cannot compile expression: %v", r)
		}
	}()
	return expr.Compile(code, opts...)
}

var docPtrType = reflect.TypeOf((*change.Doc)(nil))

// storable reports whether values of a static type can be held by a view.
func storable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Struct:
		return t == timeType
	case reflect.Ptr:
		return t == docPtrType
	}
	return true
}

// View returns the view's name.
func (m *Mapping) View() string { return m.spec.View }

// Spec returns the spec the mapping was compiled from (do not modify it).
func (m *Mapping) Spec() *Spec { return m.spec }

// Table returns the source table the mapping was compiled against.
func (m *Mapping) Table() *change.Table { return m.table }

// Fields returns the view's output schema, in field order. With deletes:
// soft it ends with the bool field _deleted.
func (m *Mapping) Fields() []Field { return cloneFields(m.fields) }

func cloneFields(fs []Field) []Field {
	out := slices.Clone(fs)
	for i := range out {
		out[i].Fields = cloneFields(out[i].Fields)
	}
	return out
}

// Schema returns what a sink knows of the view: its name, key and fields.
func (m *Mapping) Schema() change.ViewSchema {
	return change.ViewSchema{Name: m.View(), Key: m.KeyFields(), Fields: m.Fields()}
}

// KeyFields returns the names of the view's key fields, in key order.
func (m *Mapping) KeyFields() []string { return slices.Clone(m.keyNames) }

// OnError returns the on_error policy: OnErrorDeadLetter or OnErrorFail.
func (m *Mapping) OnError() string { return m.onError }

// Deletes returns the deletes policy: DeletesDelete, DeletesIgnore or DeletesSoft.
func (m *Mapping) Deletes() string { return m.deletes }

// UsedColumns returns the names of the source columns the mapping reads
// (copied, read by an expression or the where filter, or part of the key),
// in table order: the columns whose loss or change of type breaks it.
func (m *Mapping) UsedColumns() []string {
	used := map[int]bool{}
	for _, i := range m.readCols {
		used[i] = true
	}
	for _, i := range m.keyCols {
		if i >= 0 {
			used[i] = true
		}
	}
	var walk func([]outField)
	walk = func(fs []outField) {
		for i := range fs {
			if fs[i].col >= 0 {
				used[fs[i].col] = true
			}
			walk(fs[i].sub)
		}
	}
	walk(m.out)
	var names []string
	for i, c := range m.table.Columns {
		if used[i] {
			names = append(names, c.Name)
		}
	}
	return names
}
