package transforms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
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
}

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

func (fn *streamReadFn) CreateInitialRestriction(_ []byte) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: math.MaxInt64}
}

func (fn *streamReadFn) SplitRestriction(_ []byte, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *streamReadFn) RestrictionSize(_ []byte, _ offsetrange.Restriction) float64 { return 1 }

func (fn *streamReadFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(rest))
}

func (fn *streamReadFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) offsetrange.Restriction {
	start := rt.GetRestriction().(offsetrange.Restriction).Start
	return offsetrange.Restriction{Start: start, End: start}
}

func (fn *streamReadFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ offsetrange.Restriction, _ []byte) int64 {
	return 0
}

func (fn *streamReadFn) CreateWatermarkEstimator(_ int64) *sdf.WallTimeWatermarkEstimator {
	return &sdf.WallTimeWatermarkEstimator{}
}

func (fn *streamReadFn) WatermarkEstimatorState(_ *sdf.WallTimeWatermarkEstimator) int64 { return 0 }

func (fn *streamReadFn) ProcessElement(ctx context.Context, _ *sdf.WallTimeWatermarkEstimator, rt *sdf.LockRTracker, _ []byte,
	emit func(change.Batch), dead func(change.DeadLetter)) (sdf.ProcessContinuation, error) {
	ls, err := openLive(fn.Spec)
	if err != nil {
		return sdf.StopProcessing(), err
	}
	pos := rt.GetRestriction().(offsetrange.Restriction).Start
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
		if !ok { // the reader ended: a stop, or a failure
			if err := ls.readErr(); err != nil {
				return sdf.StopProcessing(), err
			}
			rt.TryClaim(int64(math.MaxInt64 - 1))
			return sdf.StopProcessing(), nil
		}
		if !rt.TryClaim(pos) {
			// The runner split the work here: the unit goes to the
			// residual's call, in this process.
			ls.hold(u)
			return sdf.StopProcessing(), nil
		}
		pos++
		tok := ls.tracker.Open(u.cp, len(u.batches)+len(u.dead))
		for _, b := range u.batches {
			b.Ack = tok
			if b.Table != nil {
				runstats.Add(runstats.Read, b.Table.QualifiedName(), int64(len(b.Changes)))
			}
			emit(b)
		}
		for _, d := range u.dead {
			d.Ack = tok
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
	spec    StreamSpec
	tracker *ack.Tracker
	units   chan streamUnit
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	held     *streamUnit // a unit read but not emitted (see ProcessElement)
	stream   change.Stream
	opened   time.Time // when the source's stream opened (after its snapshot)
	err      error
	acked    change.Checkpoint
	acks     int64
	progress change.Progress // the last one read, for lag
	onAck    Acknowledged
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

func openLive(spec StreamSpec) (*LiveStream, error) {
	liveMu.Lock()
	defer liveMu.Unlock()
	if ls, ok := live[spec.Name]; ok {
		return ls, nil
	}
	openersMu.Lock()
	open, ok := openers[spec.Kind]
	openersMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("stream %s: no stream source of kind %q in this binary", spec.Name, spec.Kind)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ls := &LiveStream{
		spec: spec, tracker: ack.NewTracker(spec.Name), units: make(chan streamUnit, streamQueue),
		cancel: cancel, done: make(chan struct{}), acked: spec.From, onAck: pendingAck[spec.Name],
	}
	live[spec.Name] = ls
	go ls.read(ctx, open)
	go ls.ackLoop(ctx)
	return ls, nil
}

// read runs the snapshot (when asked) and then the stream, queueing units.
func (ls *LiveStream) read(ctx context.Context, open OpenStreamFunc) {
	defer close(ls.units)
	var snapshot func(change.Batch) error
	if ls.spec.From == "" && ls.spec.Snapshot {
		snapshot = func(b change.Batch) error {
			select {
			case ls.units <- streamUnit{batches: []change.Batch{b}}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	st, err := open(ctx, ls.spec.Spec, ls.spec.From, snapshot)
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
	return u
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

// ackLoop acknowledges what the tracker allows, every few milliseconds.
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
		if err := ls.AckNow(ctx); err != nil {
			slog.Error("acknowledging the stream", "stream", ls.spec.Name, "err", err)
			ls.fail(err)
		}
	}
}

// AckNow acknowledges the newest checkpoint the tracker allows, if it moved.
func (ls *LiveStream) AckNow(ctx context.Context) error {
	cp, err := ls.tracker.Ackable()
	if err != nil {
		return err
	}
	ls.mu.Lock()
	st, prev, onAck := ls.stream, ls.acked, ls.onAck
	ls.mu.Unlock()
	if cp == "" || cp == prev || st == nil {
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
	ls.acked = cp
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
	ls.mu.Lock()
	st := ls.stream
	ls.mu.Unlock()
	if st != nil {
		err = errors.Join(err, st.Close())
	}
	ls.tracker.Release()
	liveMu.Lock()
	delete(live, ls.spec.Name)
	delete(pendingAck, ls.spec.Name)
	liveMu.Unlock()
	return err
}

func init() {
	register.DoFn6x2[context.Context, *sdf.WallTimeWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(change.Batch), func(change.DeadLetter), sdf.ProcessContinuation, error](&streamReadFn{})
	register.Emitter1[change.Batch]()
}
