package opensearch

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
)

// prepareFn creates (or checks) every view's index on the pipeline's
// impulse and emits view → index ("" for the alias, in upsert mode).
type prepareFn struct {
	Spec string `json:"spec"`

	spec fnSpec
}

func (f *prepareFn) Setup() (err error) {
	f.spec, err = decodeSpec(f.Spec)
	return err
}

func (f *prepareFn) ProcessElement(ctx context.Context, _ []byte, emit func(string, string)) error {
	for _, v := range f.spec.Views {
		if f.spec.Cfg.Mode == ModeReplace {
			index, err := BeginRefresh(ctx, f.spec.Cfg, v)
			if err != nil {
				return err
			}
			log.Infof(ctx, "opensearch: refreshing view %s into index %s", v.Name, index)
			emit(v.Name, index)
			continue
		}
		if err := EnsureIndex(ctx, f.spec.Cfg, v); err != nil {
			return err
		}
		emit(v.Name, "")
	}
	return nil
}

// writeFn writes record batches; one Writer per view, all sharing a
// client built in Setup.
type writeFn struct {
	Spec string `json:"spec"`

	spec    fnSpec
	client  *opensearchapi.Client
	targets map[string]string // view → index, from the side input
	writers map[string]*viewWriter
	mu      sync.Mutex
	dead    []change.DeadLetter
	// pending holds the acknowledgement tokens of the batches taken in
	// since the last flush of every writer (stream pipelines).
	pending ack.Pending
}

// viewWriter is a view's writer with what its counters reported so far.
type viewWriter struct {
	w        *Writer
	reported Stats // added to runstats and the Beam counters
	emitted  Stats // emitted as WriteCounts
}

func (f *writeFn) Setup() error {
	spec, err := decodeSpec(f.Spec)
	if err != nil {
		return err
	}
	f.spec = spec
	c, err := newClient(spec.Cfg)
	if err != nil {
		return err
	}
	f.client, f.writers = c, map[string]*viewWriter{}
	return nil
}

// StartBundle drops the writers a failed bundle left behind (a failed
// writer stays failed; an open batch belongs to the failed bundle, which
// the runner retries). Beam requires it to take ProcessElement's side input.
func (f *writeFn) StartBundle(_ context.Context, _ func(*string, *string) bool, _ func(WriteCount), _ func(change.DeadLetter)) {
	for view, vw := range f.writers {
		if vw.w.failed() != nil || len(vw.w.items) > 0 {
			delete(f.writers, view)
		}
	}
}

func (f *writeFn) ProcessElement(ctx context.Context, b change.RecordBatch, targets func(*string, *string) bool,
	_ func(WriteCount), emitDead func(change.DeadLetter)) error {
	vw, err := f.writer(ctx, b.View, targets)
	if err != nil {
		return err
	}
	f.pending.Add(b.Ack)
	for _, r := range b.Records {
		if err := vw.w.Add(ctx, r); err != nil {
			return err
		}
	}
	f.report(ctx, b.View, vw)
	f.emitDead(emitDead)
	return nil
}

// FinishBundle flushes every writer. (Beam requires it to take the side
// input that ProcessElement takes.)
func (f *writeFn) FinishBundle(ctx context.Context, _ func(*string, *string) bool, emitCount func(WriteCount), emitDead func(change.DeadLetter)) error {
	for _, view := range sortedNames(f.writers) {
		vw := f.writers[view]
		if err := vw.w.Flush(ctx); err != nil {
			return err
		}
		f.report(ctx, view, vw)
		if st := vw.w.Stats(); st != vw.emitted {
			emitCount(WriteCount{View: view, Stats: st.minus(vw.emitted)})
			vw.emitted = st
		}
	}
	f.emitDead(emitDead)
	f.pending.Complete()
	return nil
}

func (f *writeFn) Teardown() error {
	if f.client != nil {
		return f.client.Close()
	}
	return nil
}

func (f *writeFn) writer(ctx context.Context, view string, targets func(*string, *string) bool) (*viewWriter, error) {
	if vw := f.writers[view]; vw != nil {
		return vw, nil
	}
	if f.targets == nil {
		f.targets = map[string]string{}
		var v, index string
		for targets(&v, &index) {
			f.targets[v] = index
		}
	}
	index, ok := f.targets[view]
	var schema *change.ViewSchema
	for i := range f.spec.Views {
		if f.spec.Views[i].Name == view {
			schema = &f.spec.Views[i]
		}
	}
	if !ok || schema == nil {
		return nil, fmt.Errorf("opensearch sink %s: records of view %s, which the sink was not configured with", f.spec.Sink, view)
	}
	opts := []Option{withClient(f.client), WithSinkName(f.spec.Sink), WithDeadLetter(f.collectDead)}
	if index != "" {
		opts = append(opts, WithTargetIndex(index))
	}
	w, err := NewWriter(ctx, f.spec.Cfg, *schema, opts...)
	if err != nil {
		return nil, err
	}
	vw := &viewWriter{w: w}
	f.writers[view] = vw
	return vw, nil
}

// collectDead keeps dead letters until ProcessElement or FinishBundle
// emits them: writers find them on their own goroutines, where emitting is
// not allowed.
func (f *writeFn) collectDead(d change.DeadLetter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead = append(f.dead, d)
}

func (f *writeFn) emitDead(emit func(change.DeadLetter)) {
	f.mu.Lock()
	dead := f.dead
	f.dead = nil
	f.mu.Unlock()
	tok := f.pending.Charge(len(dead))
	for _, d := range dead {
		d.Ack = tok
		emit(d)
	}
}

// report adds what a writer did since the last report to runstats
// ("<view>@<sink>") and to the Beam counters of the same names.
func (f *writeFn) report(ctx context.Context, view string, vw *viewWriter) {
	st := vw.w.Stats()
	d := st.minus(vw.reported)
	vw.reported = st
	subject := view + "@" + f.spec.Sink
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

// commitFn swaps every view's alias to its refreshed index once all
// writes are done (the counts side input is complete only then).
type commitFn struct {
	Spec string `json:"spec"`

	spec fnSpec
}

func (f *commitFn) Setup() (err error) {
	f.spec, err = decodeSpec(f.Spec)
	return err
}

func (f *commitFn) ProcessElement(ctx context.Context, _ []byte, targets func(*string, *string) bool, counts func(*WriteCount) bool) error {
	total := map[string]Stats{}
	var c WriteCount
	for counts(&c) {
		total[c.View] = total[c.View].plus(c.Stats)
	}
	index := map[string]string{}
	var v, ix string
	for targets(&v, &ix) {
		index[v] = ix
	}
	for _, view := range f.spec.Views {
		if err := CommitRefresh(ctx, f.spec.Cfg, view, index[view.Name]); err != nil {
			return err
		}
		st := total[view.Name]
		log.Infof(ctx, "opensearch: view %s is now index %s (%d written, %d deleted, %d dead letters)",
			view.Name, index[view.Name], st.Written, st.Deleted, st.DeadLettered)
	}
	return nil
}

func init() {
	beam.RegisterType(reflect.TypeOf((*WriteCount)(nil)).Elem())
	register.DoFn3x1[context.Context, []byte, func(string, string), error](&prepareFn{})
	register.Emitter2[string, string]()
	register.DoFn5x1[context.Context, change.RecordBatch, func(*string, *string) bool, func(WriteCount), func(change.DeadLetter), error](&writeFn{})
	register.Iter2[string, string]()
	register.Emitter1[WriteCount]()
	register.Emitter1[change.DeadLetter]()
	register.DoFn4x1[context.Context, []byte, func(*string, *string) bool, func(*WriteCount) bool, error](&commitFn{})
	register.Iter1[WriteCount]()
}
