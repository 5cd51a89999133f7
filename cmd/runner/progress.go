package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/transforms"
)

// startProgress shows the snapshot's progress until the returned func is
// called: a status line rewritten in place on a terminal (rows, rate, ETA
// from the tables' size estimates), or a log line every 10 s otherwise.
func startProgress(ctx context.Context, w io.Writer, logger *slog.Logger, mode string) func() {
	if mode == "off" {
		return func() {}
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if mode == "auto" {
		mode = "log"
		if tty {
			mode = "line"
		}
	}
	every := 10 * time.Second
	if mode == "line" {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if mode == "line" {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				p := currentProgress(time.Since(start))
				if mode == "line" {
					fmt.Fprintf(w, "\r\033[K%s", p.line())
				} else {
					logger.Info("progress", "rows", p.rows, "of_estimated", p.total, "rows_per_s", int64(p.rate), "eta", p.eta.Round(time.Second).String())
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

type progressNow struct {
	rows, total int64
	sourceDone  bool
	rate        float64
	eta         time.Duration
	elapsed     time.Duration
}

func currentProgress(elapsed time.Duration) progressNow {
	p := progressNow{rows: runstats.Sum(runstats.Read), elapsed: elapsed, sourceDone: runstats.Sum(runstats.SourceDone) > 0}
	for _, t := range runstats.Subjects(runstats.Estimated) {
		if n := runstats.Get(runstats.Estimated, t); n > 0 {
			p.total += n
		}
	}
	if s := elapsed.Seconds(); s > 0 {
		p.rate = float64(p.rows) / s
	}
	if p.rate > 0 && p.total > p.rows {
		p.eta = time.Duration(float64(p.total-p.rows) / p.rate * float64(time.Second))
	}
	return p
}

func (p progressNow) line() string {
	if p.sourceDone {
		return fmt.Sprintf("snapshot read: %s rows; writing the views...  %s", human(p.rows), p.elapsed.Round(time.Second))
	}
	s := fmt.Sprintf("snapshot: %s rows", human(p.rows))
	if p.total > 0 {
		pct := min(100, float64(p.rows)*100/float64(p.total))
		s += fmt.Sprintf(" of ~%s (%.0f%%)", human(p.total), pct)
	}
	s += fmt.Sprintf("  %s rows/s  %s", human(int64(p.rate)), p.elapsed.Round(time.Second))
	if p.eta > 0 {
		s += fmt.Sprintf("  ETA %s", p.eta.Round(time.Second))
	}
	return s
}

func human(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// startStreamStatus shows a stream's state until the returned func is
// called: changes read and their rate, lag, transactions in flight and the
// last acknowledged checkpoint; as a status line on a terminal, or a log
// line every 10 s otherwise.
func startStreamStatus(w io.Writer, logger *slog.Logger, mode, job string) func() {
	if mode == "off" {
		return func() {}
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if mode == "auto" {
		mode = "log"
		if tty {
			mode = "line"
		}
	}
	every := 10 * time.Second
	if mode == "line" {
		every = 500 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var lastRows int64
		last := time.Now()
		for {
			select {
			case <-done:
				if mode == "line" {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-tick.C:
				ls := transforms.Live(job)
				if ls == nil {
					continue
				}
				rows := runstats.Sum(runstats.Read)
				rate := float64(rows-lastRows) / now.Sub(last).Seconds()
				lastRows, last = rows, now
				age, _ := ls.Lag()
				if mode == "line" {
					fmt.Fprintf(w, "\r\033[Kstream: %s changes  %s/s  lag %s  in flight %d  acknowledged %s  dead letters %d",
						human(rows), human(int64(rate)), age.Round(time.Millisecond), ls.Outstanding(), ls.Acked(), runstats.Sum(runstats.Dead))
				} else {
					logger.Info("stream", "changes", rows, "changes_per_s", int64(rate), "lag", age.Round(time.Millisecond).String(),
						"in_flight", ls.Outstanding(), "acknowledged", string(ls.Acked()), "dead_letters", runstats.Sum(runstats.Dead))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
