package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A stream's change log: <Dir>/.log/<view>/ holds segments, each a run
// (frames of key, position, delete flag and row, sorted and deduplicated,
// with an end marker and a footer) named <24 hex digits>.seg. A segment is
// written and fsynced in .runs/<view>/, renamed into the log and the log
// directory fsynced: a segment in the log is complete and durable. The log
// and the view file together are the view; compaction (CompactLog) merges
// the log into the view file and removes the segments it merged.

const segSuffix = ".seg"

func logDir(cfg Config, view string) string { return filepath.Join(cfg.Dir, ".log", view) }

// appendLog makes runs (just written by a RunWriter of the view) durable
// segments of the view's log. It returns the bytes appended.
//
// Invariant: a segment is renamed into the log only once its file is
// fsynced, and appendLog returns only once the log directory is fsynced:
// a bundle acknowledged after appendLog survives a crash.
func appendLog(cfg Config, view string, runs []string) (int64, error) {
	dir := logDir(cfg, view)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var bytes int64
	for _, r := range runs {
		if err := syncOpened(r, os.O_RDONLY); err != nil {
			return bytes, fmt.Errorf("syncing segment %s: %w", r, err)
		}
		fi, err := os.Stat(r)
		if err != nil {
			return bytes, err
		}
		if err := os.Rename(r, filepath.Join(dir, randomName("", segSuffix))); err != nil {
			return bytes, fmt.Errorf("appending segment to %s: %w", dir, err)
		}
		bytes += fi.Size()
	}
	if err := syncDir(dir); err != nil {
		return bytes, fmt.Errorf("syncing %s: %w", dir, err)
	}
	return bytes, nil
}

// logSegments lists the segments of a view's log and their total size.
func logSegments(cfg Config, view string) (segs []string, bytes int64, err error) {
	dir := logDir(cfg, view)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), segSuffix) {
			continue
		}
		fi, err := e.Info()
		if os.IsNotExist(err) {
			continue // merged away meanwhile
		}
		if err != nil {
			return nil, 0, err
		}
		segs = append(segs, filepath.Join(dir, e.Name()))
		bytes += fi.Size()
	}
	return segs, bytes, nil
}

// mergeSegments merges segments into one new, fsynced segment and removes
// them (a minor compaction: its cost is the log's, not the view's). A
// crash before the inputs are removed leaves their records twice in the
// log, which the merge's version order makes harmless.
func mergeSegments(cfg Config, view string, segs []string) error {
	if len(segs) < 2 {
		return nil
	}
	merged, temp, err := reduceRuns(runDir(cfg, view), segs)
	if err != nil {
		return err
	}
	out, err := mergeToRun(runDir(cfg, view), merged)
	removeAll(temp)
	if err != nil {
		return err
	}
	if _, err := appendLog(cfg, view, []string{out}); err != nil {
		os.Remove(out)
		return err
	}
	return removeRuns(segs)
}

// CompactLog merges the change log of a stream's view (<Dir>/.log/<view>/)
// into the view file with an upsert commit, replacing the view file
// atomically, and removes the merged segments. It does nothing when the
// log is empty. It takes the view's compaction lock (within the process and
// across processes), so it may run while a stream appends to the log:
// segments appended meanwhile stay for the next compaction.
func CompactLog(cfg Config, view string) (Stats, error) {
	cfg.Mode = ModeUpsert
	cfg, err := cfg.withDefaults()
	if err == nil {
		err = checkView(view)
	}
	if err != nil {
		return Stats{}, err
	}
	if _, err := os.Stat(logDir(cfg, view)); os.IsNotExist(err) {
		return Stats{Path: viewPath(cfg, view)}, nil // not a stream's view
	}
	unlock, err := lockCompaction(cfg, view)
	if err != nil {
		return Stats{}, fmt.Errorf("file sink: compacting the log of view %s: %w", view, err)
	}
	defer unlock()
	return compactLocked(cfg, view)
}

func compactLocked(cfg Config, view string) (Stats, error) {
	segs, _, err := logSegments(cfg, view)
	if err != nil || len(segs) == 0 {
		return Stats{Path: viewPath(cfg, view)}, err
	}
	st, err := Commit(cfg, view, segs)
	if err != nil {
		return st, fmt.Errorf("file sink: compacting the log of view %s: %w", view, err)
	}
	return st, nil
}

// lockCompaction serializes compactions and commits of a view: within the
// process (lockView) and across processes (a lock file in the log
// directory).
func lockCompaction(cfg Config, view string) (func(), error) {
	unlock := lockView(filepath.Join(cfg.Dir, view))
	if err := os.MkdirAll(logDir(cfg, view), 0o755); err != nil {
		unlock()
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(logDir(cfg, view), "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		unlock()
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		unlock()
		return nil, err
	}
	return func() {
		f.Close() // releases the lock
		unlock()
	}, nil
}

// CompactLogs compacts the log of every view under dir (after a stream
// stopped, so that its view files are exact, or before reading them). The
// compactors this process runs for views under dir are stopped first.
func CompactLogs(cfg Config) error {
	stopCompactors(cfg.Dir)
	entries, err := os.ReadDir(filepath.Join(cfg.Dir, ".log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := CompactLog(cfg, e.Name()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
