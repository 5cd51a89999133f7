package pipelines

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/yamlspec"
	"github.com/beamsync/beamsync/sinks/bigquery"
	"github.com/beamsync/beamsync/sinks/dynamodb"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/sinks/opensearch"
)

// sinkResult is what every sink's Write yields.
type sinkResult struct {
	Written, DeadLetters beam.PCollection
}

// sinkKind is everything the pipeline knows of one kind of sink.
type sinkKind struct {
	// block returns the kind's configuration block of a spec (nil when
	// absent); nil for a kind configured by flat fields (file).
	block func(s *SinkSpec) validator
	// validate checks the spec beyond its block's own Validate.
	validate func(j *Job, path string, s *SinkSpec) []error
	// write adds the sink's writes of the named views to the pipeline.
	write func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error)
	// writeStream, when set, replaces write in a stream pipeline.
	writeStream func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error)
	// where says where a view lands, for the run summary.
	where func(j *Job, s SinkSpec, view string) string
	// streamErr says why the sink cannot hold views in a stream; nil
	// means it cannot stream at all.
	streamErr func(s SinkSpec) error
}

type validator interface{ Validate() error }

var sinkKinds = map[string]sinkKind{
	SinkFile: {
		validate: func(j *Job, p string, s *SinkSpec) []error {
			var errs []error
			if s.Dir == "" {
				errs = append(errs, j.errAt(p+".dir", "required for a file sink: the directory the view files are written to"))
			}
			if s.Mode != "" && s.Mode != file.ModeReplace && s.Mode != file.ModeUpsert {
				errs = append(errs, j.errAt(p+".mode", "%q is not a file sink mode: use replace or upsert", s.Mode))
			}
			if s.SpillRows < 0 {
				errs = append(errs, j.errAt(p+".spill_rows", "must not be negative"))
			}
			return errs
		},
		write: func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error) {
			cfg := file.Config{Dir: p.Job.Path(s.Dir), Mode: s.Mode, SpillRows: s.SpillRows}
			r := file.Write(sc, cfg, s.Name, views, records)
			return sinkResult{r.Written, r.DeadLetters}, nil
		},
		writeStream: func(sc beam.Scope, p *Plan, s SinkSpec, _ []string, records beam.PCollection) (sinkResult, error) {
			cfg := file.Config{Dir: p.Job.Path(s.Dir), Mode: s.Mode, SpillRows: s.SpillRows}
			dead, err := file.WriteStream(sc, cfg, s.Name, records)
			return sinkResult{DeadLetters: dead}, err
		},
		where: func(j *Job, s SinkSpec, view string) string {
			return filepath.Join(j.Path(s.Dir), view+".jsonl")
		},
		streamErr: func(s SinkSpec) error {
			if s.Mode != file.ModeUpsert {
				return fmt.Errorf("a file sink follows a stream in mode: upsert (it is %q): set mode: upsert on the sink", cmp.Or(s.Mode, file.ModeReplace))
			}
			return nil
		},
	},
	SinkDynamoDB: {
		block: func(s *SinkSpec) validator { return nilIfAbsent(s.DynamoDB) },
		write: func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error) {
			r, err := dynamodb.TryWrite(sc, *s.DynamoDB, s.Name, p.schemas(views), records)
			return sinkResult{r.Written, r.DeadLetters}, err
		},
		where: func(_ *Job, s SinkSpec, view string) string {
			return "dynamodb table " + s.DynamoDB.TableName(view)
		},
		streamErr: func(SinkSpec) error { return nil },
	},
	SinkBigQuery: {
		block: func(s *SinkSpec) validator { return nilIfAbsent(s.BigQuery) },
		write: func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error) {
			r, err := bigquery.TryWrite(sc, *s.BigQuery, s.Name, p.schemas(views), records)
			return sinkResult{r.Written, r.DeadLetters}, err
		},
		where: func(_ *Job, s SinkSpec, view string) string {
			c := s.BigQuery.WithDefaults()
			project := c.Project
			if project == "" {
				project = "<default project>"
			}
			return "bigquery table " + project + "." + c.Dataset + "." + c.TableName(view)
		},
		streamErr: func(s SinkSpec) error {
			if s.BigQuery.Mode == bigquery.ModeReplace {
				return errors.New("a bigquery sink follows a stream in mode: upsert (its view is merged every merge_interval): set bigquery.mode: upsert")
			}
			return nil
		},
		writeStream: func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error) {
			dead, err := bigquery.TryWriteStream(sc, *s.BigQuery, s.Name, p.schemas(views), records)
			return sinkResult{DeadLetters: dead}, err
		},
	},
	SinkOpenSearch: {
		block: func(s *SinkSpec) validator { return nilIfAbsent(s.OpenSearch) },
		write: func(sc beam.Scope, p *Plan, s SinkSpec, views []string, records beam.PCollection) (sinkResult, error) {
			r, err := opensearch.TryWrite(sc, *s.OpenSearch, s.Name, p.schemas(views), records)
			return sinkResult{r.Written, r.DeadLetters}, err
		},
		where: func(_ *Job, s SinkSpec, view string) string {
			alias, _ := s.OpenSearch.AliasName(view)
			return "opensearch alias " + alias
		},
		streamErr: func(s SinkSpec) error {
			if s.OpenSearch.Mode == opensearch.ModeReplace {
				return errors.New("an opensearch sink follows a stream in mode: upsert (replace rebuilds the index from one run): set opensearch.mode: upsert")
			}
			return nil
		},
	},
}

// nilIfAbsent turns a nil config pointer into a nil interface.
func nilIfAbsent[T validator](c T) validator {
	var zero T
	if any(c) == any(zero) {
		return nil
	}
	return c
}

func sinkKindNames() []string {
	names := make([]string, 0, len(sinkKinds))
	for k := range sinkKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// validateSink checks one sink spec: its kind, its configuration block (and
// no other kind's), and the kind's own rules.
func (j *Job) validateSink(p string, s *SinkSpec) []error {
	var errs []error
	kind, ok := sinkKinds[s.Kind]
	switch {
	case s.Kind == "":
		return append(errs, j.errAt(p+".kind", "required: the sink kind (%s)", strings.Join(sinkKindNames(), ", ")))
	case !ok:
		return append(errs, j.errAt(p+".kind", "unknown sink kind %q%s; known kinds: %s",
			s.Kind, yamlspec.DidYouMean(s.Kind, sinkKindNames()), strings.Join(sinkKindNames(), ", ")))
	}
	for name, other := range sinkKinds {
		if name == s.Kind || other.block == nil {
			continue
		}
		if other.block(s) != nil {
			errs = append(errs, j.errAt(p+"."+name, "a %s block on a %s sink: set kind: %s, or remove the block", name, s.Kind, name))
		}
	}
	if kind.block != nil {
		switch b := kind.block(s); {
		case b == nil:
			errs = append(errs, j.errAt(p+"."+s.Kind, "required for a %s sink: its configuration block (see the README)", s.Kind))
		default:
			if err := b.Validate(); err != nil {
				errs = append(errs, j.errAt(p+"."+s.Kind, "%v", err))
			}
		}
	}
	if kind.validate != nil {
		errs = append(errs, kind.validate(j, p, s)...)
	}
	return errs
}

// schemas returns the view schemas of the named views.
func (p *Plan) schemas(names []string) []change.ViewSchema {
	var out []change.ViewSchema
	for _, v := range p.Views {
		if slices.Contains(names, v.Name) {
			out = append(out, v.Mapping.Schema())
		}
	}
	return out
}
