package pipelines

import (
	"context"

	"github.com/beamsync/beamsync/sources/files"
	"github.com/beamsync/beamsync/sources/mysql"
	"github.com/beamsync/beamsync/sources/postgres"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
)

// multiSource reads a job's several sources (sources:): each is described
// and read on its own — each snapshot consistent in itself — and its
// tables carry the source's name (change.Table.Source).
type multiSource struct {
	parts []sourcePart
}

type sourcePart struct {
	name string
	src  source
}

func newMultiSource(j *Job) (source, error) {
	m := &multiSource{}
	for i := range j.Sources {
		src, err := newSourceFor(j, &j.Sources[i])
		if err != nil {
			return nil, err
		}
		m.parts = append(m.parts, sourcePart{name: j.Sources[i].Name, src: src})
	}
	return m, nil
}

func (m *multiSource) describe(ctx context.Context) ([]*change.Table, error) {
	var all []*change.Table
	for _, p := range m.parts {
		ts, err := p.src.describe(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			t.Source = p.name
		}
		all = append(all, ts...)
	}
	return all, nil
}

func (m *multiSource) read(s beam.Scope, tables []*change.Table) (beam.PCollection, beam.PCollection) {
	var batches, deads []beam.PCollection
	for _, p := range m.parts {
		var mine []*change.Table
		for _, t := range tables {
			if t.Source == p.name {
				mine = append(mine, t)
			}
		}
		b, d := p.src.read(s.Scope(p.name), mine)
		batches = append(batches, b)
		if d.IsValid() {
			deads = append(deads, d)
		}
	}
	var dead beam.PCollection
	switch len(deads) {
	case 0:
	case 1:
		dead = deads[0]
	default:
		dead = beam.Flatten(s, deads...)
	}
	if len(batches) == 1 {
		return batches[0], dead
	}
	return beam.Flatten(s, batches...), dead
}

// sourceWhat names a job's source for messages.
func sourceWhat(j *Job) string {
	if len(j.Sources) > 0 {
		return "a job with several sources (sources:)"
	}
	return "source kind " + j.Source.Kind
}

// sourceKind is the kind of a job's single source ("" for several).
func (j *Job) sourceKind() string {
	if len(j.Sources) > 0 {
		return ""
	}
	return j.Source.Kind
}

// SourceSpecs returns the job's sources: its one source, or each of
// sources:.
func (j *Job) SourceSpecs() []*SourceSpec {
	if len(j.Sources) == 0 {
		return []*SourceSpec{&j.Source}
	}
	out := make([]*SourceSpec, len(j.Sources))
	for i := range j.Sources {
		out[i] = &j.Sources[i]
	}
	return out
}

// SnapshotConfig returns what a snapshot of a postgres or mysql source
// needs: the DSN (from the environment) and its chunking settings.
func (j *Job) SnapshotConfig(s *SourceSpec) (dsn string, pg postgres.Config, my mysql.Config, err error) {
	dsn, err = j.dsnOf(s)
	return dsn, s.postgresConfig(), s.mysqlConfig(), err
}

// FilesConfigsOf returns the file configurations of a files source.
func (j *Job) FilesConfigsOf(s *SourceSpec) []files.Config { return j.filesConfigs(s) }
