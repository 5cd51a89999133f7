package file

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
)

// WriteStream is the file sink of a stream pipeline: every bundle sorts its
// records into runs and merges them into the view files at once (an upsert
// commit per view and bundle), then releases the bundle's acknowledgement
// units (internal/ack). The view file is replaced atomically as in batch
// mode, so readers see it move from one committed state to the next.
//
// A commit rewrites the view file: the cost of a bundle grows with the
// view's size, which suits the views a local stream keeps (up to a few
// million rows); larger views belong in a database sink.
//
// cfg.Mode must be upsert: a stream changes the view, it does not replace
// it.
func WriteStream(s beam.Scope, cfg Config, sink string, records beam.PCollection) (dead beam.PCollection, err error) {
	if cfg.Mode != ModeUpsert {
		return beam.PCollection{}, fmt.Errorf("file sink %s: a stream needs mode: upsert (a stream changes the view; replace would rebuild it from each bundle)", sink)
	}
	s = s.Scope("file.WriteStream")
	return beam.ParDo(s, &streamWriteFn{Config: cfg, Sink: sink}, records), nil
}

// viewLocks serializes the commits of one view file within the process.
var viewLocks sync.Map // view path -> *sync.Mutex

func lockView(path string) func() {
	m, _ := viewLocks.LoadOrStore(path, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

type streamWriteFn struct {
	Config Config `json:"config"`
	Sink   string `json:"sink"`

	writers map[string]*RunWriter
	added   map[string]int64 // records added per view in this bundle
	open    bool             // a bundle started and has not finished cleanly
	pending ack.Pending
	dead    []change.DeadLetter
}

// StartBundle drops what a failed bundle left in the writers.
func (f *streamWriteFn) StartBundle(_ func(change.DeadLetter)) {
	if f.open {
		for _, w := range f.writers {
			_ = w.Abort()
		}
		f.writers, f.added, f.dead = nil, nil, nil
		f.pending = ack.Pending{}
	}
	f.open = true
}

func (f *streamWriteFn) ProcessElement(rb change.RecordBatch, emit func(change.DeadLetter)) error {
	f.pending.Add(rb.Ack)
	if f.writers == nil {
		f.writers, f.added = map[string]*RunWriter{}, map[string]int64{}
	}
	w := f.writers[rb.View]
	if w == nil {
		w = NewRunWriter(f.Config, rb.View)
		// A stream's upsert merges every run with the view, so a view
		// run (viewrun.go) would save no copy, only add files per bundle.
		w.noStream = true
		f.writers[rb.View] = w
	}
	for i := range rb.Records {
		r := &rb.Records[i]
		if reason := unwritable(r); reason != nil {
			runstats.Add(runstats.Dead, rb.View+"@"+f.Sink, 1)
			f.dead = append(f.dead, change.DeadLetter{
				View: rb.View, Sink: f.Sink, Stage: change.StageWrite,
				Key: change.JSON(change.AppendJSON(nil, r.Key)), Position: r.Position, SourcePos: r.SourcePos,
				Reason: reason.Error(), Row: docJSON(r.Doc),
			})
			continue
		}
		if err := w.Add(*r); err != nil {
			return fmt.Errorf("file sink %s: view %s: %w", f.Sink, rb.View, err)
		}
		f.added[rb.View]++
	}
	return nil
}

func (f *streamWriteFn) FinishBundle(emit func(change.DeadLetter)) error {
	views := make([]string, 0, len(f.writers))
	for v := range f.writers {
		views = append(views, v)
	}
	sort.Strings(views)
	for _, view := range views {
		runs, err := f.writers[view].Flush()
		if err != nil {
			return fmt.Errorf("file sink %s: view %s: %w", f.Sink, view, err)
		}
		if len(runs) == 0 {
			continue
		}
		unlock := lockView(filepath.Join(f.Config.Dir, view))
		st, err := Commit(f.Config, view, runs)
		unlock()
		if err != nil {
			return fmt.Errorf("file sink %s: %w", f.Sink, err)
		}
		subj := view + "@" + f.Sink
		// Stats.Rows is the view's size; what this bundle wrote is what
		// it added, less what lost to newer versions.
		runstats.Add(runstats.Written, subj, f.added[view]-st.SkippedOlder-st.Deleted)
		runstats.Add(runstats.Deleted, subj, st.Deleted)
		runstats.Add(runstats.Older, subj, st.SkippedOlder)
	}
	clear(f.added) // the writers stay, empty, with their buffers
	tok := f.pending.Charge(len(f.dead))
	for _, d := range f.dead {
		d.Ack = tok
		emit(d)
	}
	f.dead = slices.Delete(f.dead, 0, len(f.dead))
	f.pending.Complete()
	f.open = false
	return nil
}

func init() {
	register.DoFn2x1[change.RecordBatch, func(change.DeadLetter), error](&streamWriteFn{})
}
