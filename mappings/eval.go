package mappings

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/beamsync/beamsync/change"
)

// Docs and keys are carved from slabs, so that mapping a row costs a
// fraction of an allocation. A slab stays alive while any record made from
// it does: at most slabValues values and slabDocs docs.
const (
	slabValues = 256
	slabDocs   = 32
)

// Evaluator maps changes with one Mapping. It reuses its VM, its
// expression environment and its memory between rows: it is not safe for
// concurrent use (make one per goroutine with Mapping.NewEvaluator).
//
// The records it returns share the mapping's field-name slice (Doc.Names):
// treat docs and keys as read-only.
type Evaluator struct {
	m    *Mapping
	vm   vm.VM
	env  map[string]any
	args []any // arguments of direct calls
	vals []any
	docs []change.Doc

	// Joins: the values of the aliases for the row being mapped, and the
	// evaluators of array fields built from many joins.
	aliasVals map[string]any
	subs      map[*eachPlan]*Evaluator
}

// NewEvaluator returns an evaluator for the mapping.
func (m *Mapping) NewEvaluator() *Evaluator {
	env := make(map[string]any, len(m.envKeys)+len(m.specials))
	for _, k := range m.envKeys {
		env[k] = nil
	}
	for _, k := range m.specials {
		env[k] = nil
	}
	for _, k := range m.aliases {
		env[k] = nil
	}
	return &Evaluator{m: m, env: env, args: make([]any, 0, 8)}
}

// Pre-boxed op letters, so setting _op does not allocate.
var opValues = map[change.Op]any{change.OpRead: "r", change.OpCreate: "c", change.OpUpdate: "u", change.OpDelete: "d"}

// Apply maps one change and appends 0, 1 or 2 records to dst:
//
//   - r, c: an upsert when the row matches where, else nothing;
//   - u: an upsert when the row matches where, else a delete of its key (a
//     row that stops matching leaves the view); preceded by a delete of the
//     old key when the update changed the key (and the before image holds
//     the columns the key is computed from);
//   - d: per the deletes setting, a delete of the key computed from the
//     before image (where is not evaluated; without a before image, from the
//     change's Key), nothing, or (soft) the mapped before image with
//     _deleted: true.
//
// A row that cannot be mapped returns dst unchanged and a *RowError.
func (e *Evaluator) Apply(c *change.Change, dst []change.Record) ([]change.Record, error) {
	m := e.m
	switch c.Op {
	case change.OpRead, change.OpCreate:
		row, err := e.image(c.After, "after")
		if err != nil {
			return dst, err
		}
		e.load(row, c)
		if ok, err := e.match(row); err != nil || !ok {
			return dst, err
		}
		doc, key, err := e.mapRow(row, false)
		if err != nil {
			return dst, err
		}
		return append(dst, e.record(c, key, doc)), nil

	case change.OpUpdate:
		row, err := e.image(c.After, "after")
		if err != nil {
			return dst, err
		}
		e.load(row, c)
		ok, err := e.match(row)
		if err != nil {
			return dst, err
		}
		var doc *change.Doc
		var key []any
		if ok {
			doc, key, err = e.mapRow(row, false)
		} else {
			key, err = e.keyOf(row)
		}
		if err != nil {
			return dst, err
		}
		old, err := e.oldKey(c)
		if err != nil {
			return dst, err
		}
		if old != nil && change.CompareKeys(old, key) != 0 {
			dst = append(dst, e.record(c, old, nil))
		}
		return append(dst, e.record(c, key, doc)), nil // doc is nil (a delete) when the row does not match

	case change.OpDelete:
		if m.deletes == DeletesIgnore {
			return dst, nil
		}
		before := c.Before
		if before == nil {
			before = e.keyImage(c)
		}
		row, err := e.image(before, "before")
		if err != nil {
			return dst, err
		}
		e.load(row, c)
		if m.soft {
			doc, key, err := e.mapRow(row, true)
			if err != nil {
				return dst, err
			}
			return append(dst, e.record(c, key, doc)), nil
		}
		key, err := e.keyOf(row)
		if err != nil {
			return dst, err
		}
		return append(dst, e.record(c, key, nil)), nil
	}
	return dst, &RowError{View: m.spec.View, Err: fmt.Errorf("unknown op %q", c.Op)}
}

func (e *Evaluator) record(c *change.Change, key []any, doc *change.Doc) change.Record {
	return change.Record{Key: key, Delete: doc == nil, Position: c.Position, SourcePos: c.SourcePos, Doc: doc}
}

// image checks that a row image fits the table.
func (e *Evaluator) image(row []any, which string) ([]any, error) {
	if n := len(e.m.table.Columns); len(row) != n {
		if row == nil {
			return nil, &RowError{View: e.m.spec.View, Err: fmt.Errorf("the change has no %s image", which)}
		}
		return nil, &RowError{View: e.m.spec.View, Err: fmt.Errorf("the %s image has %d values, but %s has %d columns",
			which, len(row), e.m.table.QualifiedName(), n)}
	}
	return row, nil
}

// keyImage builds a before image from a change's primary key, for a delete
// that has no before image: its other columns are Unchanged.
func (e *Evaluator) keyImage(c *change.Change) []any {
	t := e.m.table
	if len(t.Key) == 0 || len(c.Key) != len(t.Key) {
		return nil
	}
	row := make([]any, len(t.Columns))
	for i := range row {
		row[i] = change.Unchanged
	}
	for i, k := range t.Key {
		row[k] = c.Key[i]
	}
	return row
}

// load sets the env's values for a row.
func (e *Evaluator) load(row []any, c *change.Change) {
	m := e.m
	for i, col := range m.envCols {
		e.env[m.envKeys[i]] = row[col]
	}
	for _, a := range m.aliases {
		e.env[a] = e.aliasVals[a]
	}
	for _, s := range m.specials {
		switch s {
		case "_op":
			e.env[s] = opValues[c.Op]
		case "_position":
			e.env[s] = int64(c.Position)
		case "_commit_time":
			e.env[s] = c.CommitTime.UTC()
		case "_table":
			e.env[s] = m.tableName
		}
	}
}

// match evaluates where on the loaded row (null counts as false).
func (e *Evaluator) match(row []any) (bool, error) {
	if e.m.where == nil {
		return true, nil
	}
	v, err := e.run(e.m.where, row)
	if err != nil {
		return false, err
	}
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	}
	return false, &RowError{View: e.m.spec.View, Field: "where", Err: fmt.Errorf("where must be a bool, got %s", typeName(v))}
}

// oldKey returns the key of the before image of an update, or nil when the
// image does not hold the columns the key is computed from. It loads the
// before image into the env.
func (e *Evaluator) oldKey(c *change.Change) ([]any, error) {
	m := e.m
	if len(c.Before) != len(m.table.Columns) {
		return nil, nil
	}
	for _, col := range m.keyCols {
		if change.IsUnchanged(c.Before[col]) {
			return nil, nil
		}
	}
	e.load(c.Before, c)
	return e.keyOf(c.Before)
}

func (e *Evaluator) alloc(n int) []any {
	if n > len(e.vals) {
		if n > slabValues/4 {
			return make([]any, n)
		}
		e.vals = make([]any, slabValues)
	}
	s := e.vals[:n:n]
	e.vals = e.vals[n:]
	return s
}

func (e *Evaluator) newDoc(names []string, vals []any) *change.Doc {
	if len(e.docs) == 0 {
		e.docs = make([]change.Doc, slabDocs)
	}
	d := &e.docs[0]
	e.docs = e.docs[1:]
	d.Names, d.Values = names, vals
	return d
}

// mapRow maps the loaded row to a doc and its key.
func (e *Evaluator) mapRow(row []any, deleted bool) (*change.Doc, []any, error) {
	m := e.m
	var vals []any
	if m.identity {
		// The doc shares the row image: only check it holds every value.
		for i, v := range row {
			if change.IsUnchanged(v) {
				return nil, nil, e.noValue(m.out[i].path, i)
			}
		}
		vals = row[:len(row):len(row)]
	} else {
		vals = e.alloc(len(m.names))
		for i := range m.out {
			v, err := e.value(&m.out[i], row)
			if err != nil {
				return nil, nil, err
			}
			vals[i] = v
		}
		if m.soft {
			vals[len(vals)-1] = deleted
		}
	}
	for _, k := range m.key {
		if vals[k] == nil {
			return nil, nil, e.nullKey(k)
		}
	}
	var key []any
	if m.keyRun >= 0 {
		end := m.keyRun + len(m.key)
		key = vals[m.keyRun:end:end]
	} else {
		key = e.alloc(len(m.key))
		for j, k := range m.key {
			key[j] = vals[k]
		}
	}
	return e.newDoc(m.names, vals), key, nil
}

// keyOf computes only the key of the loaded row.
func (e *Evaluator) keyOf(row []any) ([]any, error) {
	m := e.m
	key := e.alloc(len(m.key))
	for j, k := range m.key {
		v, err := e.value(&m.out[k], row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, e.nullKey(k)
		}
		key[j] = v
	}
	return key, nil
}

func (e *Evaluator) nullKey(k int) error {
	return &RowError{View: e.m.spec.View, Field: e.m.out[k].path, Err: errors.New("the key field is null")}
}

func (e *Evaluator) value(f *outField, row []any) (any, error) {
	switch {
	case f.col >= 0:
		v := row[f.col]
		if change.IsUnchanged(v) {
			return nil, e.noValue(f.path, f.col)
		}
		return v, nil
	case f.prog != nil:
		return e.run(f.prog, row)
	case f.sub != nil:
		vals := e.alloc(len(f.sub))
		for i := range f.sub {
			v, err := e.value(&f.sub[i], row)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return e.newDoc(f.subNames, vals), nil
	case f.each != nil:
		return e.eachValue(f)
	}
	return f.konst, nil
}

func (e *Evaluator) noValue(field string, col int) error {
	return &RowError{View: e.m.spec.View, Field: field,
		Err: fmt.Errorf("column %s: %w", e.m.table.Columns[col].Name, ErrNoValue)}
}

// run evaluates a program on the loaded row.
func (e *Evaluator) run(p *program, row []any) (any, error) {
	for _, col := range p.cols {
		if change.IsUnchanged(row[col]) {
			return nil, e.noValue(p.field, col)
		}
	}
	var v any
	var err error
	if p.direct != nil {
		v, err = e.call(p.direct, row)
	} else if v, err = e.vm.Run(p.code, e.env); err != nil {
		err = runError(err)
	}
	if err != nil {
		return nil, &RowError{View: e.m.spec.View, Field: p.field, Err: err}
	}
	if v, err = toValue(v); err != nil {
		return nil, &RowError{View: e.m.spec.View, Field: p.field, Err: err}
	}
	return v, nil
}

// call makes a direct call.
func (e *Evaluator) call(d *direct, row []any) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%v", r)
		}
	}()
	args := e.args[:0]
	for _, a := range d.args {
		if a.col >= 0 {
			args = append(args, row[a.col])
		} else {
			args = append(args, a.konst)
		}
	}
	e.args = args
	v, err = d.fn(args...)
	clear(args)
	return v, err
}

// runError returns the error a helper returned, or expr's message without
// its snippet.
func runError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Prev != nil {
			return fe.Prev
		}
		return errors.New(fe.Message)
	}
	return err
}
