package pipelines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/transforms"
)

// Runners a job can run on locally.
const (
	RunnerDirect = "direct"
	RunnerPrism  = "prism"
)

// Build assembles the batch pipeline of a plan:
//
//	source snapshot ─► Map (every view) ─► each sink ─► view files/tables
//	      └──────────────── dead letters ───────────────► dead-letter file
func Build(p *Plan) (*beam.Pipeline, error) {
	if !beam.Initialized() {
		beam.Init()
	}
	pipe, s := beam.NewPipelineWithRoot()
	src, err := newSource(p.Job)
	if err != nil {
		return nil, err
	}
	if _, ok := src.(*kafkaSource); ok {
		return nil, errors.New("a kafka source is a stream of changes with no snapshot to read: use run --mode stream")
	}
	p.applyCursor(src)
	batches, decodeDead := src.read(s.Scope("Source"), p.Tables)

	dead, err := addViewsAndSinks(s, p, batches, decodeDead, false)
	if err != nil {
		return nil, err
	}
	if p.Job.Errors.Policy == "fail" {
		beam.ParDo0(s.Scope("FailOnDeadLetter"), &failOnDeadLetterFn{}, dead)
	}
	file.WriteDeadLetters(s, file.Config{Dir: p.Job.DeadLetterPath(), Mode: "replace"}, dead)
	return pipe, nil
}

// addViewsAndSinks adds the mapping stage and every sink, and returns all
// dead letters. In a stream, sinks must hold their views incrementally.
func addViewsAndSinks(s beam.Scope, p *Plan, batches, decodeDead beam.PCollection, stream bool) (beam.PCollection, error) {
	var views, joined []transforms.View
	for _, v := range p.Views {
		tv := v.View
		tv.Sinks = len(v.Sinks)
		if len(v.Mapping.Joins()) > 0 {
			if stream {
				return beam.PCollection{}, fmt.Errorf("view %s has joins: views with joins are built in batch mode (run --mode batch) — they do not follow a stream yet", v.Name)
			}
			joined = append(joined, tv)
			continue
		}
		views = append(views, tv)
	}
	records, mapDead := transforms.Map(s, views, batches)
	deads := []beam.PCollection{decodeDead, mapDead}
	if len(joined) > 0 {
		jr, jd := transforms.JoinViews(s, p.joinDir(), change.Position(time.Now().UnixMicro()), joined, batches)
		records = beam.Flatten(s, records, jr)
		deads = append(deads, jd)
	}

	for _, sink := range p.Job.Sinks {
		var names []string
		for _, v := range p.Views {
			for _, vs := range v.Sinks {
				if vs.Name == sink.Name {
					names = append(names, v.Name)
				}
			}
		}
		if len(names) == 0 {
			continue
		}
		kind := sinkKinds[sink.Kind]
		if stream {
			if kind.streamErr == nil {
				return beam.PCollection{}, fmt.Errorf("sink %s: a %s sink cannot follow a stream yet: run the job with --mode batch, or stream into a file (upsert) or dynamodb sink", sink.Name, sink.Kind)
			}
			if err := kind.streamErr(sink); err != nil {
				return beam.PCollection{}, fmt.Errorf("sink %s: %w", sink.Name, err)
			}
		}
		ss := s.Scope("Sink." + sink.Name)
		in := records
		if len(names) < len(p.Views) {
			in = transforms.SelectViews(ss, names, records)
		}
		write := kind.write
		if stream && kind.writeStream != nil {
			write = kind.writeStream
		}
		res, err := write(ss, p, sink, names, in)
		if err != nil {
			return beam.PCollection{}, err
		}
		deads = append(deads, res.DeadLetters)
	}
	return transforms.FlattenDeadLetters(s, deads...), nil
}

// joinDir is where a batch run keeps the rows its joined views read.
func (p *Plan) joinDir() string { return filepath.Join(p.Job.StatePath(), "joins", "batch") }

// Execute runs a built pipeline on a local runner.
func Execute(ctx context.Context, pipe *beam.Pipeline, runner string) error {
	var err error
	switch runner {
	case RunnerDirect, "":
		_, err = direct.Execute(ctx, pipe)
	case RunnerPrism:
		_, err = prism.Execute(ctx, pipe)
	default:
		return fmt.Errorf("unknown runner %q: use direct or prism", runner)
	}
	return err
}

// RunBatch builds and runs a plan's batch pipeline and returns its summary.
func RunBatch(ctx context.Context, p *Plan, runner string) (*Summary, error) {
	runstats.Reset()
	for _, t := range p.Tables {
		runstats.Set(runstats.Estimated, t.QualifiedName(), t.EstimatedRows)
	}
	start := time.Now()
	if err := p.prepareCursor(); err != nil {
		return nil, err
	}
	pipe, err := Build(p)
	if err != nil {
		return nil, err
	}
	// A fresh store for the joined views; removed after the run.
	if err := os.RemoveAll(p.joinDir()); err != nil {
		return nil, fmt.Errorf("clearing the join store: %w", err)
	}
	defer os.RemoveAll(p.joinDir())
	err = Execute(ctx, pipe, runner)
	sum := Summarize(p, time.Since(start))
	if err != nil {
		return sum, cleanRunError(err)
	}
	if m := p.Job.Errors.MaxDeadLetters; m != nil && sum.DeadLetters > *m {
		return sum, fmt.Errorf("%d rows were dead-lettered, more than errors.max_dead_letters (%d); see %s",
			sum.DeadLetters, *m, sum.DeadLetterFile)
	}
	if err := p.commitCursor(); err != nil {
		return sum, err
	}
	return sum, nil
}
