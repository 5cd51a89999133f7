package file

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	_ "github.com/beamsync/beamsync/transforms" // coders of the change model
)

// Result is what a sink write yields: the per-view statistics and the
// records the sink could not write.
type Result struct {
	Written     beam.PCollection // of ViewStats, one per view, after the commit
	DeadLetters beam.PCollection // of change.DeadLetter
}

// ViewStats is what the sink wrote of one view.
type ViewStats struct {
	View  string `json:"view"`
	Stats Stats  `json:"stats"`
}

// RunRef names one sorted run written by a bundle.
type RunRef struct {
	View string `json:"view"`
	Path string `json:"path"`
}

// Write is the Beam entry point of the file sink. Bundles write sorted runs
// of their records; once every bundle is done, one commit merges each view's
// runs into its view file (atomically replacing it). views lists every view
// the sink holds, so that a view with no rows still gets its (empty) file.
func Write(s beam.Scope, cfg Config, sink string, views []string, records beam.PCollection) Result {
	s = s.Scope("file.Write")
	runs, dead := beam.ParDo2(s, &runWriterFn{Config: cfg, Sink: sink}, records)
	written := beam.ParDo(s, &commitFn{Config: cfg, Sink: sink, Views: views}, beam.Impulse(s), beam.SideInput{Input: runs})
	return Result{Written: written, DeadLetters: dead}
}

// Invariant: a run is handed on (emitted) only after it is completely
// written and closed, and the commit merges exactly the runs handed on, so a
// retried bundle's abandoned runs are never merged.
//
// The rendering, sorting and spilling of records runs on one goroutine per
// bundle (a pipeline stage of its own), so that it overlaps with the work
// upstream; records are immutable once emitted, so handing them over is safe.
// Dead letters and runs are emitted from the bundle's own goroutine only.
type runWriterFn struct {
	Config Config `json:"config"`
	Sink   string `json:"sink"`

	writers map[string]*RunWriter
	open    bool // a bundle started and has not finished cleanly
	work    chan change.RecordBatch
	done    chan struct{}
	failed  atomic.Pointer[error] // the write loop's first error
}

// StartBundle starts the bundle's write loop. The run writers outlive
// bundles (each Flush leaves them empty) so that their buffers are reused:
// runners may cut a large input into many small bundles.
func (f *runWriterFn) StartBundle(_ func(RunRef), _ func(change.DeadLetter)) {
	if f.open { // the last bundle failed: drop what it buffered and spilled
		for _, w := range f.writers {
			_ = w.Abort()
		}
		f.writers = nil
	}
	if f.writers == nil {
		f.writers = map[string]*RunWriter{}
	}
	f.open = true
	f.work = make(chan change.RecordBatch, 8)
	f.done = make(chan struct{})
	f.failed.Store(nil)
	go f.writeLoop()
}

// writeLoop adds the records of every batch to their view's run writer.
// After the first error it only drains the channel.
func (f *runWriterFn) writeLoop() {
	defer close(f.done)
	for rb := range f.work {
		if f.failed.Load() != nil {
			continue
		}
		w := f.writers[rb.View]
		if w == nil {
			w = NewRunWriter(f.Config, rb.View)
			f.writers[rb.View] = w
		}
		for i := range rb.Records {
			if err := w.Add(rb.Records[i]); err != nil {
				err = fmt.Errorf("file sink: view %s: %w", rb.View, err)
				f.failed.Store(&err)
				break
			}
		}
	}
}

func (f *runWriterFn) ProcessElement(rb change.RecordBatch, emit func(RunRef), dead func(change.DeadLetter)) error {
	if err := f.failed.Load(); err != nil {
		return *err
	}
	valid := rb.Records
	if slices.ContainsFunc(rb.Records, func(r change.Record) bool { return unwritable(&r) != nil }) {
		valid = nil
		for i := range rb.Records {
			r := &rb.Records[i]
			reason := unwritable(r)
			if reason == nil {
				valid = append(valid, *r)
				continue
			}
			runstats.Add(runstats.Dead, rb.View+"@"+f.Sink, 1)
			dead(change.DeadLetter{
				View: rb.View, Sink: f.Sink, Stage: change.StageWrite,
				Key: change.JSON(change.AppendJSON(nil, r.Key)), Position: r.Position, SourcePos: r.SourcePos,
				Reason: reason.Error(), Row: docJSON(r.Doc),
			})
		}
	}
	if len(valid) > 0 {
		f.work <- change.RecordBatch{View: rb.View, Records: valid}
	}
	return nil
}

// unwritable says why the file sink can never write a record, or nil.
func unwritable(r *change.Record) error {
	switch {
	case len(r.Key) == 0:
		return ErrEmptyKey
	case !r.Delete && r.Doc == nil:
		return ErrNoDoc
	}
	return nil
}

func docJSON(d *change.Doc) change.JSON {
	if d == nil {
		return nil
	}
	return change.AppendJSON(nil, d)
}

func (f *runWriterFn) FinishBundle(emit func(RunRef), dead func(change.DeadLetter)) error {
	close(f.work)
	<-f.done
	if err := f.failed.Load(); err != nil {
		return *err
	}
	for view, w := range f.writers {
		runs, err := w.Flush()
		if err != nil {
			return fmt.Errorf("file sink: view %s: %w", view, err)
		}
		for _, r := range runs {
			emit(RunRef{View: view, Path: r})
		}
	}
	f.open = false
	return nil
}

type commitFn struct {
	Config Config   `json:"config"`
	Sink   string   `json:"sink"`
	Views  []string `json:"views"`
}

func (f *commitFn) ProcessElement(ctx context.Context, _ []byte, runs func(*RunRef) bool, emit func(ViewStats)) error {
	byView := map[string][]string{}
	var r RunRef
	for runs(&r) {
		byView[r.View] = append(byView[r.View], r.Path)
	}
	for _, view := range f.Views {
		start := time.Now()
		st, err := Commit(f.Config, view, byView[view])
		slog.Debug("file sink: view committed", "sink", f.Sink, "view", view, "runs", len(byView[view]), "rows", st.Rows, "took", time.Since(start))
		if err != nil {
			return fmt.Errorf("file sink %s: committing view %s: %w", f.Sink, view, err)
		}
		subj := view + "@" + f.Sink
		runstats.Add(runstats.Written, subj, st.Rows)
		runstats.Add(runstats.Deleted, subj, st.Deleted)
		runstats.Add(runstats.Older, subj, st.SkippedOlder)
		runstats.Add(runstats.WriteBytes, subj, st.Bytes)
		emit(ViewStats{View: view, Stats: st})
	}
	// Runs of retried bundles that were never handed on are abandoned here.
	_ = os.RemoveAll(filepath.Join(f.Config.Dir, ".runs"))
	return nil
}

// WriteDeadLetters writes the dead letters of a job into
// <dir>/_dead_letters.jsonl (replaced on every run in replace mode).
func WriteDeadLetters(s beam.Scope, cfg Config, dead beam.PCollection) beam.PCollection {
	s = s.Scope("file.WriteDeadLetters")
	runs := beam.ParDo(s, &deadRunFn{Config: cfg}, dead)
	return beam.ParDo(s, &deadCommitFn{Config: cfg}, beam.Impulse(s), beam.SideInput{Input: runs})
}

type deadRunFn struct {
	Config Config `json:"config"`

	w *DeadLetterWriter
}

func (f *deadRunFn) StartBundle(_ func(string)) { f.w = nil }

func (f *deadRunFn) ProcessElement(d change.DeadLetter, emit func(string)) error {
	if f.w == nil {
		f.w = NewDeadLetterWriter(f.Config)
	}
	return f.w.Add(d)
}

func (f *deadRunFn) FinishBundle(emit func(string)) error {
	if f.w == nil {
		return nil
	}
	runs, err := f.w.Flush()
	if err != nil {
		return fmt.Errorf("writing dead letters: %w", err)
	}
	for _, r := range runs {
		emit(r)
	}
	return nil
}

type deadCommitFn struct {
	Config Config `json:"config"`
}

func (f *deadCommitFn) ProcessElement(_ []byte, runs func(*string) bool, emit func(int64)) error {
	var paths []string
	var p string
	for runs(&p) {
		paths = append(paths, p)
	}
	st, err := CommitDeadLetters(f.Config, paths)
	if err != nil {
		return fmt.Errorf("writing dead letters: %w", err)
	}
	emit(st.Rows)
	return nil
}

func init() {
	register.DoFn3x1[change.RecordBatch, func(RunRef), func(change.DeadLetter), error](&runWriterFn{})
	register.DoFn4x1[context.Context, []byte, func(*RunRef) bool, func(ViewStats), error](&commitFn{})
	register.DoFn2x1[change.DeadLetter, func(string), error](&deadRunFn{})
	register.DoFn3x1[[]byte, func(*string) bool, func(int64), error](&deadCommitFn{})
	register.Emitter1[RunRef]()
	register.Emitter1[ViewStats]()
	register.Emitter1[string]()
	register.Emitter1[int64]()
	register.Iter1[RunRef]()
	register.Iter1[string]()
}
