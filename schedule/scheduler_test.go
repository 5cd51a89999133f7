package schedule

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading zone %s: %v", name, err)
	}
	return loc
}

func mustCron(t *testing.T, expr string, loc *time.Location) *Cron {
	t.Helper()
	c, err := ParseCron(expr, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// harness runs a Scheduler on a fake clock with a job the test controls.
type harness struct {
	t       *testing.T
	clock   *FakeClock
	hist    *History
	started chan time.Time // a run started (its tick)
	release chan error     // ends the current run with this error
	active  atomic.Int32
	maxSeen atomic.Int32
	cancel  context.CancelFunc
	done    chan error // Loop's return
}

func newHarness(t *testing.T, c *Cron, now time.Time, seed ...Entry) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		clock:   NewFakeClock(now),
		hist:    NewHistory(t.TempDir()),
		started: make(chan time.Time, 10),
		release: make(chan error),
		done:    make(chan error, 1),
	}
	for _, e := range seed {
		if err := h.hist.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	s := &Scheduler{Cron: c, History: h.hist, Clock: h.clock, Run: func(ctx context.Context, tick time.Time) (Result, error) {
		n := h.active.Add(1)
		defer h.active.Add(-1)
		for {
			m := h.maxSeen.Load()
			if n <= m || h.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		h.started <- tick
		select {
		case err := <-h.release:
			return Result{Counts: Counts{Read: 3, Written: 2}, Summary: []byte(`{"job":"x"}`)}, err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}}
	go func() { h.done <- s.Loop(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("the scheduler did not stop")
		}
	})
	return h
}

// fire waits until the scheduler waits for tick, then moves the clock there.
func (h *harness) fire(tick time.Time) {
	h.t.Helper()
	if !h.clock.WaitForTimer(tick, timeout(h.t)) {
		h.t.Fatalf("the scheduler never waited for the tick %s", tick)
	}
	h.clock.Set(tick)
}

func (h *harness) expectStart(tick time.Time) {
	h.t.Helper()
	select {
	case got := <-h.started:
		if !got.Equal(tick) {
			h.t.Fatalf("run started for tick %s, want %s", got, tick)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no run started for tick %s", tick)
	}
}

func (h *harness) noStart() {
	h.t.Helper()
	select {
	case got := <-h.started:
		h.t.Fatalf("unexpected run for tick %s", got)
	default:
	}
}

// entries waits until the history holds n entries and returns them.
func (h *harness) entries(n int) []Entry {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es, err := h.hist.Read()
		if err != nil {
			h.t.Fatal(err)
		}
		if len(es) >= n || time.Now().After(deadline) {
			if len(es) != n {
				h.t.Fatalf("history has %d entries, want %d: %+v", len(es), n, es)
			}
			return es
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func timeout(t *testing.T) <-chan struct{} {
	c := make(chan struct{})
	timer := time.AfterFunc(5*time.Second, func() { close(c) })
	t.Cleanup(func() { timer.Stop() })
	return c
}

func TestScheduleRunsAtCronTimesAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	h := newHarness(t, mustCron(t, "0 2 * * *", ny), time.Date(2026, 3, 6, 12, 0, 0, 0, ny))
	ticks := []time.Time{
		time.Date(2026, 3, 7, 7, 0, 0, 0, time.UTC), // 02:00 EST
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), // 02:00 does not exist: 03:00 EDT
		time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC), // 02:00 EDT
	}
	for i, tick := range ticks {
		h.fire(tick)
		h.expectStart(tick)
		h.clock.Advance(90 * time.Second)
		h.release <- nil
		es := h.entries(i + 1)
		e := es[i]
		if !e.Scheduled.Equal(tick) || e.Outcome != OutcomeSuccess || e.CatchUp ||
			!e.Start.Equal(tick) || e.End.Sub(e.Start) != 90*time.Second ||
			e.Counts != (Counts{Read: 3, Written: 2}) || string(e.Summary) != `{"job":"x"}` {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
}

func TestScheduleOverlapSkipsTick(t *testing.T) {
	tokyo := mustLoc(t, "Asia/Tokyo")
	c := mustCron(t, "0 2 * * *", tokyo)
	h := newHarness(t, c, time.Date(2026, 12, 1, 12, 0, 0, 0, tokyo))
	d2 := time.Date(2026, 12, 2, 2, 0, 0, 0, tokyo)
	d3, d4 := d2.AddDate(0, 0, 1), d2.AddDate(0, 0, 2)

	h.fire(d2)
	h.expectStart(d2)
	h.fire(d3) // the first run lasts past the next tick
	es := h.entries(1)
	if es[0].Outcome != OutcomeSkipped || !es[0].Scheduled.Equal(d3) {
		t.Fatalf("entry = %+v, want the tick %s skipped", es[0], d3)
	}
	h.noStart()
	h.clock.Advance(time.Hour)
	h.release <- errors.New("sink exploded")
	es = h.entries(2)
	if e := es[1]; e.Outcome != OutcomeFailed || e.Error != "sink exploded" || !e.Scheduled.Equal(d2) || !e.End.Equal(d3.Add(time.Hour)) {
		t.Fatalf("entry = %+v, want the run of %s failed", e, d2)
	}
	h.fire(d4)
	h.expectStart(d4)
	h.release <- nil
	es = h.entries(3)
	if es[2].Outcome != OutcomeSuccess || !es[2].Scheduled.Equal(d4) {
		t.Fatalf("entry = %+v", es[2])
	}
	if m := h.maxSeen.Load(); m != 1 {
		t.Errorf("%d runs ran at once, want 1", m)
	}
}

func TestScheduleCatchesUpOnceAfterDowntime(t *testing.T) {
	c := mustCron(t, "0 2 * * *", time.UTC)
	last := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC) // down for the ticks of Dec 2..5
	h := newHarness(t, c, now, Entry{Scheduled: last, Start: last, End: last.Add(time.Minute), Outcome: OutcomeSuccess})
	want := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	h.expectStart(want)
	h.release <- nil
	es := h.entries(2)
	if e := es[1]; !e.CatchUp || e.Missed != 4 || !e.Scheduled.Equal(want) || e.Outcome != OutcomeSuccess || !e.Start.Equal(now) {
		t.Fatalf("catch-up entry = %+v", e)
	}
	// Then it waits for the next regular tick, with no further catch-up.
	next := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	if !h.clock.WaitForTimer(next, timeout(t)) {
		t.Fatal("the scheduler does not wait for the next tick")
	}
	h.noStart()
	h.fire(next)
	h.expectStart(next)
	h.release <- nil
	if e := h.entries(3)[2]; e.CatchUp || !e.Scheduled.Equal(next) {
		t.Fatalf("entry = %+v", e)
	}
}

func TestScheduleNoCatchUpWithoutHistoryOrMissedTick(t *testing.T) {
	c := mustCron(t, "0 2 * * *", time.UTC)
	last := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	h := newHarness(t, c, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), Entry{Scheduled: last, Outcome: OutcomeSuccess})
	if !h.clock.WaitForTimer(last.AddDate(0, 0, 1), timeout(t)) {
		t.Fatal("the scheduler does not wait for the next tick")
	}
	h.noStart()
}

func TestScheduleStopCancelsRunningRun(t *testing.T) {
	c := mustCron(t, "*/5 * * * *", time.UTC)
	h := newHarness(t, c, time.Date(2026, 12, 4, 1, 2, 0, 0, time.UTC))
	tick := time.Date(2026, 12, 4, 1, 5, 0, 0, time.UTC)
	h.fire(tick)
	h.expectStart(tick)
	h.cancel() // SIGTERM
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Loop = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not return after cancel")
	}
	h.done <- nil // for the cleanup
	es := h.entries(1)
	if e := es[0]; e.Outcome != OutcomeInterrupted || e.Error != context.Canceled.Error() || e.End.IsZero() {
		t.Fatalf("entry = %+v", e)
	}
	if h.active.Load() != 0 {
		t.Fatal("Loop returned while the run was still running")
	}
}

func TestCronNext(t *testing.T) {
	tokyo, ny, berlin := mustLoc(t, "Asia/Tokyo"), mustLoc(t, "America/New_York"), mustLoc(t, "Europe/Berlin")
	for _, tc := range []struct {
		expr string
		loc  *time.Location
		from time.Time
		want []time.Time
	}{
		{"0 2 * * *", tokyo, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), []time.Time{
			time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)}},
		// Spring forward: 02:30 does not exist on Mar 8, it fires at 03:30 EDT.
		{"30 2 * * *", ny, time.Date(2026, 3, 7, 12, 0, 0, 0, ny), []time.Time{
			time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC)}},
		// Fall back: 01:30 happens twice on Nov 1, it fires once (EDT).
		{"30 1 * * *", ny, time.Date(2026, 10, 31, 12, 0, 0, 0, ny), []time.Time{
			time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)}},
		{"0 3 * * 1-5", berlin, time.Date(2026, 3, 27, 12, 0, 0, 0, berlin), []time.Time{ // Fri, then Mon after DST
			time.Date(2026, 3, 30, 1, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 1, 0, 0, 0, time.UTC)}},
		{"@daily", time.UTC, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), []time.Time{
			time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}},
	} {
		c := mustCron(t, tc.expr, tc.loc)
		at := tc.from
		for i, w := range tc.want {
			at = c.Next(at)
			if !at.Equal(w) {
				t.Errorf("%s in %s: tick %d = %s, want %s", tc.expr, tc.loc, i, at.UTC(), w)
			}
		}
	}
	c := mustCron(t, "0 2 * * *", tokyo)
	if p := c.Prev(time.Date(2026, 12, 4, 16, 59, 0, 0, time.UTC)); !p.Equal(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("Prev = %s", p.UTC())
	}
}

func TestParseCronRejects(t *testing.T) {
	for _, e := range []string{"", "0 2 * *", "61 2 * * *", "0 2 * * * *", "CRON_TZ=UTC 0 2 * * *", "@every 1h", "0 25 * * *"} {
		if _, err := ParseCron(e, time.UTC); err == nil {
			t.Errorf("ParseCron(%q) = nil error", e)
		}
	}
}
