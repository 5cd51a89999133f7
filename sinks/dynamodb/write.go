package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
	_ "github.com/beamsync/beamsync/transforms" // the coders of change.RecordBatch and change.DeadLetter
)

func init() {
	register.DoFn4x1[context.Context, change.RecordBatch, func(change.DeadLetter), func(Stats), error](&writeFn{})
	register.Emitter1[change.DeadLetter]()
	register.Emitter1[Stats]()
	beam.RegisterType(reflect.TypeOf((*Stats)(nil)).Elem())
}

// Result is what Write produces.
type Result struct {
	// Written holds one Stats per view and bundle that wrote anything.
	Written beam.PCollection
	// DeadLetters holds the change.DeadLetter of every record DynamoDB can
	// never store.
	DeadLetters beam.PCollection
}

// Write writes the view records (a PCollection of change.RecordBatch) of
// the given views into DynamoDB, one table per view. It panics, like
// beam.ParDo, when the configuration or the views can never work; call
// CheckViews (or TryWrite) first to get the error instead.
//
// The coders of change.RecordBatch and change.DeadLetter are those the
// transforms package registers.
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
	s = s.Scope("dynamodb.Write")
	fn := &writeFn{Config: cfg, Sink: sink}
	for _, v := range views {
		fn.Views = append(fn.Views, keyOfView(v))
	}
	dead, written := beam.ParDo2(s, fn, records)
	return Result{Written: written, DeadLetters: dead}, nil
}

// CheckViews reports, at pipeline construction, everything that makes a
// sink configuration unusable for the views: an invalid config, views
// without a key, two views mapped to one table, a view field named like an
// attribute the sink writes.
func CheckViews(cfg Config, sink string, views []change.ViewSchema) error {
	errs := []error{cfg.Validate()}
	if sink == "" {
		errs = append(errs, errors.New("dynamodb sink: the sink has no name"))
	}
	if len(views) == 0 {
		errs = append(errs, fmt.Errorf("dynamodb sink %s: no views", sink))
	}
	d := cfg.WithDefaults()
	tables := map[string]string{}
	for _, v := range views {
		t := d.TableName(v.Name)
		if other, ok := tables[t]; ok {
			errs = append(errs, fmt.Errorf("dynamodb sink %s: views %s and %s would share table %s: put {view} in the table name", sink, other, v.Name, t))
		}
		tables[t] = v.Name
		errs = append(errs, checkTableName(t))
		if _, err := keySchemaFor(v); err != nil {
			errs = append(errs, err)
			continue
		}
		reserved := []string{d.VersionAttribute, DeletedAttribute, ExpiresAttribute}
		if len(v.Key) > 2 {
			reserved = append(reserved, CompositeKeyAttribute)
		}
		for _, f := range v.Fields {
			if slices.Contains(reserved, f.Name) {
				errs = append(errs, fmt.Errorf("dynamodb sink %s: view %s has a field %q, an attribute the sink writes itself (rename the field or set version_attribute)", sink, v.Name, f.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// viewKey is the part of a view a writer needs: its name, its key and the
// kinds of the key fields. (change.ViewSchema itself is a recursive type,
// which Beam's schema registry cannot take as a DoFn field.)
type viewKey struct {
	Name     string        `json:"name"`
	Key      []string      `json:"key"`
	KeyKinds []change.Kind `json:"key_kinds"`
}

func keyOfView(v change.ViewSchema) viewKey {
	vk := viewKey{Name: v.Name, Key: v.Key}
	for _, k := range v.Key {
		kind := change.KindAny
		for _, f := range v.Fields {
			if f.Name == k {
				kind = f.Kind
			}
		}
		vk.KeyKinds = append(vk.KeyKinds, kind)
	}
	return vk
}

func (vk viewKey) schema() change.ViewSchema {
	v := change.ViewSchema{Name: vk.Name, Key: vk.Key}
	for i, k := range vk.Key {
		if i < len(vk.KeyKinds) {
			v.Fields = append(v.Fields, change.Field{Name: k, Kind: vk.KeyKinds[i]})
		}
	}
	return v
}

// writeFn writes record batches with one Writer per view.
type writeFn struct {
	Config Config    `json:"config"`
	Sink   string    `json:"sink"`
	Views  []viewKey `json:"views"`

	client  API
	views   map[string]change.ViewSchema
	writers map[string]*Writer
	dead    []change.DeadLetter
	// pending holds the acknowledgement tokens of the batches taken in
	// since the last complete flush (stream pipelines).
	pending ack.Pending
	// reported is what was added to runstats and the Beam counters so
	// far; bundleStart the writers' stats when the bundle started.
	reported    map[string]Stats
	bundleStart map[string]Stats
}

func (f *writeFn) Setup(ctx context.Context) error {
	c, err := NewClient(ctx, f.Config)
	if err != nil {
		return err
	}
	f.client = c
	f.views = make(map[string]change.ViewSchema, len(f.Views))
	for _, v := range f.Views {
		f.views[v.Name] = v.schema()
	}
	f.writers = map[string]*Writer{}
	f.reported = map[string]Stats{}
	f.bundleStart = map[string]Stats{}
	return nil
}

// StartBundle notes the writers' stats; Beam wants the emitters of
// ProcessElement here too, though it emits nothing.
func (f *writeFn) StartBundle(_ context.Context, _ func(change.DeadLetter), _ func(Stats)) {
	for name, w := range f.writers {
		f.bundleStart[name] = w.Stats()
	}
}

// writer returns the view's writer, made on the view's first record.
func (f *writeFn) writer(ctx context.Context, view string) (*Writer, error) {
	if w, ok := f.writers[view]; ok {
		return w, nil
	}
	v, ok := f.views[view]
	if !ok {
		return nil, fmt.Errorf("dynamodb sink %s: records of view %s, which the sink does not hold", f.Sink, view)
	}
	w, err := NewWriter(ctx, f.Config, v, WithClient(f.client), WithSinkName(f.Sink),
		WithDeadLetter(func(d change.DeadLetter) { f.dead = append(f.dead, d) }))
	if err != nil {
		return nil, err
	}
	f.writers[view] = w
	f.bundleStart[view] = Stats{}
	return w, nil
}

func (f *writeFn) ProcessElement(ctx context.Context, rb change.RecordBatch, emitDead func(change.DeadLetter), emitStats func(Stats)) error {
	w, err := f.writer(ctx, rb.View)
	if err != nil {
		return err
	}
	f.pending.Add(rb.Ack)
	for _, r := range rb.Records {
		if err = w.Add(ctx, r); err != nil {
			break
		}
	}
	f.emitDead(emitDead)
	f.report(ctx)
	if err != nil {
		f.drop(rb.View)
	}
	return err
}

// drop forgets the writer of a view after a failed write: the bundle fails
// and its records come again, to a new writer that looks at the table
// afresh.
func (f *writeFn) drop(view string) {
	if w, ok := f.writers[view]; ok {
		_ = w.wait() // let the flush in flight end; its outcome is replayed with the bundle
		delete(f.writers, view)
		delete(f.reported, view)
		delete(f.bundleStart, view)
	}
}

// FinishBundle writes what the writers still buffer and emits the bundle's
// stats per view.
func (f *writeFn) FinishBundle(ctx context.Context, emitDead func(change.DeadLetter), emitStats func(Stats)) error {
	names := make([]string, 0, len(f.writers))
	for name := range f.writers {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	var failed []string
	for _, name := range names {
		if err := f.writers[name].Flush(ctx); err != nil {
			errs = append(errs, err)
			failed = append(failed, name)
		}
	}
	f.emitDead(emitDead)
	f.report(ctx)
	if len(errs) == 0 {
		f.pending.Complete()
	}
	for _, name := range names {
		s := f.writers[name].Stats()
		if d := s.Sub(f.bundleStart[name]); !d.IsZero() {
			emitStats(d)
		}
		f.bundleStart[name] = s
	}
	for _, name := range failed {
		f.drop(name)
	}
	return errors.Join(errs...)
}

func (f *writeFn) emitDead(emit func(change.DeadLetter)) {
	tok := f.pending.Charge(len(f.dead))
	for _, d := range f.dead {
		d.Ack = tok
		emit(d)
	}
	f.dead = f.dead[:0]
}

// report adds what the writers did since the last report to runstats and
// to the Beam counters, under "<kind>/<view>@<sink>".
func (f *writeFn) report(ctx context.Context) {
	for name, w := range f.writers {
		s := w.Stats()
		d := s.Sub(f.reported[name])
		if d.IsZero() {
			continue
		}
		f.reported[name] = s
		subject := name + "@" + f.Sink
		for _, c := range []struct {
			kind string
			n    int64
		}{
			{runstats.Written, d.Written},
			{runstats.Deleted, d.Deleted},
			{runstats.Older, d.SkippedOlder},
			{runstats.Retried, d.Retried},
			{runstats.Dead, d.DeadLettered},
			{runstats.WriteBytes, d.Bytes},
			{runstats.WriteBatchs, d.Batches},
		} {
			if c.n == 0 {
				continue
			}
			runstats.Add(c.kind, subject, c.n)
			beam.NewCounter("beamsync", c.kind+"/"+subject).Inc(ctx, c.n)
		}
	}
}
