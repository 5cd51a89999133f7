package bigquery

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Stats)(nil)).Elem())
	register.DoFn3x1[context.Context, []byte, func(string), error](&prepareFn{})
	register.DoFn5x1[context.Context, change.RecordBatch, func(*string) bool, func(Stats), func(change.DeadLetter), error](&writeFn{})
	register.DoFn4x1[context.Context, string, func(*Stats) bool, func(Stats), error](&commitFn{})
	register.Emitter1[string]()
	register.Emitter1[Stats]()
	register.Emitter1[change.DeadLetter]()
	register.Iter1[string]()
	register.Iter1[Stats]()
}

// prepareFn, on the pipeline's impulse, picks the run's id and makes every
// view's tables (see View.Prepare); it emits the run id.
type prepareFn struct {
	Spec string `json:"spec"`

	spec   fnSpec
	client *Client
}

func (f *prepareFn) Setup(ctx context.Context) error {
	var err error
	if f.spec, err = decodeSpec(f.Spec); err != nil {
		return err
	}
	f.client, err = NewClient(ctx, f.spec.Cfg)
	return err
}

func (f *prepareFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	runID := NewRunID()
	for _, schema := range f.spec.Views {
		v, err := NewView(f.client, f.spec.Cfg, schema, runID)
		if err != nil {
			return err
		}
		if err := v.Prepare(ctx); err != nil {
			return err
		}
	}
	log.Infof(ctx, "bigquery sink %s: run %s prepared for %d views", f.spec.Sink, runID, len(f.spec.Views))
	emit(runID)
	return nil
}

// recordWriter is a Writer or a CDCWriter.
type recordWriter interface {
	Add(ctx context.Context, r change.Record) error
	Flush(ctx context.Context) error
	Stats() Stats
	discard()
}

// viewWriter is a view's writer with what was reported of it so far.
type viewWriter struct {
	w        recordWriter
	reported Stats // added to runstats and the Beam counters
	emitted  Stats // emitted to the commit
}

// writeFn writes record batches with one writer per view, all sharing the
// client made in Setup. It buffers in ProcessElement (flushing by size
// there: local runners hand over the whole input in one bundle) and
// flushes the rest in FinishBundle.
type writeFn struct {
	Spec string `json:"spec"`

	spec    fnSpec
	client  *Client
	runID   string
	writers map[string]*viewWriter
	dead    []change.DeadLetter
	// pending holds the acknowledgement tokens of the batches taken in
	// since the last flush of every writer (stream pipelines).
	pending ack.Pending
}

func (f *writeFn) Setup(ctx context.Context) error {
	var err error
	if f.spec, err = decodeSpec(f.Spec); err != nil {
		return err
	}
	f.client, err = NewClient(ctx, f.spec.Cfg)
	f.writers = map[string]*viewWriter{}
	return err
}

func (f *writeFn) ProcessElement(ctx context.Context, rb change.RecordBatch, runs func(*string) bool,
	_ func(Stats), emitDead func(change.DeadLetter)) error {
	vw, err := f.writer(ctx, rb.View, runs)
	if err != nil {
		return err
	}
	f.pending.Add(rb.Ack)
	for _, r := range rb.Records {
		if err = vw.w.Add(ctx, r); err != nil {
			break
		}
	}
	f.report(ctx, rb.View, vw)
	f.emitDead(emitDead)
	if err != nil {
		f.drop(rb.View)
	}
	return err
}

// FinishBundle flushes every writer and emits what each loaded in the
// bundle. (Beam wants it to take ProcessElement's side input.)
func (f *writeFn) FinishBundle(ctx context.Context, _ func(*string) bool, emitStats func(Stats), emitDead func(change.DeadLetter)) error {
	names := make([]string, 0, len(f.writers))
	for name := range f.writers {
		names = append(names, name)
	}
	slices.Sort(names)
	var firstErr error
	for _, name := range names {
		vw := f.writers[name]
		err := vw.w.Flush(ctx)
		f.report(ctx, name, vw)
		if err != nil {
			f.drop(name)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if st := vw.w.Stats(); st != vw.emitted {
			emitStats(st.Sub(vw.emitted))
			vw.emitted = st
		}
	}
	f.emitDead(emitDead)
	if firstErr != nil {
		return firstErr
	}
	f.pending.Complete()
	if f.spec.Stream && !f.spec.Cfg.StorageWriteCDC {
		return f.mergeDue(ctx, names)
	}
	return nil
}

// lastMerge holds, per "sink/view", when this process last merged the
// view's change table in a stream.
var (
	mergeMu   sync.Mutex
	lastMerge = map[string]time.Time{}
	mergeLock = map[string]*sync.Mutex{}
)

// mergeDue merges the change tables of the named views whose last merge in
// this process is older than the merge interval. Merges of one view in
// one process never overlap; merges from several processes are safe (each
// deletes only the change rows its MERGE covered).
func (f *writeFn) mergeDue(ctx context.Context, views []string) error {
	for _, name := range views {
		key := f.spec.Sink + "/" + name
		mergeMu.Lock()
		due := time.Since(lastMerge[key]) >= f.spec.Cfg.WithDefaults().MergeInterval
		lock := mergeLock[key]
		if lock == nil {
			lock = &sync.Mutex{}
			mergeLock[key] = lock
		}
		mergeMu.Unlock()
		if !due || !lock.TryLock() {
			continue
		}
		err := f.merge(ctx, name)
		mergeMu.Lock()
		if err == nil {
			lastMerge[key] = time.Now()
		}
		mergeMu.Unlock()
		lock.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *writeFn) merge(ctx context.Context, name string) error {
	schema, err := f.spec.view(name)
	if err != nil {
		return err
	}
	v, err := NewView(f.client, f.spec.Cfg, schema, f.runID)
	if err != nil {
		return err
	}
	st, err := v.Commit(ctx)
	if err != nil {
		return fmt.Errorf("bigquery sink %s: %w", f.spec.Sink, err)
	}
	reportStats(ctx, name+"@"+f.spec.Sink, Stats{Written: st.Written, Deleted: st.Deleted, SkippedOlder: st.SkippedOlder, Retried: st.Retried})
	return nil
}

func (f *writeFn) Teardown() error {
	for name := range f.writers {
		f.drop(name)
	}
	if f.client != nil {
		return f.client.Close()
	}
	return nil
}

// writer returns the view's writer, made on the view's first record.
func (f *writeFn) writer(ctx context.Context, view string, runs func(*string) bool) (*viewWriter, error) {
	if vw := f.writers[view]; vw != nil {
		return vw, nil
	}
	if f.runID == "" && !runs(&f.runID) {
		return nil, fmt.Errorf("bigquery sink %s: no run id: the prepare step emitted none", f.spec.Sink)
	}
	schema, err := f.spec.view(view)
	if err != nil {
		return nil, err
	}
	v, err := NewView(f.client, f.spec.Cfg, schema, f.runID)
	if err != nil {
		return nil, err
	}
	opts := []WriterOption{WithSinkName(f.spec.Sink), WithDeadLetter(func(d change.DeadLetter) { f.dead = append(f.dead, d) })}
	var w recordWriter
	if f.spec.Cfg.StorageWriteCDC {
		if w, err = v.NewCDCWriter(ctx, opts...); err != nil {
			return nil, err
		}
	} else {
		w = v.NewWriter(opts...)
	}
	vw := &viewWriter{w: w}
	f.writers[view] = vw
	return vw, nil
}

// drop gives up a view's writer after a failure: the bundle fails, and its
// records come again to a new writer.
func (f *writeFn) drop(view string) {
	if vw := f.writers[view]; vw != nil {
		vw.w.discard()
		delete(f.writers, view)
	}
}

func (f *writeFn) emitDead(emit func(change.DeadLetter)) {
	tok := f.pending.Charge(len(f.dead))
	for _, d := range f.dead {
		d.Ack = tok
		emit(d)
	}
	f.dead = f.dead[:0]
}

// report adds what a writer did since the last report to runstats and the
// Beam counters, as "<kind>/<view>@<sink>".
func (f *writeFn) report(ctx context.Context, view string, vw *viewWriter) {
	st := vw.w.Stats()
	d := st.Sub(vw.reported)
	vw.reported = st
	// Loads become Written, Deleted and Older only at the commit; a CDC
	// writer's rows are applied by BigQuery as they arrive.
	reportStats(ctx, view+"@"+f.spec.Sink, Stats{Written: d.Written, Deleted: d.Deleted,
		Retried: d.Retried, DeadLettered: d.DeadLettered, Batches: d.Batches, Bytes: d.Bytes,
		InfinityClamped: d.InfinityClamped, InfinityNulled: d.InfinityNulled})
}

// reportStats adds counts to runstats and to the Beam counters of the same
// names.
func reportStats(ctx context.Context, subject string, d Stats) {
	for _, c := range []struct {
		kind string
		n    int64
	}{{runstats.Written, d.Written}, {runstats.Deleted, d.Deleted}, {runstats.Older, d.SkippedOlder},
		{runstats.Retried, d.Retried}, {runstats.Dead, d.DeadLettered}, {runstats.WriteBatchs, d.Batches},
		{runstats.WriteBytes, d.Bytes}, {runstats.InfinityClamped, d.InfinityClamped}, {runstats.InfinityNulled, d.InfinityNulled}} {
		if c.n != 0 {
			runstats.Add(c.kind, subject, c.n)
			beam.NewCounter("beamsync", c.kind+"/"+subject).Inc(ctx, c.n)
		}
	}
}

// commitFn commits every view of the run once all bundles are written:
// its side input, the bundles' Stats, is complete only then.
type commitFn struct {
	Spec string `json:"spec"`

	spec   fnSpec
	client *Client
}

func (f *commitFn) Setup(ctx context.Context) error {
	var err error
	if f.spec, err = decodeSpec(f.Spec); err != nil {
		return err
	}
	f.client, err = NewClient(ctx, f.spec.Cfg)
	return err
}

func (f *commitFn) ProcessElement(ctx context.Context, runID string, loaded func(*Stats) bool, emit func(Stats)) error {
	total := map[string]Stats{}
	var s Stats
	for loaded(&s) {
		t := total[s.View]
		t.Loaded += s.Loaded
		t.Written += s.Written
		t.Deleted += s.Deleted
		t.Retried += s.Retried
		t.DeadLettered += s.DeadLettered
		t.Batches += s.Batches
		t.Bytes += s.Bytes
		total[s.View] = t
	}
	for _, schema := range f.spec.Views {
		v, err := NewView(f.client, f.spec.Cfg, schema, runID)
		if err != nil {
			return err
		}
		st, err := v.Commit(ctx)
		if err != nil {
			return fmt.Errorf("bigquery sink %s: %w", f.spec.Sink, err)
		}
		reportStats(ctx, schema.Name+"@"+f.spec.Sink, Stats{Written: st.Written, Deleted: st.Deleted, SkippedOlder: st.SkippedOlder, Retried: st.Retried})
		t := total[schema.Name]
		t.View, t.Sink = schema.Name, f.spec.Sink
		t.Written += st.Written
		t.Deleted += st.Deleted
		t.SkippedOlder += st.SkippedOlder
		t.Retried += st.Retried
		log.Infof(ctx, "bigquery sink %s: view %s committed (%d loaded, %d written, %d deleted, %d older, %d dead letters)",
			f.spec.Sink, v.Table(), t.Loaded, t.Written, t.Deleted, t.SkippedOlder, t.DeadLettered)
		emit(t)
	}
	return nil
}

func (f *commitFn) Teardown() error {
	if f.client != nil {
		return f.client.Close()
	}
	return nil
}
