package file

import (
	"crypto/rand"
	"encoding/hex"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// randomName returns prefix + 24 random hex digits + suffix.
func randomName(prefix, suffix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b[:]) + suffix
}

// removeStale removes the files of dir named prefix + 24 hex digits +
// suffix: temporary files that an interrupted commit left behind.
func removeStale(dir, prefix, suffix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		mid, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if mid, ok = strings.CutSuffix(mid, suffix); !ok || len(mid) != 24 {
			continue
		}
		if _, err := hex.DecodeString(mid); err == nil {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// createUnique creates a new file with a random name in dir.
func createUnique(dir, prefix, suffix string) (*os.File, error) {
	for {
		f, err := os.OpenFile(filepath.Join(dir, randomName(prefix, suffix)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		return f, err
	}
}

// syncDir fsyncs a directory so that renames and creations in it are durable.
func syncDir(dir string) error { return syncOpened(dir, os.O_RDONLY) }

// syncOpened opens path with flag, fsyncs it and closes it.
func syncOpened(path string, flag int) error {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcWriter counts and checksums what passes through it to w.
type crcWriter struct {
	w   io.Writer
	crc uint32
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	return n, err
}

// crcReader counts and checksums what is read through it from r.
type crcReader struct {
	r   io.Reader
	crc uint32
	n   int64
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.n += int64(n)
	return n, err
}

// fileCRC returns the size and checksum of a whole file.
func fileCRC(path string) (int64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	c := &crcReader{r: f}
	_, err = io.Copy(io.Discard, c)
	return c.n, c.crc, err
}
