package file

import (
	"fmt"
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
// records into runs and appends them, fsynced, to each view's change log
// (log.go), then releases the bundle's acknowledgement units
// (internal/ack). A compactor per view (compactor.go) merges the log into
// the view file in the background, replacing it atomically as in batch
// mode: readers see it move from one compacted state to the next, trailing
// the log by at most Config.CompactInterval. The work of a bundle is its
// own records', whatever the view's size; the compaction's is the view's,
// once per interval. A clean stop compacts every log (CompactLogs), so the
// view file is then exact.
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

// StreamWriter is the plain-Go writer beneath WriteStream: Add buffers the
// records of a bundle, Flush appends them to the views' change logs and
// returns once they are durable. It is not safe for concurrent use.
type StreamWriter struct {
	cfg     Config
	sink    string
	writers map[string]*RunWriter
	added   map[string]int64 // records added per view since the last Flush
	deletes map[string]int64 // deletes among them
}

// NewStreamWriter returns the stream writer of a file sink; cfg.Mode must
// be upsert.
func NewStreamWriter(cfg Config, sink string) (*StreamWriter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Mode != ModeUpsert {
		return nil, fmt.Errorf("file sink %s: a stream needs mode: upsert", sink)
	}
	return &StreamWriter{cfg: cfg, sink: sink, writers: map[string]*RunWriter{}, added: map[string]int64{}, deletes: map[string]int64{}}, nil
}

// Add buffers one record of a view (see RunWriter.Add).
func (w *StreamWriter) Add(view string, r change.Record) error {
	rw := w.writers[view]
	if rw == nil {
		rw = NewRunWriter(w.cfg, view)
		// Log segments are plain runs: a view run (viewrun.go) is only
		// worth its extra file where it becomes the view file.
		rw.noStream = true
		w.writers[view] = rw
	}
	if err := rw.Add(r); err != nil {
		return fmt.Errorf("file sink %s: view %s: %w", w.sink, view, err)
	}
	w.added[view]++
	if r.Delete {
		w.deletes[view]++
	}
	return nil
}

// Flush appends what was added to the views' change logs, fsynced: once it
// returns, the records survive a crash. It reports a failed background
// compaction of a view written to (the log is kept; the next one retries).
func (w *StreamWriter) Flush() error {
	views := make([]string, 0, len(w.writers))
	for v := range w.writers {
		views = append(views, v)
	}
	sort.Strings(views)
	for _, view := range views {
		runs, err := w.writers[view].Flush()
		if err != nil {
			return fmt.Errorf("file sink %s: view %s: %w", w.sink, view, err)
		}
		if len(runs) == 0 {
			continue
		}
		bytes, err := appendLog(w.cfg, view, runs)
		if err != nil {
			removeRuns(runs)
			return fmt.Errorf("file sink %s: view %s: %w", w.sink, view, err)
		}
		subj := view + "@" + w.sink
		runstats.Add(runstats.Written, subj, w.added[view]-w.deletes[view])
		runstats.Add(runstats.Deleted, subj, w.deletes[view])
		if err := compactorFor(w.cfg, view, w.sink).appended(len(runs), bytes); err != nil {
			return fmt.Errorf("file sink %s: view %s: %w", w.sink, view, err)
		}
	}
	clear(w.added) // the writers stay, empty, with their buffers
	clear(w.deletes)
	return nil
}

// Abort drops what was added since the last Flush.
func (w *StreamWriter) Abort() {
	for _, rw := range w.writers {
		_ = rw.Abort()
	}
	clear(w.added)
	clear(w.deletes)
}

type streamWriteFn struct {
	Config Config `json:"config"`
	Sink   string `json:"sink"`

	w       *StreamWriter
	open    bool // a bundle started and has not finished cleanly
	pending ack.Pending
	dead    []change.DeadLetter
}

func (f *streamWriteFn) Setup() error {
	w, err := NewStreamWriter(f.Config, f.Sink)
	f.w = w
	return err
}

// StartBundle drops what a failed bundle left in the writers.
func (f *streamWriteFn) StartBundle(_ func(change.DeadLetter)) {
	if f.open {
		f.w.Abort()
		f.dead = nil
		f.pending = ack.Pending{}
	}
	f.open = true
}

func (f *streamWriteFn) ProcessElement(rb change.RecordBatch, emit func(change.DeadLetter)) error {
	f.pending.Add(rb.Ack)
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
		if err := f.w.Add(rb.View, *r); err != nil {
			return err
		}
	}
	return nil
}

// FinishBundle appends the bundle to the logs.
//
// Invariant: the bundle's acknowledgement units are released only once
// its log segments are fsynced (StreamWriter.Flush).
func (f *streamWriteFn) FinishBundle(emit func(change.DeadLetter)) error {
	if err := f.w.Flush(); err != nil {
		return err
	}
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
