package pipelines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/yamlspec"
	"github.com/beamsync/beamsync/mappings"
	"github.com/beamsync/beamsync/transforms"
)

// Plan is a job made ready to run: the source's tables are described and
// every mapping is compiled (type-checked) against the table it reads.
type Plan struct {
	Job    *Job
	Tables []*change.Table
	Views  []PlannedView

	cursorFrom map[string]string // the saved cursor watermarks (source.cursor)
}

// PlannedView is one view of a plan.
type PlannedView struct {
	Name    string
	Mapping *mappings.Mapping
	View    transforms.View
	Sinks   []SinkSpec
}

// Prepare connects to the source to describe its tables and compiles every
// mapping against its table. A job that can never work is refused here,
// before anything runs, with a message naming the fix.
func Prepare(ctx context.Context, j *Job) (*Plan, error) {
	src, err := newSource(j)
	if err != nil {
		return nil, err
	}
	tables, err := src.describe(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkCursor(j, tables); err != nil {
		return nil, err
	}
	p := &Plan{Job: j, Tables: tables}
	var errs []error
	seen := map[string]string{}
	for i, ref := range j.Views {
		path := j.Path(ref.Mapping)
		text, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading mapping: %w", err))
			continue
		}
		spec, err := mappings.Parse(path, text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[spec.View]; dup {
			errs = append(errs, j.errAt(fmt.Sprintf("views[%d]", i), "view %q is declared twice (%s and %s)", spec.View, prev, path))
			continue
		}
		seen[spec.View] = path
		joined := map[string]*change.Table{}
		m, err := mappings.CompileView(spec, func(name string) (*change.Table, error) {
			t, err := matchTable(tables, name, j.sourceKind())
			if err == nil {
				joined[name] = t
			}
			return t, err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		view := transforms.View{File: path, Text: string(text), Table: m.Table()}
		if len(m.Joins()) > 0 {
			view.Joined = joined
		}
		p.Views = append(p.Views, PlannedView{
			Name:    spec.View,
			Mapping: m,
			View:    view,
			Sinks:   j.sinksOf(ref),
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func (j *Job) sinksOf(ref ViewRef) []SinkSpec {
	if len(ref.Sinks) == 0 {
		return j.Sinks
	}
	var out []SinkSpec
	for _, s := range j.Sinks {
		for _, n := range ref.Sinks {
			if s.Name == n {
				out = append(out, s)
			}
		}
	}
	return out
}

// addTableFix says how a job of a source kind comes to read one more table.
func addTableFix(kind string) string {
	switch kind {
	case SourceFiles:
		return "add a file of it to source.files (its table: field, or its events' source.table), or fix the name"
	case SourceKafka:
		return "add its topic to source.kafka.topics (or declare it in source.kafka.tables), or fix the name"
	}
	return "add it to source.tables or fix the name"
}

// matchTable finds the table a mapping names: "schema.table", "db.table"
// or a bare table name that is unique among the job's tables; in a job with
// several sources, any of these after the source's name
// ("crm.customers", "shop.public.orders").
func matchTable(tables []*change.Table, source, kind string) (*change.Table, error) {
	var hits []*change.Table
	for _, t := range tables {
		names := []string{t.QualifiedName()}
		if t.Database != "" && t.Database+"."+t.Name != names[0] {
			names = append(names, t.Database+"."+t.Name)
		}
		if t.Source == "" {
			if slices.Contains(names, source) {
				return t, nil
			}
		} else {
			for _, n := range append(slices.Clone(names), t.Name) {
				if t.Source+"."+n == source {
					return t, nil
				}
			}
			if slices.Contains(names, source) {
				hits = append(hits, t) // unique across the sources, or ambiguous
				continue
			}
		}
		if t.Name == source {
			hits = append(hits, t)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.QualifiedName()
			if t.Source != "" {
				names[i] = t.Source + "." + names[i]
			}
		}
		sort.Strings(names)
		reads := "the job reads no table"
		if len(names) > 0 {
			reads = "the job reads: " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("table %q is not among the job's source tables%s (%s); %s",
			source, yamlspec.DidYouMean(source, names), reads, addTableFix(kind))
	}
	return nil, fmt.Errorf("table name %q is ambiguous: qualify it with its schema (or its source's name)", source)
}
