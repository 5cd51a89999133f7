package opensearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
)

// Stats counts what a writer did.
type Stats struct {
	Written      int64 `json:"written"`       // documents indexed (records that are not deletes)
	Deleted      int64 `json:"deleted"`       // deletes applied (tombstones indexed, documents deleted or already absent)
	SkippedOlder int64 `json:"skipped_older"` // records the index already held in the same or a newer version
	Retried      int64 `json:"retried"`       // records sent again (in a retried request or as a retried item)
	DeadLettered int64 `json:"dead_lettered"` // records that can never be written, sent to the dead-letter output
	Batches      int64 `json:"batches"`       // _bulk requests OpenSearch answered with 200 (per-item results)
	Bytes        int64 `json:"bytes"`         // bytes of those requests' bodies
	// Infinite timestamps and dates the infinity policy clamped or wrote as null.
	InfinityClamped int64 `json:"infinity_clamped"`
	InfinityNulled  int64 `json:"infinity_nulled"`
}

func (s Stats) minus(o Stats) Stats {
	return Stats{Written: s.Written - o.Written, Deleted: s.Deleted - o.Deleted, SkippedOlder: s.SkippedOlder - o.SkippedOlder,
		Retried: s.Retried - o.Retried, DeadLettered: s.DeadLettered - o.DeadLettered, Batches: s.Batches - o.Batches,
		Bytes: s.Bytes - o.Bytes, InfinityClamped: s.InfinityClamped - o.InfinityClamped, InfinityNulled: s.InfinityNulled - o.InfinityNulled}
}

func (s Stats) plus(o Stats) Stats {
	return Stats{Written: s.Written + o.Written, Deleted: s.Deleted + o.Deleted, SkippedOlder: s.SkippedOlder + o.SkippedOlder,
		Retried: s.Retried + o.Retried, DeadLettered: s.DeadLettered + o.DeadLettered, Batches: s.Batches + o.Batches,
		Bytes: s.Bytes + o.Bytes, InfinityClamped: s.InfinityClamped + o.InfinityClamped, InfinityNulled: s.InfinityNulled + o.InfinityNulled}
}

// Writer writes a view's records to OpenSearch with version-guarded _bulk
// requests. Add and Flush are called from one goroutine; batches are sent
// by up to Config.Concurrency goroutines, each under the context of the
// Add or Flush call that completed it. Stats may be called from anywhere.
type Writer struct {
	cfg       Config
	view      string
	sink      string
	target    string
	viaAlias  bool
	client    *opensearchapi.Client
	ownClient bool
	enc       bulkEncoder
	dead      func(change.DeadLetter)

	// The open batch.
	body   []byte
	items  []bulkItem
	opened time.Time

	slots chan struct{} // one per request in flight
	wg    sync.WaitGroup
	bufs  sync.Pool

	mu  sync.Mutex // guards err and the dead-letter callback
	err error

	written, deleted, older, retried, deadN, batches, nbytes atomic.Int64
}

// NewWriter returns a writer of a view's records into its alias (or into
// the index of WithTargetIndex). The target must exist: EnsureIndex or
// BeginRefresh create it.
func NewWriter(ctx context.Context, cfg Config, view change.ViewSchema, opts ...Option) (*Writer, error) {
	if err := errors.Join(cfg.Validate(), CheckView(view)); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	alias, err := cfg.AliasName(view.Name)
	if err != nil {
		return nil, err
	}
	o := options{sink: "opensearch"}
	for _, opt := range opts {
		opt(&o)
	}
	w := &Writer{cfg: cfg, view: view.Name, sink: o.sink, target: alias, viaAlias: o.target == "",
		client: o.client, enc: bulkEncoder{tombstones: cfg.Deletes == DeletesTombstone, inf: &infinity{policy: cfg.Infinity}}, dead: o.dead,
		slots: make(chan struct{}, cfg.Concurrency)}
	if o.target != "" {
		w.target = o.target
	}
	if w.client == nil {
		if w.client, err = newClient(cfg); err != nil {
			return nil, err
		}
		w.ownClient = true
	}
	exists, err := admin{c: w.client, policy: cfg.Retry}.indexExists(ctx, w.target)
	if err == nil && !exists {
		err = fmt.Errorf("index %s of view %s does not exist: create it with EnsureIndex (upsert) or BeginRefresh (replace)", w.target, view.Name)
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Close releases the writer's client. It does not flush.
func (w *Writer) Close() {
	if w.ownClient {
		_ = w.client.Close()
	}
}

// Stats returns what the writer did so far.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Deleted: w.deleted.Load(), SkippedOlder: w.older.Load(),
		Retried: w.retried.Load(), DeadLettered: w.deadN.Load(), Batches: w.batches.Load(), Bytes: w.nbytes.Load(),
		InfinityClamped: w.enc.inf.clamped.Load(), InfinityNulled: w.enc.inf.nulled.Load()}
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Add buffers a record and sends the batch when it is full (by rows or
// bytes) or old (FlushInterval). It returns the first error of any batch
// sent so far: after an error the writer stays failed.
func (w *Writer) Add(ctx context.Context, r change.Record) error {
	if err := w.failed(); err != nil {
		return err
	}
	if w.body == nil {
		w.body = w.buffer()
	}
	body, it, err := w.enc.append(w.body, &r)
	if err != nil {
		var row change.JSON
		if r.Doc != nil {
			row = change.AppendJSON(nil, r.Doc)
		}
		return w.deadLetter(it, row, err.Error())
	}
	w.body = body
	if len(w.items) == 0 {
		w.opened = time.Now()
	}
	w.items = append(w.items, it)
	if len(w.body) > w.cfg.BatchBytes && len(w.items) > 1 {
		// The last record would make the batch too big: it opens the next one.
		tail := append([]byte(nil), w.body[it.start:it.end]...)
		w.body, w.items = w.body[:it.start], w.items[:len(w.items)-1]
		w.dispatch(ctx)
		w.body = append(w.buffer(), tail...)
		if it.docEnd > 0 {
			it.docEnd -= it.start
		}
		it.start, it.end = 0, len(tail)
		w.items, w.opened = append(w.items, it), time.Now()
	}
	if len(w.items) >= w.cfg.BatchRows || len(w.body) >= w.cfg.BatchBytes || time.Since(w.opened) >= w.cfg.FlushInterval {
		w.dispatch(ctx)
	}
	return w.failed()
}

// Flush sends the open batch and waits for every batch in flight.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.items) > 0 {
		w.dispatch(ctx)
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("flushing view %s: %w", w.view, ctx.Err())
	}
	return w.failed()
}

func (w *Writer) buffer() []byte {
	if b, ok := w.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, min(w.cfg.BatchBytes, 256<<10)) // grows to the batch size where needed
}

// dispatch sends the open batch once a request slot is free.
func (w *Writer) dispatch(ctx context.Context) {
	body, items := w.body, w.items
	w.body, w.items = nil, nil
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		w.fail(fmt.Errorf("writing view %s: %w", w.view, ctx.Err()))
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.slots }()
		if err := w.send(ctx, body, items); err != nil {
			w.fail(err)
		}
		w.bufs.Put(&body)
	}()
}

// send writes one batch. Items OpenSearch refuses transiently (429, 5xx,
// rejected execution) are sent again on their own after a backoff; items it
// can never take become dead letters; a version conflict means the index
// already holds this version or a newer one.
func (w *Writer) send(ctx context.Context, body []byte, items []bulkItem) error {
	backoff := w.cfg.Retry.New()
	for {
		resp, err := w.bulk(ctx, body, len(items))
		if err != nil {
			return err
		}
		if len(resp.Items) != len(items) {
			return fmt.Errorf("writing to %s: the bulk response has %d items for %d actions", w.target, len(resp.Items), len(items))
		}
		var again []bulkItem
		var lastReason string
		for i, m := range resp.Items {
			it := items[i]
			for _, res := range m { // one entry, keyed by the action
				typ, reason := itemError(res)
				switch classify(res.Status, typ) {
				case applied:
					if it.del {
						w.deleted.Add(1)
					} else {
						w.written.Add(1)
					}
				case older:
					// Invariant: a version conflict means the index already
					// holds this version or a newer one; nothing to write.
					w.older.Add(1)
				case retryable:
					again, lastReason = append(again, it), reason
				case rejected:
					if err := w.deadLetter(it, it.docJSON(body), "OpenSearch rejected the document: "+reason); err != nil {
						return err
					}
				case fatal:
					return fmt.Errorf("writing to %s: status %d: %s", w.target, res.Status, reason)
				}
			}
		}
		if len(again) == 0 {
			return nil
		}
		ok, err := backoff.Wait(ctx)
		if err != nil {
			return fmt.Errorf("writing to %s: %w", w.target, err)
		}
		if !ok {
			return fmt.Errorf("writing %d records to %s: %w (last: %s)", len(again), w.target, retry.ErrExhausted, lastReason)
		}
		w.retried.Add(int64(len(again)))
		body, items = rebuild(body, again)
	}
}

// rebuild copies the actions of some items into a new body.
func rebuild(body []byte, items []bulkItem) ([]byte, []bulkItem) {
	n := 0
	for _, it := range items {
		n += it.end - it.start
	}
	nb := make([]byte, 0, n)
	out := make([]bulkItem, len(items))
	for i, it := range items {
		shift := len(nb) - it.start
		nb = append(nb, body[it.start:it.end]...)
		it.start += shift
		it.end += shift
		if it.docEnd > 0 {
			it.docEnd += shift
		}
		out[i] = it
	}
	return nb, out
}

// bulk sends one _bulk request, retrying it whole when it fails
// transiently (429, 502, 503, 504, timeouts, resets).
func (w *Writer) bulk(ctx context.Context, body []byte, n int) (*opensearchapi.BulkResp, error) {
	var resp *opensearchapi.BulkResp
	params := opensearchapi.BulkParams{}
	if w.viaAlias {
		// Invariant: writes through the alias never auto-create a concrete
		// index named like it (which readers would see without the filter).
		params.RequireAlias = &w.viaAlias
	}
	attempt := 0
	err := retry.Do(ctx, w.cfg.Retry, func(err error) bool { return isRetryable(ctx, err) }, nil,
		func(ctx context.Context) error {
			if attempt++; attempt > 1 {
				w.retried.Add(int64(n))
			}
			var err error
			resp, err = w.client.Bulk(ctx, opensearchapi.BulkReq{Index: w.target, Body: bytes.NewReader(body), Params: params})
			status := 0
			if r := resp.Inspect().Response; r != nil {
				status = r.StatusCode
			}
			if err == nil {
				w.batches.Add(1)
				w.nbytes.Add(int64(len(body)))
			}
			return asRequestError("writing bulk request to "+w.target, status, err)
		})
	return resp, err
}

// itemError renders a _bulk item's error: its type, and its reason with
// the causes.
func itemError(res opensearchapi.BulkRespItem) (typ, reason string) {
	e := res.Error
	if e == nil {
		return "", fmt.Sprintf("status %d", res.Status)
	}
	reason = e.Type + ": " + e.Reason
	if c := e.Cause; c.Type != "" {
		reason += " (caused by " + c.Type + ": " + c.Reason
		if cc := c.Cause; cc != nil && cc.Reason != nil {
			reason += " (caused by " + cc.Type + ": " + *cc.Reason + ")"
		}
		reason += ")"
	}
	return e.Type, reason
}

// deadLetter hands a record that can never be written to the dead-letter
// output, or fails the writer when there is none.
func (w *Writer) deadLetter(it bulkItem, row change.JSON, reason string) error {
	if w.dead == nil {
		err := fmt.Errorf("writing view %s: record %s at position %d cannot be written: %s (no dead-letter output: use WithDeadLetter)",
			w.view, change.KeyString(it.key), it.pos, reason)
		w.fail(err)
		return err
	}
	w.deadN.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dead(change.DeadLetter{View: w.view, Sink: w.sink, Stage: change.StageWrite,
		Key: change.JSON(change.AppendJSON(nil, it.key)), Position: it.pos, SourcePos: it.sourcePos,
		Reason: reason, Row: row})
	return nil
}
