package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
)

// firstLoadKeyLimit bounds the keys a writer remembers during a first load
// (about 40 MB); past it the writer switches to conditional writes.
const firstLoadKeyLimit = 1 << 21

// guardCondition is the version guard of every write: the item is new, or
// the stored version is older. An equal version (a replay) is refused too.
const guardCondition = "attribute_not_exists(#pk) OR #v < :v"

// Stats counts what a writer did. Written counts upserts applied, Deleted
// deletes applied (tombstones or hard deletes), SkippedOlder records not
// applied because the table (or the same flush) held the same or a newer
// version, Retried write attempts repeated under the retry policy (items),
// DeadLettered records DynamoDB can never store, Batches flushes that
// wrote, Bytes the item bytes applied.
type Stats struct {
	View         string `json:"view,omitempty"`
	Sink         string `json:"sink,omitempty"`
	Written      int64  `json:"written"`
	Deleted      int64  `json:"deleted"`
	SkippedOlder int64  `json:"skipped_older"`
	Retried      int64  `json:"retried"`
	DeadLettered int64  `json:"dead_lettered"`
	Batches      int64  `json:"batches"`
	Bytes        int64  `json:"bytes"`
}

// Sub returns s - o, field by field (View and Sink are kept from s).
func (s Stats) Sub(o Stats) Stats {
	s.Written -= o.Written
	s.Deleted -= o.Deleted
	s.SkippedOlder -= o.SkippedOlder
	s.Retried -= o.Retried
	s.DeadLettered -= o.DeadLettered
	s.Batches -= o.Batches
	s.Bytes -= o.Bytes
	return s
}

// IsZero reports whether no counter is set.
func (s Stats) IsZero() bool {
	return s.Written == 0 && s.Deleted == 0 && s.SkippedOlder == 0 && s.Retried == 0 &&
		s.DeadLettered == 0 && s.Batches == 0 && s.Bytes == 0
}

// Option configures a Writer.
type Option func(*Writer)

// WithClient makes the writer use api instead of a client built from the
// configuration.
func WithClient(api API) Option { return func(w *Writer) { w.api = api } }

// WithDeadLetter sets the function that receives records DynamoDB can never
// store. It is called from the goroutine that called Add or Flush. Without
// it, such a record makes Add or Flush return an error wrapping ErrRejected
// (after the other records are written).
func WithDeadLetter(f func(change.DeadLetter)) Option { return func(w *Writer) { w.dead = f } }

// WithSinkName sets the sink name written into dead letters.
func WithSinkName(name string) Option { return func(w *Writer) { w.sink = name } }

// Writer writes the records of one view into its DynamoDB table with
// version-guarded writes. A Writer is not safe for concurrent use; it runs
// up to Config.Concurrency writes in parallel itself.
type Writer struct {
	api   API
	cfg   Config
	view  change.ViewSchema
	sink  string
	dead  func(change.DeadLetter)
	table string
	keys  keySchema
	// reserved are the attribute names a view field may not have.
	reserved  map[string]bool
	condNames map[string]string

	// firstLoad is set while BatchWriteItem may be used (see doc.go);
	// seen holds the hashes of the keys written so far in that mode.
	firstLoad bool
	seen      map[uint64]struct{}
	seed      maphash.Seed

	buf      []*pending
	index    map[string]int // binary key -> index in buf
	bufBytes int
	oldest   time.Time

	inflight *flushJob // the buffer being written, if any

	stats   Stats
	retried atomic.Int64
}

// pending is a buffered record with the request that writes it.
type pending struct {
	rec  change.Record
	item map[string]types.AttributeValue // the item put (upsert or tombstone)
	key  map[string]types.AttributeValue // the key (hard delete)
	size int
}

// NewWriter returns a writer for one view. It finds the view's table (or
// creates it, with CreateTables), checks that the table's key matches the
// view's key, and, with FirstLoad "auto", whether the table is empty.
func NewWriter(ctx context.Context, cfg Config, view change.ViewSchema, opts ...Option) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Writer{cfg: cfg.WithDefaults(), view: view, index: make(map[string]int), seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(w)
	}
	w.table = w.cfg.TableName(view.Name)
	if err := checkTableName(w.table); err != nil {
		return nil, err
	}
	if w.api == nil {
		c, err := NewClient(ctx, w.cfg)
		if err != nil {
			return nil, err
		}
		w.api = c
	}
	ks, err := prepareTable(ctx, w.api, &w.cfg, view, w.table)
	if err != nil {
		return nil, err
	}
	w.keys = ks
	w.reserved = map[string]bool{w.cfg.VersionAttribute: true, DeletedAttribute: true, ExpiresAttribute: true}
	if ks.Composite {
		w.reserved[CompositeKeyAttribute] = true
	}
	w.condNames = map[string]string{"#pk": ks.Partition.Name, "#v": w.cfg.VersionAttribute}
	if w.cfg.FirstLoad == FirstLoadAuto {
		empty, err := tableEmpty(ctx, w.api, &w.cfg, w.table, ks)
		if err != nil {
			return nil, err
		}
		if empty {
			w.firstLoad, w.seen = true, make(map[uint64]struct{})
		}
	}
	return w, nil
}

// Table returns the name of the writer's table.
func (w *Writer) Table() string { return w.table }

// FirstLoad reports whether the writer still writes with BatchWriteItem.
func (w *Writer) FirstLoad() bool { return w.firstLoad }

// Stats returns the writer's counters so far.
func (w *Writer) Stats() Stats {
	s := w.stats
	s.View, s.Sink = w.view.Name, w.sink
	s.Retried = w.retried.Load()
	return s
}

// Add buffers a record. When the buffer holds FlushRows records or
// FlushBytes bytes, or its oldest record waited FlushInterval, Add waits
// for the previous flush and starts writing the buffer in the background
// (with the context given to this Add, which must stay valid until the next
// Flush). Of several records of one key in the buffer only the one with the
// greatest position is written. Errors of a background flush are returned
// by a later Add or by Flush.
func (w *Writer) Add(ctx context.Context, r change.Record) error {
	var errs []error
	kb := string(change.AppendValues(nil, r.Key))
	if w.firstLoad && (r.Delete || w.repeated(kb)) {
		// Invariant: BatchWriteItem never writes a key twice nor a
		// delete: from the first repeat on, every write is conditional.
		w.endFirstLoad()
	}
	i, dup := w.index[kb]
	if dup && w.buf[i].rec.Position >= r.Position {
		w.stats.SkippedOlder++
		return nil
	}
	p, reason := w.prepare(r)
	if reason != "" {
		if err := w.reject(&r, reason); err != nil {
			errs = append(errs, err)
		}
	} else {
		if dup {
			w.stats.SkippedOlder++
			w.bufBytes += p.size - w.buf[i].size
			w.buf[i] = p
		} else {
			if len(w.buf) == 0 {
				w.oldest = time.Now()
			}
			w.index[kb] = len(w.buf)
			w.buf = append(w.buf, p)
			w.bufBytes += p.size
		}
	}
	if len(w.buf) >= w.cfg.FlushRows || w.bufBytes >= w.cfg.FlushBytes ||
		(len(w.buf) > 0 && time.Since(w.oldest) >= w.cfg.FlushInterval) {
		if err := w.wait(); err != nil {
			errs = append(errs, err)
		} else {
			w.startFlush(ctx)
		}
	}
	return errors.Join(errs...)
}

// repeated records a key of a first load and reports whether it was seen.
func (w *Writer) repeated(kb string) bool {
	h := maphash.String(w.seed, kb)
	if _, ok := w.seen[h]; ok {
		return true
	}
	if len(w.seen) >= firstLoadKeyLimit {
		return true // too many keys to remember: write conditionally from here on
	}
	w.seen[h] = struct{}{}
	return false
}

func (w *Writer) endFirstLoad() { w.firstLoad, w.seen = false, nil }

// prepare builds the item of a record, or returns why it cannot be written.
func (w *Writer) prepare(r change.Record) (*pending, string) {
	key, err := w.keys.attrs(r.Key)
	if err != nil {
		return nil, err.Error()
	}
	version := &types.AttributeValueMemberN{Value: strconv.FormatUint(uint64(r.Position), 10)}
	p := &pending{rec: r}
	switch {
	case r.Delete && w.cfg.Deletes == DeletesHard:
		p.key = key
		p.size = itemSize(key)
		return p, ""
	case r.Delete:
		p.item = key
		p.item[w.cfg.VersionAttribute] = version
		p.item[DeletedAttribute] = &types.AttributeValueMemberBOOL{Value: true}
		expires := time.Now().Add(w.cfg.TombstoneTTL).Unix()
		p.item[ExpiresAttribute] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expires, 10)}
	default:
		item := make(map[string]types.AttributeValue, 4+docLen(r.Doc))
		if r.Doc != nil {
			if err := putFields(item, r.Doc, w.reserved); err != nil {
				return nil, err.Error()
			}
		}
		for k, v := range key {
			item[k] = v
		}
		item[w.cfg.VersionAttribute] = version
		p.item = item
	}
	p.size = itemSize(p.item)
	if p.size > MaxItemBytes {
		return nil, fmt.Sprintf("item is %d bytes, over DynamoDB's 400 KB limit", p.size)
	}
	return p, ""
}

func docLen(d *change.Doc) int {
	if d == nil {
		return 0
	}
	return len(d.Names)
}

// reject dead-letters a record (or, without a dead-letter function, returns
// the error that says why it cannot be written).
func (w *Writer) reject(r *change.Record, reason string) error {
	w.stats.DeadLettered++
	d := change.DeadLetter{
		View:      w.view.Name,
		Sink:      w.sink,
		Stage:     change.StageWrite,
		Key:       change.JSON(change.AppendJSON(nil, r.Key)),
		Position:  r.Position,
		SourcePos: r.SourcePos,
		Reason:    reason,
	}
	if r.Doc != nil {
		d.Row = change.JSON(change.AppendJSON(nil, r.Doc))
	}
	if w.dead == nil {
		return fmt.Errorf("%w: view %s, key %s, position %s: %s", ErrRejected, d.View, d.Key, r.Position, reason)
	}
	w.dead(d)
	return nil
}

// outcome is the result of one record's write.
type outcome struct {
	class  errorClass // classFatal with err == nil means applied
	err    error
	reason string // of a rejected record
}

// flushJob is a buffer being written in the background.
type flushJob struct {
	buf     []*pending
	results []outcome
	done    chan struct{}
}

// Flush writes every buffered record and waits for the writes in flight.
// Records whose write failed for a reason other than the record itself
// (exhausted retries, a cancelled context, a missing table) stay buffered
// and the error is returned; a later Flush retries them.
func (w *Writer) Flush(ctx context.Context) error {
	if err := w.wait(); err != nil {
		return err
	}
	if len(w.buf) == 0 {
		return nil
	}
	w.startFlush(ctx)
	return w.wait()
}

// startFlush starts writing the buffer in the background, so that the
// caller fills the next buffer meanwhile. There is never more than one
// flush in flight: records of one key in two buffers are written in order.
func (w *Writer) startFlush(ctx context.Context) {
	job := &flushJob{buf: w.buf, results: make([]outcome, len(w.buf)), done: make(chan struct{})}
	w.buf, w.index, w.bufBytes = nil, make(map[string]int, len(job.buf)), 0
	batch := w.firstLoad
	go func() {
		defer close(job.done)
		if batch {
			w.batchWriteAll(ctx, job.buf, job.results)
		} else {
			w.parallel(len(job.buf), func(i int) { job.results[i] = w.writeOne(ctx, job.buf[i]) })
		}
	}()
	w.inflight = job
	w.stats.Batches++
}

// wait waits for the flush in flight and takes in its results: counters,
// dead letters (delivered here, in the caller's goroutine) and the records
// to write again.
func (w *Writer) wait() error {
	job := w.inflight
	if job == nil {
		return nil
	}
	<-job.done
	w.inflight = nil
	var errs []error
	var failed int
	for i, res := range job.results {
		p := job.buf[i]
		switch {
		case res.class == classFatal && res.err == nil:
			if p.rec.Delete {
				w.stats.Deleted++
			} else {
				w.stats.Written++
			}
			w.stats.Bytes += int64(p.size)
		case res.class == classOlder:
			w.stats.SkippedOlder++
		case res.class == classRejected:
			if err := w.reject(&p.rec, res.reason); err != nil {
				errs = append(errs, err)
			}
		default:
			if failed == 0 {
				errs = append(errs, fmt.Errorf("writing to table %s: %w", w.table, res.err))
			}
			failed++
			w.rebuffer(p)
		}
	}
	if failed > 0 {
		errs = append(errs, fmt.Errorf("dynamodb sink: %d of %d records of view %s not written (kept for the next flush)", failed, len(job.buf), w.view.Name))
	}
	return errors.Join(errs...)
}

// rebuffer puts back a record whose write failed, unless the buffer holds
// the same or a newer version of its key.
func (w *Writer) rebuffer(p *pending) {
	kb := string(change.AppendValues(nil, p.rec.Key))
	if i, ok := w.index[kb]; ok {
		w.stats.SkippedOlder++
		if w.buf[i].rec.Position < p.rec.Position {
			w.bufBytes += p.size - w.buf[i].size
			w.buf[i] = p
		}
		return
	}
	if len(w.buf) == 0 {
		w.oldest = time.Now()
	}
	w.index[kb] = len(w.buf)
	w.buf = append(w.buf, p)
	w.bufBytes += p.size
}

// parallel runs f(0..n-1) on up to Concurrency goroutines.
func (w *Writer) parallel(n int, f func(i int)) {
	workers := min(w.cfg.Concurrency, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// writeOne applies one record with a version-guarded PutItem (upsert or
// tombstone) or DeleteItem (hard delete), retrying retryable errors.
func (w *Writer) writeOne(ctx context.Context, p *pending) outcome {
	values := map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatUint(uint64(p.rec.Position), 10)}}
	op := func(ctx context.Context) error {
		if p.key != nil {
			_, err := w.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 aws.String(w.table),
				Key:                       p.key,
				ConditionExpression:       aws.String(guardCondition),
				ExpressionAttributeNames:  w.condNames,
				ExpressionAttributeValues: values,
			})
			return err
		}
		_, err := w.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(w.table),
			Item:                      p.item,
			ConditionExpression:       aws.String(guardCondition),
			ExpressionAttributeNames:  w.condNames,
			ExpressionAttributeValues: values,
		})
		return err
	}
	return w.outcomeOf(w.do(ctx, op))
}

func (w *Writer) do(ctx context.Context, op func(context.Context) error) error {
	return retry.Do(ctx, w.cfg.Retry, retryable, func(error) { w.retried.Add(1) }, op)
}

func (w *Writer) outcomeOf(err error) outcome {
	if err == nil {
		return outcome{}
	}
	switch c := classify(err); c {
	case classOlder:
		return outcome{class: c}
	case classRejected:
		return outcome{class: c, reason: serverMessage(err)}
	}
	return outcome{class: classFatal, err: err}
}

// batchWriteAll writes a first load's records with BatchWriteItem, up to
// BatchRows items per request and Concurrency requests in flight.
func (w *Writer) batchWriteAll(ctx context.Context, buf []*pending, results []outcome) {
	size := w.cfg.BatchRows
	chunks := (len(buf) + size - 1) / size
	w.parallel(chunks, func(c int) {
		lo := c * size
		hi := min(lo+size, len(buf))
		w.batchWrite(ctx, buf[lo:hi], results[lo:hi])
	})
}

// batchWrite writes one chunk, resending UnprocessedItems under the retry
// policy. A chunk DynamoDB refuses as a whole (one invalid item fails the
// request) is written item by item with conditional writes, so that only
// the invalid item is dead-lettered.
func (w *Writer) batchWrite(ctx context.Context, chunk []*pending, results []outcome) {
	owner := make(map[string]int, len(chunk))
	reqs := make([]types.WriteRequest, len(chunk))
	for i, p := range chunk {
		owner[keyID(&w.keys, p.item)] = i
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: p.item}}
	}
	backoff := w.cfg.Retry.New()
	for {
		out, err := w.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{w.table: reqs}})
		if err == nil {
			reqs = out.UnprocessedItems[w.table]
			if len(reqs) == 0 {
				return // every result stays "applied"
			}
			err = errUnprocessed
		} else if c := classify(err); c == classRejected {
			pendingIdx := make([]int, 0, len(reqs))
			for _, r := range reqs {
				pendingIdx = append(pendingIdx, owner[keyID(&w.keys, r.PutRequest.Item)])
			}
			for _, i := range pendingIdx {
				results[i] = w.writeOne(ctx, chunk[i])
			}
			return
		} else if c != classRetryable {
			w.failAll(reqs, owner, results, err)
			return
		}
		w.retried.Add(int64(len(reqs)))
		ok, werr := backoff.Wait(ctx)
		switch {
		case werr != nil:
			w.failAll(reqs, owner, results, errors.Join(werr, err))
			return
		case !ok:
			w.failAll(reqs, owner, results, errors.Join(retry.ErrExhausted, err))
			return
		}
	}
}

func (w *Writer) failAll(reqs []types.WriteRequest, owner map[string]int, results []outcome, err error) {
	for _, r := range reqs {
		results[owner[keyID(&w.keys, r.PutRequest.Item)]] = outcome{class: classFatal, err: err}
	}
}
