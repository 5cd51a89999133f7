package bigquery

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
	_ "github.com/beamsync/beamsync/transforms" // coders of change.RecordBatch and change.DeadLetter
)

// Result is what Write produces.
type Result struct {
	// Written holds one Stats per view, once the view is committed: what
	// the commit did, with what the writers loaded and dead-lettered.
	Written beam.PCollection
	// DeadLetters holds the change.DeadLetter of every record BigQuery can
	// never store.
	DeadLetters beam.PCollection
}

// Write writes the view records (change.RecordBatch elements) of the given
// views to BigQuery. Nothing is read or written while the pipeline is
// built:
//
//	Impulse ─► prepare (a run id; dataset and tables) ─► run id
//	records ─► write (side input: run id) ─► per-bundle Stats, dead letters
//	run id  ─► commit (side input: every bundle's Stats) ─► Stats per view
//
// Bundles load their records into the run's staging tables (replace mode)
// or the views' change tables (upsert mode); the commit runs once, after
// every bundle is done (its side input is complete only then), and swaps
// or merges every view. With Storage Write CDC, bundles write the views
// directly and the commit only reports. Write panics, as beam.ParDo does,
// when the configuration or the views can never work; TryWrite returns
// the error.
func Write(s beam.Scope, cfg Config, sink string, views []change.ViewSchema, records beam.PCollection) Result {
	res, err := TryWrite(s, cfg, sink, views, records)
	if err != nil {
		panic(err)
	}
	return res
}

// TryWrite is Write returning the construction error.
func TryWrite(s beam.Scope, cfg Config, sink string, views []change.ViewSchema, records beam.PCollection) (Result, error) {
	if err := CheckViews(cfg, sink, views); err != nil {
		return Result{}, err
	}
	b, err := json.Marshal(fnSpec{Cfg: cfg, Sink: sink, Views: views})
	if err != nil {
		return Result{}, fmt.Errorf("bigquery sink %s: encoding the configuration: %w", sink, err)
	}
	spec := string(b)
	s = s.Scope("BigQuery." + sink)
	runs := beam.ParDo(s.Scope("Prepare"), &prepareFn{Spec: spec}, beam.Impulse(s))
	loaded, dead := beam.ParDo2(s.Scope("Write"), &writeFn{Spec: spec}, records, beam.SideInput{Input: runs})
	written := beam.ParDo(s.Scope("Commit"), &commitFn{Spec: spec}, runs, beam.SideInput{Input: loaded})
	return Result{Written: written, DeadLetters: dead}, nil
}

// TryWriteStream is the BigQuery sink of a stream pipeline. Bundles load
// their records into the views' change tables (upsert mode) and release
// their acknowledgement units once loaded (internal/ack): a loaded change
// is durable. Every Config.MergeInterval, the process that loaded last
// merges the change table into the view (the same version-guarded MERGE as
// a batch's commit), so the view trails the stream by about that interval.
// With Storage Write CDC, BigQuery applies the changes itself.
func TryWriteStream(s beam.Scope, cfg Config, sink string, views []change.ViewSchema, records beam.PCollection) (beam.PCollection, error) {
	if cfg.Mode == ModeReplace {
		return beam.PCollection{}, fmt.Errorf("bigquery sink %s: a stream needs mode: upsert (replace rebuilds the table from one run)", sink)
	}
	cfg.Mode = ModeUpsert
	if err := CheckViews(cfg, sink, views); err != nil {
		return beam.PCollection{}, err
	}
	b, err := json.Marshal(fnSpec{Cfg: cfg, Sink: sink, Views: views, Stream: true})
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("bigquery sink %s: encoding the configuration: %w", sink, err)
	}
	spec := string(b)
	s = s.Scope("BigQuery." + sink)
	runs := beam.ParDo(s.Scope("Prepare"), &prepareFn{Spec: spec}, beam.Impulse(s))
	_, dead := beam.ParDo2(s.Scope("Write"), &writeFn{Spec: spec}, records, beam.SideInput{Input: runs})
	return dead, nil
}

// CheckViews reports, at pipeline construction, everything that makes a
// sink configuration unusable for the views: an invalid configuration, a
// view BigQuery cannot hold, two views mapped to one table.
func CheckViews(cfg Config, sink string, views []change.ViewSchema) error {
	errs := []error{cfg.Validate()}
	if sink == "" {
		errs = append(errs, errors.New("bigquery sink: the sink has no name"))
	}
	if len(views) == 0 {
		errs = append(errs, fmt.Errorf("bigquery sink %s: no views", sink))
	}
	d := cfg.WithDefaults()
	tables := map[string]string{}
	for _, v := range views {
		t := d.TableName(v.Name)
		if other, ok := tables[t]; ok {
			errs = append(errs, fmt.Errorf("bigquery sink %s: views %s and %s would share table %s: put {view} in the table name", sink, other, v.Name, t))
		}
		tables[t] = v.Name
		if _, err := newView(nil, cfg, v, NewRunID(), "project"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fnSpec is what the DoFns carry, as JSON text (change.ViewSchema is a
// recursive type, which Beam's schema coder cannot hold).
type fnSpec struct {
	Cfg   Config              `json:"cfg"`
	Sink  string              `json:"sink"`
	Views []change.ViewSchema `json:"views"`
	// Stream: the writers merge on an interval and there is no commit.
	Stream bool `json:"stream,omitempty"`
}

func decodeSpec(text string) (fnSpec, error) {
	var s fnSpec
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return s, fmt.Errorf("bigquery sink: decoding the DoFn configuration: %w", err)
	}
	return s, nil
}

// view returns the schema of a view the sink holds.
func (s *fnSpec) view(name string) (change.ViewSchema, error) {
	for _, v := range s.Views {
		if v.Name == name {
			return v, nil
		}
	}
	return change.ViewSchema{}, fmt.Errorf("bigquery sink %s: records of view %s, which the sink was not configured with", s.Sink, name)
}
