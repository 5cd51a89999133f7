package file

import (
	"os"
	"sync"
)

// asyncWriter appends to a file from its own goroutine: the caller fills
// one buffer while the last is checksummed and written, so rendering and
// the write system calls overlap. Every writebackEvery bytes it asks the
// kernel to start writing back what it wrote (where the system can), so
// that the fsync of a commit that installs the file finds little left.
type asyncWriter struct {
	f    *os.File
	crc  crcWriter
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // the goroutine's; read after done
}

const (
	asyncBufSize   = 1 << 20
	writebackEvery = 8 << 20
)

func newAsyncWriter(f *os.File) *asyncWriter {
	// Three buffers: the one being filled, one queued, one being written;
	// free can take all of them back.
	a := &asyncWriter{f: f, crc: crcWriter{w: f}, full: make(chan []byte, 1), free: make(chan []byte, 3), done: make(chan struct{})}
	a.buf = getAsyncBuf()
	for range 2 {
		a.free <- getAsyncBuf()
	}
	go a.loop()
	return a
}

func (a *asyncWriter) loop() {
	defer close(a.done)
	var started int64
	for b := range a.full {
		if a.err == nil {
			_, a.err = a.crc.Write(b)
			if a.err == nil && a.crc.n-started >= writebackEvery {
				startWriteback(a.f, started, a.crc.n-started)
				started = a.crc.n
			}
		}
		a.free <- b[:0]
	}
}

// AvailableBuffer returns an empty slice over the free part of the current
// buffer: what is appended to it and then given to Write is not copied.
func (a *asyncWriter) AvailableBuffer() []byte { return a.buf[len(a.buf):] }

// Write appends p (errors come from close).
func (a *asyncWriter) Write(p []byte) {
	if len(a.buf)+len(p) > cap(a.buf) && len(a.buf) > 0 {
		// p did not fit, so it does not share the current buffer.
		a.full <- a.buf
		a.buf = <-a.free
	}
	a.buf = append(a.buf, p...)
}

// close writes what is buffered, waits for the goroutine and returns the
// size and CRC-32C of everything written. It does not close the file.
func (a *asyncWriter) close() (int64, uint32, error) {
	if len(a.buf) > 0 {
		a.full <- a.buf
		a.buf = nil
	}
	close(a.full)
	<-a.done
	for range len(a.free) {
		putAsyncBuf(<-a.free)
	}
	return a.crc.n, a.crc.crc, a.err
}

// asyncBufs recycles the writers' buffers (a megabyte each, zeroed when
// new): a run per bundle would otherwise allocate three.
var asyncBufs sync.Pool

func getAsyncBuf() []byte {
	if b, ok := asyncBufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, asyncBufSize)
}

func putAsyncBuf(b []byte) {
	if cap(b) == asyncBufSize {
		asyncBufs.Put(&b)
	}
}
