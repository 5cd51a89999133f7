package bigquery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beamsync/beamsync/change"
)

// ErrRejected is returned by a writer without a dead-letter function for a
// record BigQuery can never store (the other records are written).
var ErrRejected = errors.New("bigquery sink: record rejected")

// WriterOption configures a Writer or a CDCWriter.
type WriterOption func(*rejecter)

// WithDeadLetter sets the function that receives the records BigQuery can
// never store. It is called from the goroutine that calls Add or Flush.
// Without it, such a record makes Add or Flush return an error wrapping
// ErrRejected (after the other records are written).
func WithDeadLetter(f func(change.DeadLetter)) WriterOption {
	return func(r *rejecter) { r.dead = f }
}

// WithSinkName sets the sink name written into dead letters.
func WithSinkName(name string) WriterOption { return func(r *rejecter) { r.sink = name } }

// rejecter hands the records BigQuery can never store to the dead-letter
// function, or keeps them as errors for the caller.
type rejecter struct {
	view     string
	dead     func(change.DeadLetter)
	sink     string
	n        int64   // records rejected
	rejected []error // without a dead-letter function
}

func newRejecter(view string, opts []WriterOption) rejecter {
	r := rejecter{view: view}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// reject dead-letters a row, or keeps the refusal for the caller.
func (r *rejecter) reject(ref rowRef, row change.JSON, reason string) {
	r.n++
	if r.dead == nil {
		r.rejected = append(r.rejected, fmt.Errorf("%w: view %s key %s: %s", ErrRejected, r.view, change.KeyString(ref.key), reason))
		return
	}
	r.dead(change.DeadLetter{
		View: r.view, Sink: r.sink, Stage: change.StageWrite,
		Key: change.JSON(change.AppendJSON(nil, ref.key)), Position: ref.pos, SourcePos: ref.sourcePos,
		Reason: reason, Row: row,
	})
}

// take returns (and forgets) the refusals kept for the caller.
func (r *rejecter) take() error {
	err := errors.Join(r.rejected...)
	r.rejected = nil
	return err
}

// Writer appends the records of one view to the run's staging table
// (replace mode) or to the view's change table (upsert mode) with load
// jobs; View.Commit then makes them visible. A Writer is not safe for
// concurrent use; it loads one buffer in the background while it fills the
// next.
type Writer struct {
	rejecter
	v   *View
	dst tableRef

	buf    []byte
	rows   []rowRef
	oldest time.Time
	spare  []byte // the buffer of the last finished load, for reuse

	inflight *loadJob
	stats    Stats
}

// loadJob is a buffer being loaded in the background.
type loadJob struct {
	done chan struct{}
	data []byte
	rows []rowRef
	res  loadResult
	err  error
}

// NewWriter returns a writer of the view's records (Prepare must have run
// for the run). With Config.StorageWriteCDC, use NewCDCWriter instead.
func (v *View) NewWriter(opts ...WriterOption) *Writer {
	return &Writer{rejecter: newRejecter(v.l.View, opts), v: v, dst: v.target()}
}

// Stats returns what the writer did so far.
func (w *Writer) Stats() Stats {
	s := w.stats
	s.View, s.Sink = w.v.l.View, w.sink
	s.DeadLettered = w.n
	s.Retried = w.v.retried.Load()
	s.InfinityClamped, s.InfinityNulled = w.v.inf.clamped.Load(), w.v.inf.nulled.Load()
	return s
}

// Add buffers a record. When the buffer holds BatchRows rows or BatchBytes
// bytes, or its oldest row waited FlushInterval, Add waits for the load in
// flight and starts loading the buffer in the background (with the
// context given to this Add, which must stay valid until the next Flush).
// A record that cannot be encoded for its table is dead-lettered at once.
// Errors of a background load are returned by a later Add or by Flush.
func (w *Writer) Add(ctx context.Context, r change.Record) error {
	if err := w.collect(false); err != nil {
		return err
	}
	b, err := w.v.enc.appendRow(w.buf, &r)
	if err != nil {
		w.reject(rowRef{key: r.Key, pos: r.Position, sourcePos: r.SourcePos}, docJSON(r.Doc), err.Error())
		return w.take()
	}
	w.buf = b
	w.rows = append(w.rows, rowRef{end: len(b), key: r.Key, pos: r.Position, sourcePos: r.SourcePos})
	if len(w.rows) == 1 {
		w.oldest = time.Now()
	}
	if len(w.rows) >= w.v.cfg.BatchRows || len(w.buf) >= w.v.cfg.BatchBytes || time.Since(w.oldest) >= w.v.cfg.FlushInterval {
		return w.start(ctx)
	}
	return nil
}

// Flush loads everything buffered and waits until it is written.
func (w *Writer) Flush(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	return w.collect(true)
}

// start waits for the load in flight and starts loading the buffer.
func (w *Writer) start(ctx context.Context) error {
	if err := w.collect(true); err != nil {
		return err
	}
	if len(w.rows) == 0 {
		return nil
	}
	j := &loadJob{done: make(chan struct{}), data: w.buf, rows: w.rows}
	w.buf, w.rows, w.spare = w.spare[:0], nil, nil
	w.inflight = j
	go func() {
		defer close(j.done)
		j.err = w.v.load(ctx, w.dst, j.data, j.rows, &j.res)
	}()
	return nil
}

// collect takes in the result of the load in flight: when it is done, or,
// with wait, once it is. A failed load's rows are put back in front of the
// buffer, so that a later Flush loads them again.
func (w *Writer) collect(wait bool) error {
	j := w.inflight
	if j == nil {
		return w.take()
	}
	if !wait {
		select {
		case <-j.done:
		default:
			return nil
		}
	}
	<-j.done
	w.inflight = nil
	w.stats.Loaded += j.res.loaded
	w.stats.Batches += j.res.jobs
	w.stats.Bytes += j.res.bytes
	for _, rj := range j.res.rejected {
		w.reject(rj.row, change.JSON(rj.line), rj.reason)
	}
	if j.err != nil {
		w.requeue(j)
		return j.err
	}
	w.spare = j.data
	return w.take()
}

// requeue puts the rows of a failed load that were neither loaded nor
// refused back in front of the buffer.
func (w *Writer) requeue(j *loadJob) {
	skip := 0
	if j.res.handled > 0 {
		skip = j.rows[j.res.handled-1].end
	}
	data := append(j.data[skip:], w.buf...)
	var rows []rowRef
	for _, r := range j.rows[j.res.handled:] {
		r.end -= skip
		rows = append(rows, r)
	}
	for _, r := range w.rows {
		r.end += len(j.data) - skip
		rows = append(rows, r)
	}
	w.buf, w.rows = data, rows // w.oldest is kept: the next Add loads them at once
}

func docJSON(d *change.Doc) change.JSON {
	if d == nil {
		return nil
	}
	return change.AppendJSON(nil, d)
}

// discard waits for the load in flight and forgets what is buffered: the
// writer is given up after a failure (in a pipeline, the failed bundle's
// records come again).
func (w *Writer) discard() {
	if j := w.inflight; j != nil {
		<-j.done
		w.inflight = nil
	}
	w.buf, w.rows = w.buf[:0], nil
}
