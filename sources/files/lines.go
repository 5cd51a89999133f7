package files

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// expand returns the files a path or glob names, sorted.
func expand(path string) ([]string, error) {
	if !strings.ContainsAny(path, "*?[") {
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("files source: file %s does not exist", path)
			}
			return nil, fmt.Errorf("files source: %w", err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("files source: %s is a directory (use a glob such as %s)", path, filepath.Join(path, "*.jsonl"))
		}
		return []string{path}, nil
	}
	matches, err := filepath.Glob(path)
	if err != nil {
		return nil, fmt.Errorf("files source: bad glob %q: %w", path, err)
	}
	files := matches[:0]
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && !fi.IsDir() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("files source: no file matches %s", path)
	}
	slices.Sort(files)
	return files, nil
}

// line is one line of the file sequence.
type line struct {
	file    string
	no      int    // line number within the file, 1-based
	seq     int64  // line number across the sorted files, 1-based
	text    []byte // without the line end; valid until the next line
	modTime time.Time
}

// sourcePos renders the line's coordinate, "file.jsonl:42".
func (l *line) sourcePos() string { return l.file + ":" + strconv.Itoa(l.no) }

// eachLine calls fn for every non-blank line of the files, in order.
func eachLine(ctx context.Context, files []string, fn func(*line) error) error {
	var seq int64
	for _, name := range files {
		if err := eachLineOf(ctx, name, &seq, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachLineOf(ctx context.Context, name string, seq *int64, fn func(*line) error) error {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("files source: file %s does not exist", name)
		}
		return fmt.Errorf("files source: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("files source: %w", err)
	}
	l := line{file: name, modTime: fi.ModTime().UTC()}
	br := bufio.NewReaderSize(f, 64<<10)
	var long []byte
	for {
		text, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], text...)
			for err == bufio.ErrBufferFull {
				text, err = br.ReadSlice('\n')
				long = append(long, text...)
			}
			text = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("files source: reading %s: %w", name, err)
		}
		if len(text) == 0 && err == io.EOF {
			return nil
		}
		l.no++
		*seq++
		l.seq = *seq
		if l.no%1024 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
		}
		l.text = bytes.TrimRight(text, "\r\n")
		if len(bytes.TrimSpace(l.text)) > 0 {
			if ferr := fn(&l); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}
