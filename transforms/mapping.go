package transforms

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/mappings"
)

// View is a mapping bound to the table it reads: what the mapping stage needs
// to compile it on a worker. It is serialised into the pipeline.
type View struct {
	// File is the mapping file's name, for error messages.
	File string `json:"file"`
	// Text is the mapping file's content.
	Text string `json:"text"`
	// Table is the schema of the source table the view reads.
	Table *change.Table `json:"table"`
	// Sinks is the number of sinks the view's records go to: in a stream
	// pipeline each of them accounts for the records (see internal/ack).
	Sinks int `json:"sinks"`
	// Joined holds, for a view with joins, every table the mapping names
	// (its source and its joins), by the name it uses.
	Joined map[string]*change.Table `json:"joined,omitempty"`
}

// Compile parses and compiles the view's mapping against its table (and,
// for a view with joins, the joined tables).
func (v View) Compile() (*mappings.Mapping, error) {
	spec, err := mappings.Parse(v.File, []byte(v.Text))
	if err != nil {
		return nil, err
	}
	if len(v.Joined) == 0 {
		return mappings.Compile(spec, v.Table)
	}
	return mappings.CompileView(spec, func(name string) (*change.Table, error) {
		if t, ok := v.Joined[name]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("table %q was not described for the view", name)
	})
}

// Map applies every view's mapping to the change batches of its table. It
// returns the view records (one change.RecordBatch per input batch and view)
// and the dead letters of rows a mapping failed on.
func Map(s beam.Scope, views []View, batches beam.PCollection) (records, dead beam.PCollection) {
	s = s.Scope("Map")
	return beam.ParDo2(s, &mapFn{Views: views}, batches)
}

type mapFn struct {
	Views []View `json:"views"`

	byTable map[string][]*boundView
}

type boundView struct {
	file   string
	sinks  int
	base   string                 // the shape the mapping was compiled for
	shapes map[string]*shapedView // other shapes of the table (schema.go)
	last   *change.Table          // the table of the last batch, known to be of shape lastOK
	lastOK bool
	m      *mappings.Mapping
	eval   *mappings.Evaluator
	buf    []change.Record
}

func (f *mapFn) Setup() error {
	f.byTable = make(map[string][]*boundView)
	for _, v := range f.Views {
		m, err := v.Compile()
		if err != nil {
			return fmt.Errorf("compiling mapping %s: %w", v.File, err)
		}
		name := v.Table.ID()
		f.byTable[name] = append(f.byTable[name], &boundView{file: v.File, sinks: v.Sinks, base: shapeOf(v.Table),
			shapes: map[string]*shapedView{}, m: m, eval: m.NewEvaluator()})
	}
	return nil
}

func (f *mapFn) ProcessElement(ctx context.Context, b change.Batch, emit func(change.RecordBatch), dead func(change.DeadLetter)) error {
	if b.Table == nil {
		return errors.New("mapping: batch without a table schema")
	}
	views := f.byTable[b.Table.ID()]
	if b.Ack.IsZero() {
		for _, bv := range views {
			if err := bv.apply(b, emit, dead); err != nil {
				return err
			}
		}
		return nil
	}
	// A stream's batch: account for what it becomes before emitting any of
	// it (internal/ack), so its unit cannot complete while they are in
	// flight.
	var rbs []change.RecordBatch
	var dls []change.DeadLetter
	parts := 0
	for _, bv := range views {
		err := bv.apply(b, func(rb change.RecordBatch) {
			rb.Ack = b.Ack
			rbs = append(rbs, rb)
			parts += bv.sinks
		}, func(d change.DeadLetter) {
			d.Ack = b.Ack
			dls = append(dls, d)
			parts++
		})
		if err != nil {
			return err
		}
	}
	ack.Fork(b.Ack, parts)
	for _, rb := range rbs {
		emit(rb)
	}
	for _, d := range dls {
		dead(d)
	}
	return nil
}

func (bv *boundView) apply(b change.Batch, emit func(change.RecordBatch), dead func(change.DeadLetter)) error {
	view := bv.m.View()
	eval, m := bv.eval, bv.m
	var adapt []int
	if b.Table != bv.last {
		bv.last, bv.lastOK = b.Table, shapeOf(b.Table) == bv.base
	}
	if !bv.lastOK {
		sv, err := bv.forShape(b.Table)
		if err != nil {
			return err
		}
		if sv.dead != "" {
			for i := range b.Changes {
				dead(MappingDeadLetter(view, b.Table, &b.Changes[i], fmt.Errorf("%s", sv.dead)))
			}
			runstats.Add(runstats.Dead, view, int64(len(b.Changes)))
			return nil
		}
		eval, m, adapt = sv.eval, sv.m, sv.adapt
	}
	out := make([]change.Record, 0, len(b.Changes))
	var deadN, filtered int64
	for i := range b.Changes {
		c := &b.Changes[i]
		if adapt != nil {
			ac := adaptChange(c, adapt)
			c = &ac
		}
		before := len(out)
		var err error
		out, err = eval.Apply(c, out)
		if err != nil {
			out = out[:before]
			if m.OnError() == "fail" {
				return fmt.Errorf("%w (%s; the view's on_error is fail)", err, rowRef(c))
			}
			dead(MappingDeadLetter(view, b.Table, c, err))
			deadN++
			continue
		}
		if len(out) == before {
			filtered++
		}
	}
	runstats.Add(runstats.Mapped, view, int64(len(out)))
	runstats.Add(runstats.Filtered, view, filtered)
	runstats.Add(runstats.Dead, view, deadN)
	if len(out) > 0 {
		emit(change.RecordBatch{View: view, Records: out})
	}
	return nil
}

// MappingDeadLetter describes a row a mapping failed on.
func MappingDeadLetter(view string, t *change.Table, c *change.Change, err error) change.DeadLetter {
	return change.DeadLetter{
		View:      view,
		Stage:     change.StageMap,
		Table:     t.QualifiedName(),
		Key:       change.JSON(change.AppendJSON(nil, c.Key)),
		Position:  c.Position,
		SourcePos: c.SourcePos,
		Reason:    err.Error(),
		Row:       change.RowJSON(t, c.Row()),
	}
}

// rowRef names a change's row for an error: "row 17 at orders.jsonl:3",
// or "a row without a key at ..." when the key is empty.
func rowRef(c *change.Change) string {
	if k := change.KeyString(c.Key); len(c.Key) > 0 && k != "" {
		return "row " + k + " at " + sourcePos(c)
	}
	return "a row without a key at " + sourcePos(c)
}

func sourcePos(c *change.Change) string {
	if c.SourcePos != "" {
		return c.SourcePos
	}
	return "position " + c.Position.String()
}

func init() {
	register.DoFn4x1[context.Context, change.Batch, func(change.RecordBatch), func(change.DeadLetter), error](&mapFn{})
	register.Emitter1[change.RecordBatch]()
	register.Emitter1[change.DeadLetter]()
}
