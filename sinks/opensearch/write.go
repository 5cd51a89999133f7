package opensearch

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
	// Written holds one WriteCount per view and bundle.
	Written beam.PCollection
	// DeadLetters holds the records that can never be written.
	DeadLetters beam.PCollection
}

// WriteCount is what one bundle wrote of one view.
type WriteCount struct {
	View  string `json:"view"`
	Stats Stats  `json:"stats"`
}

// Write writes the records (change.RecordBatch elements) of the views to
// OpenSearch. Nothing is read or written while the pipeline is built:
//
//	Impulse ─► prepare (EnsureIndex, or BeginRefresh) ─► view → index
//	records ─► write (side input: view → index) ─► counts, dead letters
//	Impulse ─► commit (side inputs: view → index, counts)   [replace mode]
//
// In replace mode the commit runs once every record was written, and moves
// each view's alias to its new index (CommitRefresh). Write panics when the
// configuration or a view can never work; TryWrite returns the error.
func Write(s beam.Scope, cfg Config, sink string, views []change.ViewSchema, records beam.PCollection) Result {
	res, err := TryWrite(s, cfg, sink, views, records)
	if err != nil {
		panic(err)
	}
	return res
}

// TryWrite is Write returning construction errors.
func TryWrite(s beam.Scope, cfg Config, sink string, views []change.ViewSchema, records beam.PCollection) (Result, error) {
	if err := checkViews(cfg, views); err != nil {
		return Result{}, fmt.Errorf("opensearch sink %s: %w", sink, err)
	}
	cfg = cfg.WithDefaults()
	b, err := json.Marshal(fnSpec{Cfg: cfg, Sink: sink, Views: views})
	if err != nil {
		return Result{}, fmt.Errorf("opensearch sink %s: encoding the configuration: %w", sink, err)
	}
	spec := string(b)
	s = s.Scope("OpenSearch." + sink)
	imp := beam.Impulse(s)
	targets := beam.ParDo(s.Scope("Prepare"), &prepareFn{Spec: spec}, imp)
	counts, dead := beam.ParDo2(s.Scope("Write"), &writeFn{Spec: spec}, records, beam.SideInput{Input: targets})
	if cfg.Mode == ModeReplace {
		beam.ParDo0(s.Scope("Commit"), &commitFn{Spec: spec}, imp,
			beam.SideInput{Input: targets}, beam.SideInput{Input: counts})
	}
	return Result{Written: counts, DeadLetters: dead}, nil
}

// fnSpec is what the DoFns carry, as JSON text: Beam's schema coder cannot
// hold the free-form settings and mappings of a Config.
type fnSpec struct {
	Cfg   Config              `json:"cfg"`
	Sink  string              `json:"sink"`
	Views []change.ViewSchema `json:"views"`
}

func decodeSpec(text string) (fnSpec, error) {
	var s fnSpec
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return s, fmt.Errorf("opensearch: decoding the DoFn configuration: %w", err)
	}
	return s, nil
}

// checkViews refuses, at construction, a configuration or views that can
// never be written.
func checkViews(cfg Config, views []change.ViewSchema) error {
	errs := []error{cfg.Validate()}
	if len(views) == 0 {
		errs = append(errs, errors.New("no views to write"))
	}
	seen := map[string]bool{}
	for _, v := range views {
		alias, err := cfg.AliasName(v.Name)
		if err != nil {
			errs = append(errs, err)
		} else if seen[alias] {
			errs = append(errs, fmt.Errorf("view %s: index %s is written by another view too", v.Name, alias))
		}
		seen[alias] = true
		errs = append(errs, CheckView(v))
	}
	return errors.Join(errs...)
}
