package file

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/beamsync/beamsync/change"
)

// A view run is what a RunWriter writes while records arrive in strictly
// increasing key order: instead of buffering and sorting them, it streams
// them to disk as a view file and its versions sidecar, in exactly the
// bytes a commit of those records would write:
//
//	<run>        the versions frames (versionsMagic, versions footer)
//	<run>.jsonl  the view lines of the frames that are not deletes
//
// Keys strictly increase, so every record is its key's winner within the
// run. The commit merges view runs like the existing view of an upsert
// (frames paired with lines); when a commit's only input is one view run,
// it installs the run's two files as the view and its sidecar (hard links:
// the run stays until the commit succeeds, so a failed commit can be
// retried) instead of copying them.
const viewRunLines = ".jsonl"

// viewRunWriter streams one view run.
type viewRunWriter struct {
	frames  *frameWriter
	lf      *os.File
	lines   *asyncWriter
	rows    uint64
	lastKey []byte
}

func createViewRun(dir string) (*viewRunWriter, error) {
	fw, err := createRunMagic(dir, versionsMagic)
	if err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(fw.path+viewRunLines, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		fw.abort()
		return nil, fmt.Errorf("file sink: %w", err)
	}
	return &viewRunWriter{frames: fw, lf: lf, lines: newAsyncWriter(lf)}, nil
}

// follows reports whether a record of sortable key key may be appended:
// its key is greater than every key written so far.
func (v *viewRunWriter) follows(key []byte) bool {
	return v.lastKey == nil || bytes.Compare(v.lastKey, key) < 0
}

// add appends a record of sortable key key (which must follow).
func (v *viewRunWriter) add(key []byte, r *change.Record) {
	v.frames.write(key, false, r.Delete, uint64(r.Position), nil)
	if !r.Delete {
		// Rendered straight into the line buffer when it fits.
		b := change.AppendJSON(v.lines.AvailableBuffer(), r.Doc)
		v.lines.Write(append(b, '\n'))
		v.rows++
	}
	v.lastKey = append(v.lastKey[:0], key...)
}

// finish completes both files (not synced: a run is a scratch file until a
// commit installs it).
func (v *viewRunWriter) finish() error {
	size, crc, err := v.lines.close()
	if cerr := v.lf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		v.frames.abort()
		os.Remove(v.lf.Name())
		return fmt.Errorf("file sink: writing %s: %w", v.lf.Name(), err)
	}
	if err := v.frames.finishVersions(v.rows, size, crc); err != nil {
		os.Remove(v.frames.path)
		os.Remove(v.lf.Name())
		return err
	}
	return nil
}

func (v *viewRunWriter) abort() {
	v.lines.close()
	v.frames.abort()
	v.lf.Close()
	os.Remove(v.lf.Name())
}

// removeRuns removes runs, with the lines of view runs.
func removeRuns(paths []string) error {
	var errs []error
	for _, p := range paths {
		for _, name := range []string{p, p + viewRunLines} {
			if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// openViewRun opens a view run as a merge input (frames paired with lines).
func openViewRun(fr *frameReader) (*input, error) {
	lr, err := openLines(fr.path + viewRunLines)
	if err != nil {
		fr.close()
		return nil, fmt.Errorf("file sink: %w", err)
	}
	return &input{fr: fr, view: lr, viewRun: true}, nil
}

// checkViewRun reads a view run's frames through and checks them against
// its footer and its lines file's size; it returns the footer and the
// number of deleted keys. A truncated run is refused.
func checkViewRun(path string) (versionsFooter, int64, error) {
	var vf versionsFooter
	fr, err := openFrames(path, versionsMagic, versionsFooterLen)
	if err != nil {
		return vf, 0, err
	}
	defer fr.close()
	var deleted int64
	for {
		ok, err := fr.next()
		if err != nil {
			return vf, 0, err
		}
		if !ok {
			break
		}
		if len(fr.frame) == 0 {
			return vf, 0, fr.fail(errors.New("empty frame"))
		}
		if fr.frame[0]&flagDelete != 0 {
			deleted++
		}
	}
	vf = parseVersionsFooter(fr.footer)
	fi, err := os.Stat(path + viewRunLines)
	if err != nil {
		return vf, 0, fmt.Errorf("file sink: %w", err)
	}
	if uint64(fi.Size()) != vf.size || vf.frames-vf.rows != uint64(deleted) {
		return vf, 0, fmt.Errorf("file sink: view run %s does not match its lines (%d bytes, footer says %d)", path, fi.Size(), vf.size)
	}
	return vf, deleted, nil
}

// linkUnique hard-links old to a new random name in dir.
func linkUnique(old, dir, prefix, suffix string) (string, error) {
	for {
		p := filepath.Join(dir, randomName(prefix, suffix))
		err := os.Link(old, p)
		if os.IsExist(err) {
			continue
		}
		return p, err
	}
}

// sameFile reports whether two paths name the same file (false, without
// error, when the first does not exist).
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// syncFile fsyncs a file written (and closed) earlier.
func syncFile(path string) error { return syncOpened(path, os.O_RDWR) }

// installViewRun commits a single view run as the view (no other input:
// replace mode, or upsert of a view that does not exist yet). It reports
// false, with nothing changed, when the run's files cannot be hard-linked
// (a file system without hard links): the caller then merges as usual.
func installViewRun(cfg Config, view, run string, st *Stats) (bool, error) {
	vf, deleted, err := checkViewRun(run)
	if err != nil {
		return true, err
	}
	// A retry of a commit that installed this very run before it was
	// interrupted (and recovered): renaming a link over another link of
	// the same file would do nothing.
	view1, view2 := sameFile(viewPath(cfg, view), run+viewRunLines)
	vers1, vers2 := sameFile(versionsPath(cfg, view), run)
	switch {
	case view1 && vers1:
		st.Rows, st.Deleted, st.Bytes = int64(vf.rows), deleted, int64(vf.size)
		return true, nil
	case view1 || vers1 || view2 != nil || vers2 != nil:
		return false, nil
	}
	vtmp, err := linkUnique(run+viewRunLines, cfg.Dir, "."+view+".jsonl.", ".tmp")
	if err != nil {
		return false, nil
	}
	stmp, err := linkUnique(run, stateDir(cfg), "."+view+".versions.", ".tmp")
	if err != nil {
		os.Remove(vtmp)
		return false, nil
	}
	// The run was written without fsync; what is installed is synced.
	if err = syncFile(vtmp); err == nil {
		err = syncFile(stmp)
	}
	if err == nil {
		err = installView(cfg, view, vtmp, stmp)
	}
	if err != nil {
		os.Remove(vtmp)
		os.Remove(stmp)
		return true, err
	}
	st.Rows, st.Deleted, st.Bytes = int64(vf.rows), deleted, int64(vf.size)
	return true, nil
}
