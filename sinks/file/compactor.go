package file

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/beamsync/beamsync/internal/runstats"
)

// compactor compacts the change log of one view in the background, for the
// streams of this process that append to it (one compactor per view file).
type compactor struct {
	cfg        Config // with defaults
	view, sink string
	kick       chan struct{}
	stop, done chan struct{}

	mu       sync.Mutex
	segs     int   // segments in the log (counted, recounted after compactions)
	bytes    int64 // their bytes
	viewSize int64 // the view file's size, after the last compaction
	err      error // the last compaction's error, reported to the appenders
}

// compactRatio: a log holding a compactRatio-th of the view file's bytes is
// compacted at once. A small view is thus compacted after almost every
// bundle, a large one seldom; either way the compaction's cost per logged
// byte is bounded (about compactRatio bytes of view rewritten).
const compactRatio = 8

// fileSize is the size of a file, 0 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var compactors = struct {
	sync.Mutex
	m map[string]*compactor // view path -> compactor
}{m: map[string]*compactor{}}

// compactorFor returns the running compactor of a view, starting it (it
// counts what a crashed run left in the log, which its first compaction
// merges).
func compactorFor(cfg Config, view, sink string) *compactor {
	key := viewPath(cfg, view)
	compactors.Lock()
	defer compactors.Unlock()
	if c := compactors.m[key]; c != nil {
		return c
	}
	c := &compactor{cfg: cfg, view: view, sink: sink,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	segs, bytes, err := logSegments(cfg, view)
	c.segs, c.bytes, c.err = len(segs), bytes, err
	c.viewSize = fileSize(viewPath(cfg, view))
	compactors.m[key] = c
	go c.loop()
	return c
}

// stopCompactors stops (and waits for) the compactors of the views in dir.
func stopCompactors(dir string) {
	dir = filepath.Clean(dir)
	compactors.Lock()
	var stopped []*compactor
	for k, c := range compactors.m {
		if filepath.Clean(c.cfg.Dir) == dir {
			close(c.stop)
			stopped = append(stopped, c)
			delete(compactors.m, k)
		}
	}
	compactors.Unlock()
	for _, c := range stopped {
		<-c.done
	}
}

// appended counts segments just appended to the log and wakes the
// compactor. It returns the error of the last compaction, if it failed.
func (c *compactor) appended(segs int, bytes int64) error {
	c.mu.Lock()
	c.segs += segs
	c.bytes += bytes
	err := c.err
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return err
}

func (c *compactor) loop() {
	defer close(c.done)
	tick := time.NewTicker(min(c.cfg.CompactInterval/4, time.Second))
	defer tick.Stop()
	last := time.Now() // the last compaction into the view file
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-tick.C:
		}
		c.mu.Lock()
		segs, bytes, viewSize := c.segs, c.bytes, c.viewSize
		c.mu.Unlock()
		switch {
		case segs == 0:
			last = time.Now()
		case bytes >= c.cfg.CompactBytes || bytes*compactRatio >= viewSize || time.Since(last) >= c.cfg.CompactInterval:
			c.compact(true)
			last = time.Now()
		case segs >= c.cfg.CompactSegments:
			c.compact(false)
		}
	}
}

// compact merges the log into the view file (major) or its segments into
// one segment, and recounts the log.
func (c *compactor) compact(major bool) {
	start := time.Now()
	unlock, err := lockCompaction(c.cfg, c.view)
	var st Stats
	if err == nil {
		if major {
			st, err = compactLocked(c.cfg, c.view)
		} else {
			var segs []string
			if segs, _, err = logSegments(c.cfg, c.view); err == nil {
				err = mergeSegments(c.cfg, c.view, segs)
			}
		}
		unlock()
	}
	segs, bytes, lerr := logSegments(c.cfg, c.view)
	c.mu.Lock()
	if lerr == nil {
		c.segs, c.bytes = len(segs), bytes
	}
	c.viewSize = fileSize(viewPath(c.cfg, c.view))
	c.err = err
	c.mu.Unlock()
	if err != nil {
		slog.Error("file sink: compacting a view's change log failed; the log is kept", "sink", c.sink, "view", c.view, "err", err)
		return
	}
	if major {
		runstats.Add(runstats.Older, c.view+"@"+c.sink, st.SkippedOlder)
		slog.Debug("file sink: change log compacted into the view", "sink", c.sink, "view", c.view, "rows", st.Rows, "took", time.Since(start))
	}
}
