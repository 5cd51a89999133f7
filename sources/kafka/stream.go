package kafka

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/sources/debezium"
)

// ErrClosed is returned by Next and Ack once the stream is closed.
var ErrClosed = errors.New("kafka source: the stream is closed")

// OpenStream opens the change stream of the topics for the given tables
// (nil: Describe them): a member of Config.Group that starts, per
// partition, at from's offset when from names the partition, else at the
// group's committed offset, else at Config.Start. See the package
// documentation for the invariants.
func OpenStream(ctx context.Context, cfg Config, tables []*change.Table, from change.Checkpoint) (change.Stream, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	start, runs, err := parseCheckpoint(from)
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w: give a checkpoint the stream reported, or none", err)
	}
	for k := range start { // topics no longer read
		if !slices.Contains(cfg.Topics, k.topic) {
			delete(start, k)
			delete(runs, k)
		}
	}
	if tables == nil {
		if tables, err = Describe(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if len(tables) == 0 {
		return nil, errors.New("kafka source: no table to capture: pass the tables Describe returned")
	}
	s := &stream{
		cfg: cfg, dec: debezium.NewDecoder(tables, cfg.options()),
		next: start, hw: map[tp]int64{}, acked: offsets{}, closed: make(chan struct{}), clReady: make(chan struct{}),
		maxPoll: 4 * cfg.BatchSize,
	}
	for k, r := range runs { // Invariant: ties go on ranking as before the restart
		s.dec.SetRun(k.String(), r)
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.Start == StartLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := append(clientOpts(cfg),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(reset),
		kgo.AdjustFetchOffsetsFn(s.adjust),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.revoked),
	)
	opts = append(opts, groupTestOpts...)
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	close(s.clReady) // the group may be joined already: adjust waits for this
	if err := ping(ctx, s.cl, cfg); err != nil {
		s.cl.Close()
		return nil, err
	}
	if _, err := partitions(ctx, s.cl, cfg); err != nil {
		s.cl.Close()
		return nil, err
	}
	return s, nil
}

// groupTestOpts are added to a stream's client options (tests shorten the
// group's heartbeat with them).
var groupTestOpts []kgo.Opt

// stream is an open Kafka change stream.
type stream struct {
	cfg     Config
	cl      *kgo.Client       // set before clReady is closed
	clReady chan struct{}     // closed once cl is set
	dec     *debezium.Decoder // Next's goroutine only
	maxPoll int

	mu      sync.Mutex
	next    offsets      // Invariant: only grows, except where from set it
	hw      map[tp]int64 // the high watermarks last fetched
	revokes int          // partitions revoked or lost so far

	ackMu sync.Mutex
	acked offsets // what Ack committed

	closeOnce sync.Once
	closed    chan struct{}
}

// adjust picks where each assigned partition starts: where this stream
// got to (or from said), else the group's committed offset, else the
// earliest or latest offset now (resolved, so that the checkpoint names
// every partition by number).
func (s *stream) adjust(ctx context.Context, assigned map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	select {
	case <-s.clReady:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	unresolved := map[string][]int32{}
	for t, ps := range assigned {
		for p, o := range ps {
			k := tp{t, p}
			if n, ok := s.next[k]; ok {
				ps[p] = kgo.NewOffset().At(n).WithEpoch(-1)
				continue
			}
			if n := o.EpochOffset().Offset; n >= 0 {
				s.next[k] = n
				continue
			}
			unresolved[t] = append(unresolved[t], p)
		}
	}
	s.mu.Unlock()
	if len(unresolved) == 0 {
		return assigned, nil
	}
	at := int64(atEarliest)
	if s.cfg.Start == StartLatest {
		at = atLatest
	}
	got, err := listOffsets(ctx, s.cl, s.cfg, unresolved, at) // not under s.mu: Next goes on
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range got {
		if _, ok := assigned[k.topic][k.partition]; !ok {
			continue
		}
		if prev, ok := s.next[k]; ok { // cannot happen: not assigned until now
			n = prev
		}
		assigned[k.topic][k.partition] = kgo.NewOffset().At(n).WithEpoch(-1)
		s.next[k] = n
	}
	return assigned, nil
}

// revoked forgets the high watermarks of partitions taken away. Nothing
// else is pending: Next hands over all it polled before it allows a
// rebalance, and the client drops what it buffered for them. Their next
// offsets stay in the checkpoint (one beamsync process per group).
func (s *stream) revoked(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range lost {
		for _, p := range ps {
			delete(s.hw, tp{t, p})
			s.revokes++
		}
	}
}

// Next polls the topics and returns the changes of what it read (possibly
// none: a poll of skipped records still reports its checkpoint).
func (s *stream) Next(ctx context.Context) (change.Progress, error) {
	for {
		select {
		case <-s.closed:
			return change.Progress{}, ErrClosed
		default:
		}
		fetches := s.cl.PollRecords(ctx, s.maxPoll)
		if fetches.IsClientClosed() {
			return change.Progress{}, ErrClosed
		}
		p, ok, err := s.progress(ctx, fetches)
		s.cl.AllowRebalance()
		if err != nil || ok {
			return p, err
		}
	}
}

func (s *stream) progress(ctx context.Context, fetches kgo.Fetches) (change.Progress, bool, error) {
	if err := ctx.Err(); err != nil {
		return change.Progress{}, false, err
	}
	var errs []error
	fetches.EachError(func(t string, p int32, err error) {
		var loss *kgo.ErrDataLoss
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		case errors.As(err, &loss):
			slog.Warn("kafka source: records were lost before they were read (retention or truncation); reading goes on after the gap",
				"partition", tp{t, p}.String(), "err", err)
		default:
			errs = append(errs, fmt.Errorf("kafka source: reading %s: %w", tp{t, p}, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return change.Progress{}, false, err
	}
	var parts []kgo.FetchTopicPartition
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) > 0 {
			parts = append(parts, fp)
		}
	})
	if len(parts) == 0 {
		return change.Progress{}, false, nil
	}
	slices.SortStableFunc(parts, func(a, b kgo.FetchTopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	var p change.Progress
	read := offsets{}
	hw := map[tp]int64{}
	for _, fp := range parts {
		k := tp{fp.Topic, fp.Partition}
		hw[k] = fp.HighWatermark
		for _, r := range fp.Records {
			if err := s.record(&p, k, r); err != nil {
				return change.Progress{}, false, err
			}
			read[k] = r.Offset + 1
		}
	}
	s.mu.Lock()
	for k, n := range read {
		s.next[k] = max(s.next[k], n) // Invariant: the checkpoint never goes back
	}
	copyInto(s.hw, hw)
	p.Checkpoint = s.next.checkpoint(s.run)
	p.LagBytes = s.lag()
	s.mu.Unlock()
	return p, true, nil
}

// run is the decoder's position run of a partition (Next's goroutine).
func (s *stream) run(k tp) (debezium.Run, bool) { return s.dec.Run(k.String()) }

func copyInto(dst, src map[tp]int64) {
	for k, v := range src {
		dst[k] = v
	}
}

// lag is the number of records between the checkpoint and the high
// watermarks, or -1 when no high watermark is known. s.mu is held.
func (s *stream) lag() int64 {
	if len(s.hw) == 0 {
		return -1
	}
	var n int64
	for k, hw := range s.hw {
		if next, ok := s.next[k]; ok && hw > next {
			n += hw - next
		}
	}
	return n
}

// record adds the change (or dead letter) of one record to p; it fails on
// a truncate under the fail policy.
func (s *stream) record(p *change.Progress, k tp, r *kgo.Record) error {
	pos := k.topic + "/" + strconv.Itoa(int(k.partition)) + "@" + strconv.FormatInt(r.Offset, 10)
	t, c, err := s.dec.DecodeRecord(r.Key, r.Value, debezium.Meta{Seq: r.Offset, Time: r.Timestamp.UTC(), SourcePos: pos, Stream: k.String()})
	var unknown *debezium.UnknownTableError
	var trunc *debezium.TruncateError
	switch {
	case errors.Is(err, debezium.ErrSkip), errors.As(err, &unknown):
		return nil // a tombstone, an outbox row's delete, a table not captured
	case errors.Is(err, debezium.ErrMessage):
		runstats.Add(runstats.Messages, "kafka", 1)
		return nil
	case errors.As(err, &trunc) && s.cfg.Truncate == debezium.TruncateIgnore:
		runstats.Add(runstats.Truncates, trunc.Table, 1)
		slog.Warn("kafka source: truncate ignored (truncate: ignore): the views keep the table's rows", "table", trunc.Table, "at", pos)
		return nil
	case trunc != nil:
		return fmt.Errorf("kafka source: %s: %w", pos, err)
	case err != nil:
		d := change.DeadLetter{Stage: change.StageDecode, Position: change.Position(r.Offset), SourcePos: pos,
			Reason: err.Error(), Row: rawRow(r.Value)}
		if t != nil {
			d.Table = t.QualifiedName()
		}
		p.DeadLetters = append(p.DeadLetters, d)
		return nil
	}
	if n := len(p.Batches); n > 0 && p.Batches[n-1].Table == t && len(p.Batches[n-1].Changes) < s.cfg.BatchSize {
		p.Batches[n-1].Changes = append(p.Batches[n-1].Changes, c)
	} else {
		p.Batches = append(p.Batches, change.Batch{Table: t, Changes: []change.Change{c}})
	}
	if c.CommitTime.After(p.CommitTime) {
		p.CommitTime = c.CommitTime
	}
	return nil
}

// rawRow is a record's value for a dead letter: itself when it is JSON,
// else a JSON string of it.
func rawRow(v []byte) change.JSON {
	if json.Valid(v) {
		return change.JSON(append([]byte(nil), v...))
	}
	return change.JSON(change.AppendJSON(nil, string(v)))
}

// Ack commits the checkpoint's offsets for the group (CommitOffsetsSync
// with exactly those offsets, never the client's poll position). An older
// or equal checkpoint is a no-op.
func (s *stream) Ack(ctx context.Context, cp change.Checkpoint) error {
	o, _, err := parseCheckpoint(cp)
	if err != nil {
		return fmt.Errorf("kafka source: acknowledging: %w", err)
	}
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	commit := map[string]map[int32]kgo.EpochOffset{}
	advanced := false
	for k, n := range o {
		if prev, ok := s.acked[k]; ok && n <= prev {
			n = prev
		} else {
			advanced = true
		}
		if commit[k.topic] == nil {
			commit[k.topic] = map[int32]kgo.EpochOffset{}
		}
		commit[k.topic][k.partition] = kgo.EpochOffset{Epoch: -1, Offset: n}
	}
	if !advanced {
		return nil
	}
	var cerr error
	s.cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					cerr = errors.Join(cerr, fmt.Errorf("%s: %w", tp{t.Topic, p.Partition}, err))
				}
			}
		}
	})
	if cerr != nil {
		return fmt.Errorf("kafka source: committing %s for group %s: %w", cp, s.cfg.Group, cerr)
	}
	for t, ps := range commit {
		for p, eo := range ps {
			s.acked[tp{t, p}] = eo.Offset
		}
	}
	return nil
}

// Close leaves the group and closes the client; it commits nothing. It is
// safe to call twice and while Next blocks (Next then returns ErrClosed).
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.cl.CloseAllowingRebalance()
		}()
		select {
		case <-done:
		case <-time.After(2 * s.cfg.Timeout):
			slog.Warn("kafka source: leaving the group takes long; not waiting for it", "group", s.cfg.Group)
		}
	})
	return nil
}
