package mappings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"gopkg.in/yaml.v3"
)

// The values of the deletes, on_error and schema_change settings.
const (
	DeletesDelete = "delete" // a source delete removes the key from the view (default)
	DeletesIgnore = "ignore" // source deletes are ignored
	DeletesSoft   = "soft"   // a source delete upserts the row with _deleted: true

	OnErrorDeadLetter = "dead_letter" // a row that fails to map becomes a dead letter (default)
	OnErrorFail       = "fail"        // a row that fails to map fails the pipeline

	SchemaChangeFail       = "fail"        // a schema change stops the pipeline (default)
	SchemaChangeDeadLetter = "dead_letter" // rows that do not fit the mapping become dead letters
	SchemaChangeNull       = "null"        // columns that disappeared read as null
)

// DeletedField is the field that marks soft-deleted rows (deletes: soft).
const DeletedField = "_deleted"

// Spec is a parsed mapping file: one view built from one source table.
type Spec struct {
	View       string      // the view's name, [a-z0-9_]+
	Source     string      // the source table: "table", "schema.table" or "db.table"
	Key        []string    // the view key (output field names); empty: the source's primary key
	Where      string      // a bool expression filtering rows; empty: every row
	AllColumns bool        // pass every source column through (then Fields add or override)
	Exclude    []string    // with AllColumns, columns left out
	Fields     []FieldSpec // the output fields, in order
	Joins      []JoinSpec  // the tables joined to the source, in the order written
	// Deletes, OnError and SchemaChange hold one of the Deletes*, OnError*
	// and SchemaChange* constants; Parse fills in the defaults.
	Deletes, OnError, SchemaChange string

	// File is the file name used in error messages.
	File string
	// Pos holds the position of each top-level setting's value, by its YAML
	// key ("view", "where", ...). Empty for a spec not parsed from YAML.
	Pos map[string]Pos

	src  *source
	locs map[string]loc // "where", "key.0", "exclude.1": positions of values
	root Pos            // the top-level mapping, for errors about missing settings
}

// Pos is a 1-based line and column in a mapping file.
type Pos struct{ Line, Column int }

// FieldSpec is one output field: an expression, or a nested object.
type FieldSpec struct {
	Name   string
	Expr   string      // an expr-lang expression over the row's columns ("" for an object)
	Fields []FieldSpec // the fields of a nested object (Expr is then ""), or of each element (Each)
	// Each names a many join: the field is an array with one element per
	// joined row, each built from Fields over that row's columns.
	Each string
	// Line and Column locate the field's name in the file (0 when unknown).
	Line, Column int

	expr loc // the expression's scalar
}

var (
	topKeys     = []string{"view", "source", "key", "where", "all_columns", "exclude", "fields", "joins", "deletes", "on_error", "schema_change"}
	viewRE      = regexp.MustCompile(`^[a-z0-9_]+$`)
	fieldNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	deletesVals = []string{DeletesDelete, DeletesIgnore, DeletesSoft}
	onErrorVals = []string{OnErrorDeadLetter, OnErrorFail}
	schemaVals  = []string{SchemaChangeFail, SchemaChangeDeadLetter, SchemaChangeNull}
)

// ParseFile reads and parses a mapping file.
func ParseFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading mapping: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a mapping file's contents. filename is used in
// error messages. The error joins every problem found, each a *CompileError.
func Parse(filename string, data []byte) (*Spec, error) {
	src := newSource(filename, data)
	s := &Spec{File: filename, Pos: map[string]Pos{}, src: src, locs: map[string]loc{}}
	p := &specParser{src: src, spec: s}
	p.parse(data)
	if len(p.errs) == 0 || p.parsed {
		if err := s.Validate(); err != nil {
			p.errs = append(p.errs, err)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	s.fillDefaults()
	return s, nil
}

func (s *Spec) fillDefaults() {
	if s.Deletes == "" {
		s.Deletes = DeletesDelete
	}
	if s.OnError == "" {
		s.OnError = OnErrorDeadLetter
	}
	if s.SchemaChange == "" {
		s.SchemaChange = SchemaChangeFail
	}
}

type specParser struct {
	src    *source
	spec   *Spec
	errs   []error
	parsed bool // the document was a mapping whose keys were read
}

func (p *specParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, p.src.errorf(n.Line, n.Column, format, args...))
}

var (
	yamlLineRE         = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlParserProblems = []string{"did not find expected <document start>", "did not find expected node content",
		"did not find expected key", "did not find expected '-' indicator", "did not find expected ',' or ']'",
		"did not find expected ',' or '}'"}
)

func (p *specParser) parse(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errs = append(p.errs, p.src.errorf(1, 1, "empty mapping file: want view, source and fields"))
			return
		}
		p.yamlError(err)
		return
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.errorf(&next, "a mapping file holds one view: a second YAML document starts here")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a mapping file must be a YAML mapping (view: ..., source: ..., fields: ...)")
		return
	}
	p.parsed = true
	p.spec.root = Pos{root.Line, root.Column}
	p.top(root)
}

// yamlError turns a YAML syntax error into a CompileError. yaml.v3 reports
// the line only: the column is that of the line's first non-blank character.
func (p *specParser) yamlError(err error) {
	msg := err.Error()
	line, col := 0, 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	// yaml.v3 reports the 0-based line of a parser (not scanner) error's
	// context: the start of the construct that is not closed.
	for _, pe := range yamlParserProblems {
		if msg == pe {
			line++
		}
	}
	if line > 0 {
		if line <= len(p.src.lines) {
			text := p.src.lines[line-1]
			col = len([]rune(text)) - len([]rune(strings.TrimLeft(text, " \t"))) + 1
		}
	}
	e := p.src.errorf(line, col, "invalid YAML: %s", msg)
	e.Err = err
	p.errs = append(p.errs, e)
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (p *specParser) top(root *yaml.Node) {
	s := p.spec
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		name := k.Value
		if seen[name] {
			p.errorf(k, "%s is set twice", name)
			continue
		}
		seen[name] = true
		s.Pos[name] = Pos{v.Line, v.Column}
		switch name {
		case "view":
			s.View = p.scalar(k, v)
		case "source":
			s.Source = p.scalar(k, v)
		case "where":
			s.Where = p.scalar(k, v)
			s.locs["where"] = nodeLoc(v)
		case "deletes":
			s.Deletes = p.scalar(k, v)
		case "on_error":
			s.OnError = p.scalar(k, v)
		case "schema_change":
			s.SchemaChange = p.scalar(k, v)
			if v.Kind == yaml.ScalarNode && v.Value == SchemaChangeNull {
				s.SchemaChange = SchemaChangeNull // YAML reads a bare null as no value
			}
		case "key":
			s.Key = p.list(k, v, "key")
		case "exclude":
			s.Exclude = p.list(k, v, "exclude")
		case "all_columns":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
				p.errorf(v, "all_columns: want true or false, got %s", describe(v))
				continue
			}
			s.AllColumns, _ = strconv.ParseBool(strings.ToLower(v.Value))
		case "fields":
			s.Fields = p.fields(k, v, "")
		case "joins":
			s.Joins = p.joins(k, v)
		default:
			p.errorf(k, "unknown setting %q%s; valid settings: %s", name, suggest(name, topKeys), strings.Join(topKeys, ", "))
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported YAML node"
}

func (p *specParser) scalar(k, v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s: want a single value, got %s", k.Value, describe(v))
		return ""
	}
	if v.ShortTag() == "!!null" {
		return ""
	}
	return v.Value
}

// list reads a list of names, or a single name.
func (p *specParser) list(k, v *yaml.Node, what string) []string {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return nil
		}
		p.spec.locs[what+".0"] = nodeLoc(v)
		return []string{v.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for i, e := range v.Content {
			e = deref(e)
			if e.Kind != yaml.ScalarNode {
				p.errorf(e, "%s: want a list of names, got %s", k.Value, describe(e))
				continue
			}
			p.spec.locs[fmt.Sprintf("%s.%d", what, len(out))] = nodeLoc(e)
			_ = i
			out = append(out, e.Value)
		}
		return out
	}
	p.errorf(v, "%s: want a list of names, got %s", k.Value, describe(v))
	return nil
}

func (p *specParser) fields(k, v *yaml.Node, path string) []FieldSpec {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: want a mapping of field names to expressions, got %s", k.Value, describe(v))
		return nil
	}
	out := make([]FieldSpec, 0, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		fk, fv := deref(v.Content[i]), deref(v.Content[i+1])
		f := FieldSpec{Name: fk.Value, Line: fk.Line, Column: fk.Column}
		switch fv.Kind {
		case yaml.ScalarNode:
			if fv.ShortTag() == "!!null" {
				f.expr = nodeLoc(fk)
			} else {
				f.Expr = fv.Value
				f.expr = nodeLoc(fv)
			}
		case yaml.MappingNode:
			if each := child(fv, "each"); each != nil {
				f.Each = p.scalar(fv.Content[0], each)
				f.expr = nodeLoc(each)
				for m := 0; m+1 < len(fv.Content); m += 2 {
					switch name := fv.Content[m].Value; name {
					case "each":
					case "fields":
						f.Fields = p.fields(fv.Content[m], deref(fv.Content[m+1]), path+fk.Value+"[].")
					default:
						p.errorf(fv.Content[m], "field %s%s: an array of a many join takes each and fields, not %q", path, fk.Value, name)
					}
				}
				if len(f.Fields) == 0 {
					p.errorf(fv, "field %s%s: each needs fields: the fields of every element", path, fk.Value)
				}
				break
			}
			f.Fields = p.fields(fk, fv, path+fk.Value+".")
			if len(f.Fields) == 0 {
				p.errorf(fv, "field %s%s: an object needs at least one field", path, fk.Value)
			}
		default:
			p.errorf(fv, "field %s%s: want an expression or a mapping of fields, got %s", path, fk.Value, describe(fv))
		}
		out = append(out, f)
	}
	return out
}

// Validate checks the spec without a source table: required settings,
// allowed values, field names, key names and expression syntax. The error
// joins every problem, each a *CompileError ("file:line:col: message").
func (s *Spec) Validate() error {
	v := &validator{s: s}
	v.run()
	return errors.Join(v.errs...)
}

type validator struct {
	s    *Spec
	errs []error
}

func (v *validator) errAt(key string, format string, args ...any) {
	p, ok := v.s.Pos[key]
	if !ok {
		p = v.s.root
	}
	v.errs = append(v.errs, v.s.src.errorf(p.Line, p.Column, format, args...))
}

func (v *validator) errLoc(l loc, format string, args ...any) {
	v.errs = append(v.errs, v.s.src.errorf(l.line, l.col, format, args...))
}

func (v *validator) run() {
	s := v.s
	switch {
	case s.View == "":
		v.errAt("view", "view is required: the name of the view this file builds")
	case !viewRE.MatchString(s.View):
		v.errAt("view", "view %q: use lower-case letters, digits and _ only", s.View)
	}
	if s.Source == "" {
		v.errAt("source", "source is required: the source table (\"table\", \"schema.table\" or \"db.table\")")
	} else if parts := strings.Split(s.Source, "."); len(parts) > 3 || slicesContainsEmpty(parts) {
		v.errAt("source", "source %q: want \"table\", \"schema.table\", \"db.table\" or \"source.schema.table\"", s.Source)
	}
	v.validateJoins()
	v.oneOf("deletes", s.Deletes, deletesVals)
	v.oneOf("on_error", s.OnError, onErrorVals)
	v.oneOf("schema_change", s.SchemaChange, schemaVals)
	if !s.AllColumns && len(s.Fields) == 0 {
		v.errAt("fields", "no fields: list the view's fields, or set all_columns: true")
	}
	if len(s.Exclude) > 0 && !s.AllColumns {
		v.errAt("exclude", "exclude only applies with all_columns: true")
	}
	v.names("exclude", s.Exclude)
	v.names("key", s.Key)
	v.fields(s.Fields, "")
	if s.Where != "" {
		v.syntax(s.Where, s.locs["where"], "where")
	}
	top := map[string]*FieldSpec{}
	for i := range s.Fields {
		top[s.Fields[i].Name] = &s.Fields[i]
	}
	names := make([]string, 0, len(s.Fields))
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	for i, k := range s.Key {
		l := s.locs[fmt.Sprintf("key.%d", i)]
		f, ok := top[k]
		switch {
		case k == DeletedField:
			v.errLoc(l, "key: %s cannot be a key field", DeletedField)
		case !ok && !s.AllColumns:
			v.errLoc(l, "key: %q is not a field of the view%s", k, suggest(k, names))
		case ok && len(f.Fields) > 0:
			v.errLoc(l, "key: %q is an object; a key field must be a single value", k)
		}
	}
	if s.Deletes == DeletesSoft {
		if f, ok := top[DeletedField]; ok {
			v.errLoc(loc{line: f.Line, col: f.Column}, "field %s is added by deletes: soft; rename this field", DeletedField)
		}
	}
}

func slicesContainsEmpty(parts []string) bool {
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return true
		}
	}
	return false
}

func (v *validator) oneOf(key, val string, allowed []string) {
	if val == "" {
		return
	}
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.errAt(key, "%s: %q is not one of %s%s", key, val, strings.Join(allowed, ", "), suggest(val, allowed))
}

func (v *validator) names(what string, list []string) {
	seen := map[string]bool{}
	for i, n := range list {
		l := v.s.locs[fmt.Sprintf("%s.%d", what, i)]
		switch {
		case n == "":
			v.errLoc(l, "%s: empty name", what)
		case seen[n]:
			v.errLoc(l, "%s: %q is listed twice", what, n)
		}
		seen[n] = true
	}
}

func (v *validator) fields(fs []FieldSpec, path string) {
	seen := map[string]bool{}
	for _, f := range fs {
		at := loc{line: f.Line, col: f.Column}
		switch {
		case !fieldNameRE.MatchString(f.Name):
			v.errLoc(at, "field %s%q: a field name is a letter or _ followed by letters, digits or _", path, f.Name)
		case seen[f.Name]:
			v.errLoc(at, "field %s%s is declared twice", path, f.Name)
		}
		seen[f.Name] = true
		switch {
		case f.Each != "":
			v.fields(f.Fields, path+f.Name+"[].")
		case len(f.Fields) > 0:
			if f.Expr != "" {
				v.errLoc(at, "field %s%s: has both an expression and nested fields", path, f.Name)
			}
			v.fields(f.Fields, path+f.Name+".")
		case strings.TrimSpace(f.Expr) == "":
			v.errLoc(f.expr, "field %s%s: no expression", path, f.Name)
		default:
			v.syntax(f.Expr, f.expr, "field "+path+f.Name)
		}
	}
}

// syntax parses an expression, reporting a syntax error at its position.
func (v *validator) syntax(code string, l loc, what string) {
	if _, err := parser.Parse(code); err != nil {
		v.errs = append(v.errs, exprError(v.s.src, l, code, what, err, ""))
	}
}

// exprError turns an expr error into a CompileError positioned in the file.
func exprError(src *source, l loc, code, what string, err error, hint string) *CompileError {
	msg, off := err.Error(), 0
	var fe *file.Error
	if errors.As(err, &fe) {
		msg, off = fe.Message, fe.From
	}
	line, col := src.at(l, code, off)
	e := src.errorf(line, col, "%s: %s%s", what, msg, hint)
	e.Err = err
	return e
}
