package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// RunFunc runs the job once. ctx is cancelled when the scheduler stops. It
// returns the run's counts and, optionally, its summary as JSON.
type RunFunc func(ctx context.Context, tick time.Time) (Result, error)

// Result is what a run reports to the history.
type Result struct {
	Counts  Counts
	Summary []byte // JSON, may be nil
}

// Scheduler runs a job at the ticks of a cron expression, one run at a
// time, in this process. See the package documentation for its rules.
type Scheduler struct {
	Cron    *Cron
	Run     RunFunc
	History *History
	// Clock defaults to the real clock.
	Clock Clock
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Loop runs the job at every tick until ctx is cancelled. It returns nil
// when stopped by ctx, or the error of the history file (a scheduler that
// cannot record its runs stops rather than run blind).
//
// Invariant: at most one run is in progress; a tick that comes while one is
// running is recorded as skipped and not made up for later.
func (s *Scheduler) Loop(ctx context.Context) error {
	if s.Cron == nil || s.Run == nil || s.History == nil {
		return errors.New("schedule: Cron, Run and History are required")
	}
	clock := s.Clock
	if clock == nil {
		clock = RealClock{}
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}

	last, err := s.History.LastScheduled()
	if err != nil {
		return err
	}
	type done struct {
		e   Entry
		res Result
		err error
	}
	var (
		running bool
		doneC   = make(chan done, 1)
	)
	runCtx, cancelRun := context.WithCancel(ctx)
	defer func() {
		// Invariant: Loop returns only once the run it started has
		// returned, whatever the reason it returns for.
		cancelRun()
		if running {
			<-doneC
		}
	}()
	start := func(tick time.Time, catchUp bool, missed int) {
		running = true
		e := Entry{Scheduled: tick, CatchUp: catchUp, Missed: missed, Start: clock.Now()}
		log.Info("run starting", "scheduled", tick, "catch_up", catchUp, "missed", missed)
		go func() {
			res, err := s.Run(runCtx, tick)
			doneC <- done{e: e, res: res, err: err}
		}()
	}
	finish := func(d done) error {
		running = false
		e := d.e
		e.End = clock.Now()
		e.Counts, e.Summary = d.res.Counts, d.res.Summary
		switch {
		case d.err == nil:
			e.Outcome = OutcomeSuccess
		case ctx.Err() != nil:
			e.Outcome, e.Error = OutcomeInterrupted, d.err.Error()
		default:
			e.Outcome, e.Error = OutcomeFailed, d.err.Error()
		}
		log.Info("run finished", "scheduled", e.Scheduled, "outcome", e.Outcome, "duration", e.End.Sub(e.Start),
			"read", e.Counts.Read, "written", e.Counts.Written, "error", e.Error)
		return s.History.Append(e)
	}

	// Catch-up: ticks that passed while no scheduler was running are made
	// up for by one run, for the latest of them.
	now := clock.Now()
	cursor := now
	if !last.IsZero() {
		if missed, latest := s.missed(last, now); missed > 0 {
			start(latest, true, missed)
		}
	}

	for {
		next := s.Cron.Next(cursor)
		if next.IsZero() {
			return fmt.Errorf("schedule: cron %q never fires after %s", s.Cron, cursor)
		}
		timer, stop := clock.Timer(next.Sub(clock.Now()))
		select {
		case <-ctx.Done():
			stop()
			if running {
				log.Info("stopping: waiting for the running run to stop")
				if err := finish(<-doneC); err != nil {
					return err
				}
			}
			return nil
		case d := <-doneC:
			stop()
			if err := finish(d); err != nil {
				return err
			}
		case <-timer:
			cursor = next
			if running {
				log.Warn("tick skipped: the previous run is still running", "scheduled", next)
				if err := s.History.Append(Entry{Scheduled: next, Start: clock.Now(), Outcome: OutcomeSkipped,
					Error: "the previous run was still running"}); err != nil {
					return err
				}
				continue
			}
			start(next, false, 0)
		}
	}
}

// missed counts the ticks in (last, now] and returns the latest of them.
func (s *Scheduler) missed(last, now time.Time) (int, time.Time) {
	n, latest := 0, time.Time{}
	for t := s.Cron.Next(last); !t.IsZero() && !t.After(now); t = s.Cron.Next(t) {
		n++
		latest = t
		if n == 100000 {
			break
		}
	}
	return n, latest
}
