package file

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// Stats describes a committed file.
type Stats struct {
	Rows         int64  // lines in the file written
	Deleted      int64  // keys whose newest record in the merged runs is a delete
	SkippedOlder int64  // run records that lost to a newer (or tie-winning) version of their key, replayed duplicates included
	Bytes        int64  // size of the file written
	Path         string // the file written
}

// commitHook, when set (by tests), is called at each step of a commit; an
// error stops the commit there as a crash would.
var commitHook func(step string) error

func hook(step string) error {
	if commitHook != nil {
		return commitHook(step)
	}
	return nil
}

// Commit merges the runs into the view file <Dir>/<view>.jsonl and removes
// them. In upsert mode the existing view (with its versions sidecar) is
// merged in as the oldest input; in replace mode the view becomes exactly
// the runs' rows. The new view is written to a temporary file, fsynced and
// renamed over the old one: a reader (or a crash) sees the old or the new
// view, never a mix. Commits of one view must not run concurrently.
func Commit(cfg Config, view string, runs []string) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err == nil {
		err = checkView(view)
	}
	if err != nil {
		return Stats{}, err
	}
	st, err := commit(cfg, view, uniquePaths(runs))
	if err != nil {
		return st, fmt.Errorf("file sink: committing view %s: %w", view, err)
	}
	return st, nil
}

func commit(cfg Config, view string, runs []string) (Stats, error) {
	st := Stats{Path: viewPath(cfg, view)}
	if err := os.MkdirAll(stateDir(cfg), 0o755); err != nil {
		return st, err
	}
	if err := recoverVersions(cfg, view); err != nil {
		return st, err
	}
	// Commits of a view are serialized: temporary files of this view are
	// left over from an interrupted commit.
	removeStale(cfg.Dir, "."+view+".jsonl.", ".tmp")
	removeStale(stateDir(cfg), "."+view+".versions.", ".tmp")
	merged, temp, err := reduceRuns(runDir(cfg, view), runs)
	if err != nil {
		return st, err
	}
	ok := false
	defer func() {
		if !ok {
			removeAll(temp)
		}
	}()
	ins, err := openRuns(merged)
	if err != nil {
		return st, err
	}
	var base *input
	var baseFooter versionsFooter
	if cfg.Mode == ModeUpsert {
		if base, baseFooter, err = openBase(cfg, view); err != nil {
			closeInputs(ins)
			return st, err
		}
		if base != nil {
			ins = append(ins, base)
		}
	}
	installed := false
	if len(ins) == 1 && ins[0].viewRun {
		// The only input is a view run: it already is the view file and
		// its versions sidecar.
		closeInputs(ins)
		if installed, err = installViewRun(cfg, view, merged[0], &st); err != nil {
			return st, err
		}
		if !installed {
			if ins, err = openRuns(merged); err != nil {
				return st, err
			}
		}
	}
	if !installed {
		err = writeView(cfg, view, ins, base, baseFooter, &st)
		closeInputs(ins)
		if err != nil {
			return st, err
		}
	}
	ok = true
	if err := hook("installed"); err != nil {
		return st, err
	}
	if cfg.Mode == ModeReplace {
		// The view was rebuilt: a change log a stream left belongs to
		// the view replaced, and replayed into this one it could bring
		// back rows it no longer holds.
		if err := os.RemoveAll(logDir(cfg, view)); err != nil {
			return st, fmt.Errorf("removing the change log of the replaced view: %w", err)
		}
	}
	// The view is committed; the runs are no longer needed.
	if err := removeRuns(append(temp, runs...)); err != nil {
		return st, fmt.Errorf("removing merged runs: %w", err)
	}
	return st, nil
}

// writeView merges the inputs into new view and versions files and
// installs them.
func writeView(cfg Config, view string, ins []*input, base *input, bf versionsFooter, st *Stats) (err error) {
	vf, err := createUnique(cfg.Dir, "."+view+".jsonl.", ".tmp")
	if err != nil {
		return err
	}
	vw := &crcWriter{w: vf}
	bw := bufio.NewWriterSize(vw, 4*ioBufSize)
	sf, err := createUnique(stateDir(cfg), "."+view+".versions.", ".tmp")
	if err != nil {
		vf.Close()
		os.Remove(vf.Name())
		return err
	}
	sw := newFrameWriter(sf, versionsMagic)
	defer func() {
		if err != nil {
			vf.Close()
			os.Remove(vf.Name())
			sw.abort()
		}
	}()

	var deleted, skipped uint64
	err = mergeWinners(ins,
		func(e *entry, in *input) error {
			if e.del {
				if !in.isBase() {
					deleted++
				}
			} else {
				bw.Write(e.doc)
				bw.WriteByte('\n')
				st.Rows++
			}
			sw.write(e.key, e.valuesKey, e.del, e.pos, nil)
			return nil
		},
		func(_ *entry, in *input) {
			if !in.isBase() {
				skipped++
			}
		})
	if err != nil {
		return err
	}
	for _, in := range ins {
		skipped += in.skipped
	}
	if base != nil {
		if err := checkBase(base, bf); err != nil {
			return err
		}
	}
	if err := checkViewRunInputs(ins); err != nil {
		return err
	}
	if err = bw.Flush(); err == nil {
		err = vf.Sync()
	}
	if cerr := vf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", vf.Name(), err)
	}
	if err = sw.finishVersions(uint64(st.Rows), vw.n, vw.crc); err != nil {
		return err
	}
	st.Deleted, st.SkippedOlder, st.Bytes = int64(deleted), int64(skipped), vw.n
	return installView(cfg, view, vf.Name(), sf.Name())
}

// installView installs a written (and synced) view file and its versions
// sidecar: versions -> .next, view -> <view>.jsonl (the commit point),
// .next -> versions. recoverVersions completes or undoes an installation a
// crash interrupted. On an error before the commit point the old view
// stays; the caller removes the temporary files.
func installView(cfg Config, view, viewTmp, versionsTmp string) (err error) {
	next := versionsPath(cfg, view) + ".next"
	renamed, staged := false, false
	defer func() {
		if err != nil && staged && !renamed {
			os.Remove(next)
		}
	}()
	if err = hook("written"); err != nil {
		return err
	}
	if err = os.Rename(versionsTmp, next); err != nil {
		return err
	}
	staged = true
	if err = syncDir(stateDir(cfg)); err != nil {
		return err
	}
	if err = hook("staged"); err != nil {
		return err
	}
	if err = os.Rename(viewTmp, viewPath(cfg, view)); err != nil {
		return err
	}
	renamed = true
	if err = syncDir(cfg.Dir); err != nil {
		return err
	}
	if err = hook("renamed"); err != nil {
		return err
	}
	if err = os.Rename(next, versionsPath(cfg, view)); err != nil {
		return err
	}
	return syncDir(stateDir(cfg))
}

// versionsFooter describes the view file a versions sidecar belongs to.
type versionsFooter struct {
	frames, rows, size uint64
	crc                uint32
}

func readVersionsFooter(path string) (versionsFooter, error) {
	var vf versionsFooter
	f, err := os.Open(path)
	if err != nil {
		return vf, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return vf, err
	}
	var b [1 + versionsFooterLen]byte
	if fi.Size() < int64(len(versionsMagic)+len(b)) {
		return vf, fmt.Errorf("%s: %w", path, errTruncated)
	}
	if _, err := f.ReadAt(b[:], fi.Size()-int64(len(b))); err != nil {
		return vf, err
	}
	if b[0] != 0 {
		return vf, fmt.Errorf("%s: %w", path, errTruncated)
	}
	return parseVersionsFooter(b[1:]), nil
}

// parseVersionsFooter decodes a versions footer (after the end marker).
func parseVersionsFooter(b []byte) versionsFooter {
	return versionsFooter{
		frames: binary.LittleEndian.Uint64(b[0:]),
		rows:   binary.LittleEndian.Uint64(b[8:]),
		size:   binary.LittleEndian.Uint64(b[16:]),
		crc:    binary.LittleEndian.Uint32(b[24:]),
	}
}

// openBase opens the existing view and its versions sidecar for an upsert
// (nil when the view does not exist yet).
func openBase(cfg Config, view string) (*input, versionsFooter, error) {
	vp, sp := viewPath(cfg, view), versionsPath(cfg, view)
	vi, verr := os.Stat(vp)
	_, serr := os.Stat(sp)
	switch {
	case os.IsNotExist(verr) && os.IsNotExist(serr):
		return nil, versionsFooter{}, nil
	case verr != nil && !os.IsNotExist(verr):
		return nil, versionsFooter{}, verr
	case serr != nil && !os.IsNotExist(serr):
		return nil, versionsFooter{}, serr
	case os.IsNotExist(serr):
		return nil, versionsFooter{}, fmt.Errorf("cannot upsert into %s: its versions sidecar %s is missing (commit once in replace mode to rebuild it)", vp, sp)
	case os.IsNotExist(verr):
		return nil, versionsFooter{}, fmt.Errorf("cannot upsert: %s is missing but its versions sidecar %s exists", vp, sp)
	}
	bf, err := readVersionsFooter(sp)
	if err != nil {
		return nil, bf, err
	}
	if uint64(vi.Size()) != bf.size {
		return nil, bf, fmt.Errorf("%s (%d bytes) is out of sync with its versions sidecar %s (written for %d bytes)", vp, vi.Size(), sp, bf.size)
	}
	fr, err := openFrames(sp, versionsMagic, versionsFooterLen)
	if err != nil {
		return nil, bf, err
	}
	lr, err := openLines(vp)
	if err != nil {
		fr.close()
		return nil, bf, err
	}
	return &input{fr: fr, view: lr}, bf, nil
}

// checkViewRunInputs verifies, once they were read through, that the lines
// of the view runs among the inputs are the ones their frames describe.
func checkViewRunInputs(ins []*input) error {
	for _, in := range ins {
		if in.viewRun {
			if err := checkBase(in, parseVersionsFooter(in.fr.footer)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBase verifies, once the existing view (or a view run) was read
// through, that it is the file its versions sidecar was written with.
func checkBase(base *input, bf versionsFooter) error {
	lr := base.view
	if !lr.atEOF() {
		return fmt.Errorf("%s has more lines than its versions sidecar %s has rows", lr.path, base.fr.path)
	}
	if base.rows != bf.rows || uint64(lr.crc.n) != bf.size || lr.crc.crc != bf.crc {
		return fmt.Errorf("%s does not match its versions sidecar %s (edited since the last commit?)", lr.path, base.fr.path)
	}
	return nil
}

// recoverVersions finishes or undoes the installation of a commit that was
// interrupted: a staged <view>.versions.next belongs to the view file if
// that file is the one it was written with.
func recoverVersions(cfg Config, view string) error {
	next := versionsPath(cfg, view) + ".next"
	bf, err := readVersionsFooter(next)
	if os.IsNotExist(err) {
		return nil
	}
	if err == nil {
		var size int64
		var crc uint32
		size, crc, err = fileCRC(viewPath(cfg, view))
		if err == nil && uint64(size) == bf.size && crc == bf.crc {
			if err := os.Rename(next, versionsPath(cfg, view)); err != nil {
				return err
			}
			return syncDir(filepath.Dir(next))
		}
		if err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Remove(next); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
