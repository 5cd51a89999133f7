package file

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// TestAsyncWriterWritesEverythingInOrder writes lines of many sizes (some
// larger than a buffer) through the async writer, many buffers' worth, and
// checks the file, its size and its CRC-32C.
func TestAsyncWriterWritesEverythingInOrder(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "lines"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := newAsyncWriter(f)
	var want bytes.Buffer
	for i := 0; want.Len() < 12*asyncBufSize; i++ {
		line := fmt.Appendf(a.AvailableBuffer(), "%d:%s\n", i, bytes.Repeat([]byte{'a' + byte(i%26)}, (i*7919)%5000))
		if i%1000 == 999 {
			line = append(bytes.Repeat([]byte{'x'}, asyncBufSize+i), '\n') // larger than a buffer
		}
		want.Write(line)
		a.Write(line)
	}
	n, crc, err := a.close()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the file (%d bytes) differs from what was written (%d bytes)", len(got), want.Len())
	}
	if n != int64(want.Len()) || crc != crc32.Checksum(want.Bytes(), castagnoli) {
		t.Errorf("close reported %d bytes, CRC %08x; want %d, %08x", n, crc, want.Len(), crc32.Checksum(want.Bytes(), castagnoli))
	}
}
