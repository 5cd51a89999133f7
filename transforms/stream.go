package transforms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/ack"
	"github.com/beamsync/beamsync/internal/runstats"
)

// OpenStreamFunc opens the change stream of a source from its JSON spec.
// With from empty and snapshot not nil it first reads the source's
// snapshot, handing its batches to snapshot, and returns the stream that
// continues exactly where the snapshot ends; with from set it resumes there.
type OpenStreamFunc func(ctx context.Context, spec string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error)

var (
	openersMu sync.Mutex
	openers   = map[string]OpenStreamFunc{}
)

// RegisterStreamSource makes a kind of change stream available to
// ReadStream (sources register themselves from their Beam wrappers).
func RegisterStreamSource(kind string, open OpenStreamFunc) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[kind] = open
}

// StreamSpec says which stream ReadStream reads.
type StreamSpec struct {
	// Name identifies the stream in this process (the job's name).
	Name string `json:"name"`
	// Kind is the registered source kind; Spec its configuration as JSON.
	Kind string `json:"kind"`
	Spec string `json:"spec"`
	// From is the checkpoint to resume at; empty means snapshot first.
	From change.Checkpoint `json:"from"`
	// Snapshot reads the snapshot before the stream when From is empty.
	Snapshot bool `json:"snapshot"`
	// Ack says when a checkpoint is acknowledged: AckSinks (the default)
	// or AckCommitted.
	Ack string `json:"ack,omitempty"`
}

// When a stream acknowledges a checkpoint (StreamSpec.Ack); see
// internal/ack for the invariants of both.
const (
	// AckSinks acknowledges a checkpoint once every sink in this process
	// has written all it covers: the local runners, which hold a bundle's
	// output only in memory.
	AckSinks = ""
	// AckCommitted acknowledges the checkpoint a restriction carries when
	// the runner resumes the read with it: a runner that persists bundles
	// (Dataflow) hands over a residual only once it has durably committed
	// the bundle that produced it, with all its output.
	AckCommitted = "committed"
)

// Acknowledged is called, outside of any DoFn, with every checkpoint the
// stream acknowledged (the runner saves it in the checkpoint file).
type Acknowledged func(change.Checkpoint) error

// ReadStream reads a change stream as an unbounded PCollection of
// change.Batch, each stamped with its acknowledgement token, and the dead
// letters of events the source could not decode. The stream is opened once
// per process and kept across the SDF's resumptions; LiveStream gives the
// runner its state. Only prism runs it (the direct runner drops resumed
// SDF work).
func ReadStream(s beam.Scope, spec StreamSpec) (batches, dead beam.PCollection) {
	s = s.Scope("ReadStream." + spec.Name)
	return beam.ParDo2(s, &streamReadFn{Spec: spec}, beam.Impulse(s))
}

// ackInterval is how often the tracker is asked for a checkpoint to
// acknowledge (cheap when nothing moved).
const ackInterval = 10 * time.Millisecond

// Limits of one SDF call: it hands over what the reader queued — as soon as
// the queue runs dry after at least one unit, else after at most
// streamSliceTime or streamSliceUnits — then yields to the runner, so that
// the output flows downstream as a bundle.
const (
	streamSliceTime  = 200 * time.Millisecond
	streamSliceUnits = 256
	streamQueue      = 64
)

type streamReadFn struct {
	Spec StreamSpec `json:"spec"`
}

// StreamRestriction is the restriction of a stream read: where the stream
// resumes. A runner that persists residuals (Dataflow) keeps it with each
// bundle's output, so that a read it resumes on another worker, or retries
// after a failed bundle, reopens the source right after the last unit the
// runner holds.
type StreamRestriction struct {
	// From is the checkpoint of the last unit claimed, or the spec's start
	// before any (empty while a snapshot is read).
	From string
	// Seq counts the units claimed since the job started.
	Seq int64
	// Done marks a restriction with no work left (a checkpoint's primary,
	// the end of the stream, a drain).
	Done bool
}

// streamClaim is a position of the stream's tracker: one unit, or the end.
type streamClaim struct {
	cp  change.Checkpoint
	end bool
}

// streamTracker tracks a StreamRestriction: every claimed unit moves its
// Seq on, and its From to the unit's checkpoint when it has one. It splits
// only to checkpoint (fraction 0): primary done, residual from the last
// claim.
type streamTracker struct {
	rest StreamRestriction
	err  error
}

func (t *streamTracker) TryClaim(pos any) bool {
	if t.rest.Done {
		return false
	}
	c, ok := pos.(streamClaim)
	if !ok {
		t.err = fmt.Errorf("stream tracker: claim of a %T", pos)
		return false
	}
	if c.end {
		t.rest.Done = true
		return false
	}
	t.rest.Seq++
	if c.cp != "" {
		t.rest.From = string(c.cp)
	}
	return true
}

func (t *streamTracker) GetError() error { return t.err }

func (t *streamTracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if t.rest.Done || fraction > 0 {
		return t.rest, nil, nil
	}
	res := t.rest
	t.rest.Done = true
	return t.rest, res, nil
}

func (t *streamTracker) GetProgress() (done, remaining float64) { return float64(t.rest.Seq), 1 }
func (t *streamTracker) IsDone() bool                           { return t.rest.Done || t.err != nil }
func (t *streamTracker) GetRestriction() any                    { return t.rest }
func (t *streamTracker) IsBounded() bool                        { return false }

func (fn *streamReadFn) CreateInitialRestriction(_ []byte) StreamRestriction {
	return StreamRestriction{From: string(fn.Spec.From)}
}

func (fn *streamReadFn) SplitRestriction(_ []byte, rest StreamRestriction) []StreamRestriction {
	return []StreamRestriction{rest}
}

func (fn *streamReadFn) RestrictionSize(_ []byte, _ StreamRestriction) float64 { return 1 }

func (fn *streamReadFn) CreateTracker(rest StreamRestriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&streamTracker{rest: rest})
}

// TruncateRestriction ends the read when the runner drains the job.
func (fn *streamReadFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) StreamRestriction {
	rest := rt.GetRestriction().(StreamRestriction)
	rest.Done = true
	return rest
}

func (fn *streamReadFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ StreamRestriction, _ []byte) int64 {
	return 0
}

func (fn *streamReadFn) CreateWatermarkEstimator(_ int64) *sdf.WallTimeWatermarkEstimator {
	return &sdf.WallTimeWatermarkEstimator{}
}

func (fn *streamReadFn) WatermarkEstimatorState(_ *sdf.WallTimeWatermarkEstimator) int64 { return 0 }

func (fn *streamReadFn) ProcessElement(ctx context.Context, _ *sdf.WallTimeWatermarkEstimator, rt *sdf.LockRTracker, _ []byte,
	emit func(change.Batch), dead func(change.DeadLetter)) (sdf.ProcessContinuation, error) {
	rest := rt.GetRestriction().(StreamRestriction)
	if rest.Done {
		return sdf.StopProcessing(), nil
	}
	ls, err := attachLive(fn.Spec, rest)
	if err != nil {
		return sdf.StopProcessing(), err
	}
	committed := fn.Spec.Ack == AckCommitted
	if committed {
		// The runner committed everything up to the restriction: the ack
		// loop lets the source release it.
		ls.commit(rest)
	}
	seq := rest.Seq
	deadline := time.NewTimer(streamSliceTime)
	defer deadline.Stop()
	for n := 0; n < streamSliceUnits; n++ {
		var u streamUnit
		var ok bool
		if held := ls.takeHeld(); held != nil {
			u, ok = *held, true
		} else if n > 0 {
			// Something was emitted: hand it downstream now (the bundle
			// ends with this call) unless more is already waiting.
			select {
			case u, ok = <-ls.units:
			default:
				return sdf.ResumeProcessingIn(0), nil
			}
		} else {
			select {
			case u, ok = <-ls.units:
			case <-deadline.C:
				return sdf.ResumeProcessingIn(0), nil
			case <-ctx.Done():
				return sdf.StopProcessing(), ctx.Err()
			}
		}
		if !ok { // the reader ended: a stop, a failure, or an abandon
			if err := ls.readErr(); err != nil {
				return sdf.StopProcessing(), err
			}
			if ls.wasAbandoned() {
				// The next call reopens the stream at the restriction.
				return sdf.ResumeProcessingIn(0), nil
			}
			rt.TryClaim(streamClaim{end: true})
			return sdf.StopProcessing(), nil
		}
		if !rt.TryClaim(streamClaim{cp: u.cp}) {
			// The runner checkpointed the read here: the unit goes to the
			// residual's call.
			ls.hold(u)
			return sdf.StopProcessing(), nil
		}
		seq++
		ls.claimed(seq)
		var tok change.AckToken
		if !committed {
			tok = ls.tracker.Open(u.cp, len(u.batches)+len(u.dead))
		}
		for _, b := range u.batches {
			b.Ack = tok
			if b.Table != nil {
				runstats.Add(runstats.Read, b.Table.QualifiedName(), int64(len(b.Changes)))
			}
			emit(b)
		}
		for _, d := range u.dead {
			d.Ack = tok
			if d.Table != "" {
				runstats.Add(runstats.Dead, d.Table, 1) // the source's: decode failures, per table
			}
			dead(d)
		}
	}
	return sdf.ResumeProcessingIn(0), nil
}

// streamUnit is what the reader hands the SDF: one acknowledgement unit.
type streamUnit struct {
	batches []change.Batch
	dead    []change.DeadLetter
	cp      change.Checkpoint
}

// LiveStream is a stream open in this process.
type LiveStream struct {
	spec     StreamSpec
	tracker  *ack.Tracker
	units    chan streamUnit
	cancel   context.CancelFunc
	done     chan struct{} // the ack loop ended
	readDone chan struct{} // the reader ended

	ackMu sync.Mutex // one acknowledgement at a time

	mu        sync.Mutex
	abandoned bool        // closed without acknowledging (see abandon)
	held      *streamUnit // a unit read but not emitted (see ProcessElement)
	seq       int64       // the restriction's Seq after the last unit emitted
	lastCall  time.Time   // when the SDF last claimed from it
	stream    change.Stream
	opened    time.Time // when the source's stream opened (after its snapshot)
	err       error
	acked     change.Checkpoint
	ackedSeq  int64             // AckCommitted: the Seq of the acknowledged unit
	commits   StreamRestriction // AckCommitted: the newest the runner committed
	acks      int64
	progress  change.Progress // the last one read, for lag
	onAck     Acknowledged
}

var (
	liveMu sync.Mutex
	live   = map[string]*LiveStream{}
)

// Live returns the stream of the given name open in this process, or nil.
func Live(name string) *LiveStream {
	liveMu.Lock()
	defer liveMu.Unlock()
	return live[name]
}

// PrepareStream sets what the runner wants called on acknowledgements
// before the pipeline opens the stream of that name.
func PrepareStream(name string, onAck Acknowledged) {
	liveMu.Lock()
	defer liveMu.Unlock()
	pendingAck[name] = onAck
}

var pendingAck = map[string]Acknowledged{}

// attachLive returns the stream the restriction continues: the one open in
// this process if it is where the restriction is, else a new one opened at
// the restriction's checkpoint. With AckSinks the open stream is always
// where the runner is (the local runners neither retry bundles nor move
// work between processes); with AckCommitted a stream that emitted more
// than the restriction holds (a retried bundle) is abandoned and reopened.
func attachLive(spec StreamSpec, rest StreamRestriction) (*LiveStream, error) {
	liveMu.Lock()
	ls, ok := live[spec.Name]
	if ok && spec.Ack == AckCommitted && ls.claimedSeq() != rest.Seq {
		delete(live, spec.Name)
		liveMu.Unlock()
		slog.Warn("the runner resumes the stream at another position than this worker's: reopening it there",
			"stream", spec.Name, "checkpoint", rest.From, "unit", rest.Seq, "worker_unit", ls.claimedSeq())
		ls.abandon()
		liveMu.Lock()
		ls, ok = live[spec.Name]
	}
	defer liveMu.Unlock()
	if ok {
		return ls, nil
	}
	openersMu.Lock()
	open, ok := openers[spec.Kind]
	openersMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("stream %s: no stream source of kind %q in this binary", spec.Name, spec.Kind)
	}
	ctx, cancel := context.WithCancel(context.Background())
	from := change.Checkpoint(rest.From)
	ls = &LiveStream{
		spec: spec, tracker: ack.NewTracker(spec.Name), units: make(chan streamUnit, streamQueue),
		cancel: cancel, done: make(chan struct{}), readDone: make(chan struct{}),
		seq: rest.Seq, ackedSeq: rest.Seq, commits: rest, lastCall: time.Now(),
		acked: from, onAck: pendingAck[spec.Name],
	}
	live[spec.Name] = ls
	go ls.read(ctx, open, from, from == "" && spec.Snapshot)
	go ls.ackLoop(ctx)
	return ls, nil
}

// read runs the snapshot (when asked) and then the stream, queueing units.
func (ls *LiveStream) read(ctx context.Context, open OpenStreamFunc, from change.Checkpoint, withSnapshot bool) {
	defer close(ls.readDone)
	defer close(ls.units)
	var snapshot func(change.Batch) error
	if withSnapshot {
		snapshot = func(b change.Batch) error {
			select {
			case ls.units <- streamUnit{batches: []change.Batch{b}}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	st, err := open(ctx, ls.spec.Spec, from, snapshot)
	if err != nil {
		ls.fail(fmt.Errorf("opening stream %s: %w", ls.spec.Name, err))
		return
	}
	ls.mu.Lock()
	ls.stream, ls.opened = st, time.Now()
	ls.mu.Unlock()
	for {
		p, err := st.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				ls.fail(fmt.Errorf("stream %s: %w", ls.spec.Name, err))
			}
			return
		}
		ls.mu.Lock()
		ls.progress = p
		ls.mu.Unlock()
		select {
		case ls.units <- streamUnit{batches: p.Batches, dead: p.DeadLetters, cp: p.Checkpoint}:
		case <-ctx.Done():
			return
		}
	}
}

func (ls *LiveStream) hold(u streamUnit) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.held = &u
}

func (ls *LiveStream) takeHeld() *streamUnit {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	u := ls.held
	ls.held = nil
	ls.lastCall = time.Now()
	return u
}

// commit records that the runner committed the restriction's units.
func (ls *LiveStream) commit(rest StreamRestriction) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if rest.Seq > ls.commits.Seq {
		ls.commits = rest
	}
}

// claimed records that the unit of this Seq was emitted.
func (ls *LiveStream) claimed(seq int64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.seq = seq
}

func (ls *LiveStream) wasAbandoned() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.abandoned
}

func (ls *LiveStream) claimedSeq() int64 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.seq
}

func (ls *LiveStream) fail(err error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.err == nil {
		ls.err = err
	}
}

func (ls *LiveStream) readErr() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.err
}

// streamIdleClose is how long a stream acknowledged by the runner's commits
// (AckCommitted) stays open without the SDF claiming from it: past it, the runner is taken
// to have moved the read to another worker, and the stream is closed so
// that it releases what it holds at the source (a replication slot, Kafka
// partitions). A read that comes back reopens it at its restriction.
var streamIdleClose atomic.Int64

func init() { streamIdleClose.Store(int64(2 * time.Minute)) }

// ackLoop acknowledges what the tracker allows, every few milliseconds
// (AckSinks), or what the runner committed (AckCommitted; the stream is
// closed once it has been idle for streamIdleClose).
func (ls *LiveStream) ackLoop(ctx context.Context) {
	defer close(ls.done)
	t := time.NewTicker(ackInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ls.spec.Ack == AckCommitted {
			ls.mu.Lock()
			idle := time.Since(ls.lastCall)
			ls.mu.Unlock()
			if idle > time.Duration(streamIdleClose.Load()) {
				liveMu.Lock()
				if live[ls.spec.Name] == ls {
					delete(live, ls.spec.Name)
				}
				liveMu.Unlock()
				slog.Info("closing a stream the runner stopped reading here", "stream", ls.spec.Name, "idle", idle.Round(time.Second))
				go ls.abandon()
				return
			}
		}
		if err := ls.AckNow(ctx); err != nil {
			slog.Error("acknowledging the stream", "stream", ls.spec.Name, "err", err)
			ls.fail(err)
		}
	}
}

// AckNow acknowledges the newest checkpoint the tracker allows, if it moved.
func (ls *LiveStream) AckNow(ctx context.Context) error {
	ls.ackMu.Lock()
	defer ls.ackMu.Unlock()
	committed := ls.spec.Ack == AckCommitted
	var cp change.Checkpoint
	var seq int64
	if committed {
		ls.mu.Lock()
		cp, seq = change.Checkpoint(ls.commits.From), ls.commits.Seq
		ls.mu.Unlock()
	} else {
		var err error
		if cp, err = ls.tracker.Ackable(); err != nil {
			return err
		}
	}
	ls.mu.Lock()
	st, prev, prevSeq, onAck := ls.stream, ls.acked, ls.ackedSeq, ls.onAck
	ls.mu.Unlock()
	if cp == "" || cp == prev || st == nil || (committed && seq <= prevSeq) {
		return nil
	}
	// The checkpoint file first, the source second: the source then never
	// holds a position ahead of the file, so a restart from the file finds
	// everything after it still kept by the source.
	if onAck != nil {
		if err := onAck(cp); err != nil {
			return err
		}
	}
	if err := st.Ack(ctx, cp); err != nil {
		return fmt.Errorf("stream %s: acknowledging %s: %w", ls.spec.Name, cp, err)
	}
	ls.mu.Lock()
	ls.acked, ls.ackedSeq = cp, seq
	ls.acks++
	ls.mu.Unlock()
	return nil
}

// Opened returns when the source's stream opened (after the snapshot, if
// one was read), or the zero time before.
func (ls *LiveStream) Opened() time.Time {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.opened
}

// Acks returns the number of acknowledgements made.
func (ls *LiveStream) Acks() int64 {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.acks
}

// Acked returns the last acknowledged checkpoint.
func (ls *LiveStream) Acked() change.Checkpoint {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.acked
}

// Lag returns how far the stream is behind its source: the age of the
// newest transaction read (zero when it is idle and caught up) and the
// source's own measure in bytes (-1 when unknown).
func (ls *LiveStream) Lag() (time.Duration, int64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	p := ls.progress
	var age time.Duration
	if !p.CommitTime.IsZero() && len(p.Batches) > 0 {
		age = max(0, time.Since(p.CommitTime))
	}
	if p.Checkpoint == "" {
		return age, -1
	}
	return age, p.LagBytes
}

// Outstanding returns the number of units read and not yet written.
func (ls *LiveStream) Outstanding() int { return ls.tracker.Outstanding() }

// Err returns the stream's failure, if any.
func (ls *LiveStream) Err() error { return ls.readErr() }

// Stop ends the reading: the SDF hands over what is queued and stops, so
// the pipeline drains and ends.
func (ls *LiveStream) Stop() { ls.cancel() }

// Close acknowledges what the sinks wrote and closes the stream; the
// stream's name may be opened again afterwards.
func (ls *LiveStream) Close(ctx context.Context) error {
	ls.cancel()
	<-ls.done
	err := ls.AckNow(ctx)
	err = errors.Join(err, ls.closeSource(ctx))
	liveMu.Lock()
	if live[ls.spec.Name] == ls {
		delete(live, ls.spec.Name)
	}
	delete(pendingAck, ls.spec.Name)
	liveMu.Unlock()
	return err
}

// abandon closes a stream without acknowledging anything: the runner
// resumes the read elsewhere, from its restriction.
func (ls *LiveStream) abandon() {
	ls.mu.Lock()
	ls.abandoned = true
	ls.mu.Unlock()
	ls.cancel()
	<-ls.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ls.closeSource(ctx); err != nil {
		slog.Warn("closing an abandoned stream", "stream", ls.spec.Name, "err", err)
	}
}

// closeSource waits (until ctx ends) for the reader to stop, then closes
// the source's stream and releases the tracker's units.
func (ls *LiveStream) closeSource(ctx context.Context) error {
	select {
	case <-ls.readDone:
	case <-ctx.Done():
	}
	ls.mu.Lock()
	st := ls.stream
	ls.stream = nil
	ls.mu.Unlock()
	ls.tracker.Release()
	if st != nil {
		return st.Close()
	}
	return nil
}

func init() {
	register.DoFn6x2[context.Context, *sdf.WallTimeWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(change.Batch), func(change.DeadLetter), sdf.ProcessContinuation, error](&streamReadFn{})
	register.Emitter1[change.Batch]()
	beam.RegisterType(reflect.TypeOf((*StreamRestriction)(nil)).Elem())
}
