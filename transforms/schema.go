package transforms

import (
	"fmt"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/mappings"
)

// Schema changes. A view's mapping is compiled against the table schema
// the job saw when it started. A stream may bring batches of a changed
// table (a source re-reads a table's schema after DDL). For such a batch:
//
//   - when every column the mapping reads is still there with its kind,
//     the mapping is compiled again against the new schema: added columns
//     are ignored, or passed through by all_columns;
//   - otherwise the view's schema_change policy decides: fail stops the
//     pipeline with an error naming the columns; dead_letter sends the
//     batch's rows to the dead-letter output; null reads the lost columns
//     as null (a retyped column is lost too).

// shapeOf fingerprints the columns of a table (names and kinds, in order).
func shapeOf(t *change.Table) string {
	var b strings.Builder
	for _, c := range t.Columns {
		b.WriteString(c.Name)
		b.WriteByte(0)
		b.WriteByte(byte(c.Kind))
		b.WriteByte(0)
	}
	for _, k := range t.Key {
		fmt.Fprintf(&b, "k%d", k)
	}
	return b.String()
}

// shapedView is a view's mapping for one shape of its table.
type shapedView struct {
	m    *mappings.Mapping
	eval *mappings.Evaluator
	// adapt, when set, rewrites a change of the new shape into the shape
	// the mapping was compiled for (policy null).
	adapt []int // base column i <- new column adapt[i], -1: null
	// dead, when set, is the reason every row of this shape is
	// dead-lettered (policy dead_letter).
	dead string
}

// forShape returns how the view maps batches of table t.
func (bv *boundView) forShape(t *change.Table) (*shapedView, error) {
	shape := shapeOf(t)
	if sv, ok := bv.shapes[shape]; ok {
		return sv, nil
	}
	base := bv.m.Table()
	var lost []string
	adapt := make([]int, len(base.Columns))
	for i, c := range base.Columns {
		j := t.ColumnIndex(c.Name)
		adapt[i] = j
		if j >= 0 && t.Columns[j].Kind != c.Kind && c.Kind != change.KindAny {
			adapt[i] = -1
		}
	}
	for _, name := range bv.m.UsedColumns() {
		i := base.ColumnIndex(name)
		switch j := t.ColumnIndex(name); {
		case j < 0:
			lost = append(lost, fmt.Sprintf("%s was dropped", name))
		case adapt[i] < 0:
			lost = append(lost, fmt.Sprintf("%s changed from %s to %s", name, base.Columns[i].Type, t.Columns[j].Type))
		}
	}
	var sv *shapedView
	if len(lost) == 0 {
		spec := *bv.m.Spec()
		spec.Exclude = nil // a dropped column need not be excluded any more
		for _, name := range bv.m.Spec().Exclude {
			if t.ColumnIndex(name) >= 0 {
				spec.Exclude = append(spec.Exclude, name)
			}
		}
		m, err := mappings.Compile(&spec, t)
		if err != nil {
			return nil, fmt.Errorf("view %s: table %s changed and the mapping no longer compiles against it: %w", bv.m.View(), t.QualifiedName(), err)
		}
		sv = &shapedView{m: m, eval: m.NewEvaluator()}
	} else {
		what := fmt.Sprintf("table %s changed under view %s: %s", t.QualifiedName(), bv.m.View(), strings.Join(lost, "; "))
		switch bv.m.Spec().SchemaChange {
		case mappings.SchemaChangeDeadLetter:
			sv = &shapedView{m: bv.m, dead: what + " (schema_change: dead_letter)"}
		case mappings.SchemaChangeNull:
			sv = &shapedView{m: bv.m, eval: bv.m.NewEvaluator(), adapt: adapt}
		default:
			return nil, fmt.Errorf("%s; the mapping reads it. Update the mapping %s to the new schema, or set schema_change: dead_letter (or null) in it", what, bv.file)
		}
	}
	bv.shapes[shape] = sv
	return sv, nil
}

// adaptChange rewrites a change's images into the base column order.
func adaptChange(c *change.Change, adapt []int) change.Change {
	out := *c
	out.Before, out.After = adaptRow(c.Before, adapt), adaptRow(c.After, adapt)
	return out
}

func adaptRow(row []any, adapt []int) []any {
	if row == nil {
		return nil
	}
	out := make([]any, len(adapt))
	for i, j := range adapt {
		if j >= 0 && j < len(row) {
			out[i] = row[j]
		}
	}
	return out
}
