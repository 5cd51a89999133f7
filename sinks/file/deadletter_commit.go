package file

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// CommitDeadLetters merges dead-letter runs into <Dir>/_dead_letters.jsonl
// (replace mode: the file becomes exactly these dead letters; upsert mode:
// they are added to the existing file, which stays sorted) and removes the
// runs. The file is replaced atomically (temporary file, fsync, rename).
// Stats.SkippedOlder counts duplicate lines dropped.
func CommitDeadLetters(cfg Config, runs []string) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	runs = uniquePaths(runs)
	merged, temp, err := reduceDeadLetterRuns(runDir(cfg, deadLetterName), runs)
	if err != nil {
		return Stats{}, fmt.Errorf("file sink: committing dead letters: %w", err)
	}
	st, err := commitDeadLetters(cfg, merged)
	if err != nil {
		removeAll(temp)
		return st, fmt.Errorf("file sink: committing dead letters: %w", err)
	}
	if err := removeAll(append(temp, runs...)); err != nil {
		return st, fmt.Errorf("file sink: removing merged dead-letter runs: %w", err)
	}
	return st, nil
}

func commitDeadLetters(cfg Config, runs []string) (st Stats, err error) {
	st.Path = filepath.Join(cfg.Dir, DeadLetterFile)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return st, err
	}
	removeStale(cfg.Dir, "."+DeadLetterFile+".", ".tmp")
	ins, err := openDeadLetterRuns(runs)
	if err != nil {
		return st, err
	}
	defer closeDeadLetterInputs(ins)
	if cfg.Mode == ModeUpsert {
		lr, err := openLines(st.Path)
		switch {
		case err == nil:
			ins = append(ins, &deadLetterInput{lines: lr})
		case !os.IsNotExist(err):
			return st, err
		}
	}

	tf, err := createUnique(cfg.Dir, "."+DeadLetterFile+".", ".tmp")
	if err != nil {
		return st, err
	}
	defer func() {
		if err != nil {
			tf.Close()
			os.Remove(tf.Name())
		}
	}()
	cw := &crcWriter{w: tf}
	bw := bufio.NewWriterSize(cw, 4*ioBufSize)
	skipped, err := mergeDeadLetters(ins, func(e *dlEntry) {
		bw.Write(e.line)
		bw.WriteByte('\n')
		st.Rows++
	})
	if err != nil {
		return st, err
	}
	st.SkippedOlder = int64(skipped)
	if err = bw.Flush(); err == nil {
		err = tf.Sync()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	st.Bytes = cw.n
	if err = os.Rename(tf.Name(), st.Path); err != nil {
		return st, err
	}
	return st, syncDir(cfg.Dir)
}

// mergeDeadLetters merges sorted inputs, calling emit for every distinct
// line; it returns the number of duplicates dropped (the runs' included).
func mergeDeadLetters(ins []*deadLetterInput, emit func(*dlEntry)) (uint64, error) {
	h := minHeap[*deadLetterInput]{cmp: func(a, b *deadLetterInput) int { return compareDeadLetters(&a.e, &b.e) }}
	for _, in := range ins {
		ok, err := in.next()
		if err != nil {
			return 0, err
		}
		if ok {
			h.s = append(h.s, in)
		}
	}
	h.init()
	var skipped uint64
	var last []byte
	have := false
	for len(h.s) > 0 {
		in := h.top()
		if have && bytes.Equal(last, in.e.line) {
			skipped++
		} else {
			emit(&in.e)
			last = append(last[:0], in.e.line...)
			have = true
		}
		ok, err := in.next()
		if err != nil {
			return 0, err
		}
		if ok {
			h.fixTop()
		} else {
			h.dropTop()
		}
	}
	for _, in := range ins {
		skipped += in.skipped
	}
	return skipped, nil
}

// reduceDeadLetterRuns is reduceRuns for dead-letter runs.
func reduceDeadLetterRuns(dir string, runs []string) (final, temp []string, err error) {
	for len(runs) > maxFanIn {
		var next []string
		for start := 0; start < len(runs); start += maxFanIn {
			group := runs[start:min(start+maxFanIn, len(runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			p, err := mergeDeadLettersToRun(dir, group)
			if err != nil {
				removeAll(temp)
				return nil, nil, err
			}
			temp = append(temp, p)
			next = append(next, p)
		}
		runs = next
	}
	return runs, temp, nil
}

func mergeDeadLettersToRun(dir string, runs []string) (string, error) {
	ins, err := openDeadLetterRuns(runs)
	if err != nil {
		return "", err
	}
	defer closeDeadLetterInputs(ins)
	fw, err := createRunMagic(dir, deadLetterMagic)
	if err != nil {
		return "", err
	}
	var h []byte
	skipped, err := mergeDeadLetters(ins, func(e *dlEntry) { h = writeDeadLetterFrame(fw, h, e) })
	if err == nil {
		err = fw.finish(skipped)
	}
	if err != nil {
		fw.abort()
		return "", err
	}
	return fw.path, nil
}

func openDeadLetterRuns(paths []string) ([]*deadLetterInput, error) {
	var ins []*deadLetterInput
	for _, p := range paths {
		fr, err := openFrames(p, deadLetterMagic, runFooterLen)
		if err != nil {
			closeDeadLetterInputs(ins)
			return nil, err
		}
		ins = append(ins, &deadLetterInput{fr: fr})
	}
	return ins, nil
}

func closeDeadLetterInputs(ins []*deadLetterInput) {
	for _, in := range ins {
		in.close()
	}
}

// createRunMagic creates a new run file with the given magic in dir.
func createRunMagic(dir, magic string) (*frameWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	f, err := createUnique(dir, "", ".run")
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	w := newFrameWriter(f, magic)
	w.scratch = true
	return w, nil
}
