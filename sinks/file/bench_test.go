package file

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

var benchNames = []string{"id", "customer_id", "name", "email", "total", "quantity", "unit_price", "created_at", "active", "tags"}

// benchRecord returns record i of a stream of n: keys in a scrambled order,
// about 10% updates of earlier keys and 1% deletes, 10 fields.
func benchRecord(i, n int) change.Record {
	// i*p mod n with p prime and not dividing n is a permutation of [0, n).
	const p = 2_654_435_761
	id := int64((uint64(i) * p) % uint64(n) % uint64(n-n/10))
	return benchRecordOf(id, i+1, i%100 == 99)
}

func benchRecordOf(id int64, pos int, del bool) change.Record {
	r := change.Record{Key: []any{id}, Position: change.Position(pos)}
	if del {
		r.Delete = true
		return r
	}
	r.Doc = &change.Doc{Names: benchNames, Values: []any{
		id,
		id % 5000,
		"Customer " + strconv.FormatInt(id, 10) + " Müller-Łukasz",
		"user" + strconv.FormatInt(id, 10) + "@example.com",
		change.Decimal(strconv.FormatInt(id%100000, 10) + ".25"),
		id % 17,
		float64(id%1000) / 8,
		time.Unix(1_700_000_000+id, 123_000_000).UTC(),
		id%3 == 0,
		change.JSON(`["a","b"]`),
	}}
	return r
}

// benchDir returns a fresh directory for a benchmark, under
// $BEAMSYNC_BENCH_DIR when set (e.g. /dev/shm, to leave the disk out).
func benchDir(b *testing.B) string {
	root := os.Getenv("BEAMSYNC_BENCH_DIR")
	if root == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(root, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	benchOnce sync.Once
	benchRecs []change.Record
)

const benchRows = 1_000_000

// BenchmarkRunWriterAndCommit writes 1M records of 10 fields (default
// spill_rows: 5 runs) and commits them into a view file.
func BenchmarkRunWriterAndCommit(b *testing.B) {
	benchOnce.Do(func() {
		benchRecs = make([]change.Record, benchRows)
		for i := range benchRecs {
			benchRecs[i] = benchRecord(i, benchRows)
		}
	})
	b.Run("scrambled", func(b *testing.B) { benchWriteCommit(b, benchRecs) })
	// One record per key, in key order (a snapshot read in primary-key
	// order): one view run, linked into place. Built in that order, as a
	// source would, so that memory is walked as it was allocated.
	sorted := make([]change.Record, benchRows)
	for i := range sorted {
		sorted[i] = benchRecordOf(int64(i), i+1, i%100 == 99)
	}
	b.Run("sorted", func(b *testing.B) { benchWriteCommit(b, sorted) })
}

func benchWriteCommit(b *testing.B, recs []change.Record) {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		cfg := Config{Dir: benchDir(b)}
		w := NewRunWriter(cfg, "orders")
		for j := range recs {
			if err := w.Add(recs[j]); err != nil {
				b.Fatal(err)
			}
		}
		runs, err := w.Flush()
		if err != nil {
			b.Fatal(err)
		}
		st, err := Commit(cfg, "orders", runs)
		if err != nil {
			b.Fatal(err)
		}
		bytes = st.Bytes
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	rows := float64(b.N) * float64(len(recs))
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	// Rows per second of CPU (user + system, all threads): the figure that
	// a busy shared machine distorts least.
	b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/rows, "allocs/row")
	b.ReportMetric(float64(bytes)/float64(len(recs)), "B/row-out")
}

// BenchmarkUpsertCommit merges 100k new records into an existing view of
// 1M rows (the upsert path: versions sidecar and view streamed in).
func BenchmarkUpsertCommit(b *testing.B) {
	cfg := Config{Dir: benchDir(b), Mode: ModeUpsert}
	w := NewRunWriter(cfg, "orders")
	for i := range benchRows {
		w.Add(benchRecord(i, benchRows))
	}
	runs, _ := w.Flush()
	if _, err := Commit(cfg, "orders", runs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := NewRunWriter(cfg, "orders")
		for j := range 100_000 {
			r := benchRecord(j*7%benchRows, benchRows)
			r.Position += change.Position(benchRows * (i + 1))
			w.Add(r)
		}
		runs, _ := w.Flush()
		b.StartTimer()
		if _, err := Commit(cfg, "orders", runs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "view-rows/s")
}

// TestPeakRSS measures the peak RSS of writing and committing 1M and 3M
// records, each in a fresh process, and checks that memory stays bounded
// (3M ≤ 1.3 × 1M). It takes a while: run it with BEAMSYNC_RSS=1.
func TestPeakRSS(t *testing.T) {
	if os.Getenv("BEAMSYNC_RSS") == "" {
		t.Skip("set BEAMSYNC_RSS=1 to measure peak RSS at 1M and 3M rows")
	}
	peak := func(n int) int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.v")
		cmd.Env = append(os.Environ(), "BEAMSYNC_RSS_CHILD="+strconv.Itoa(n), "BEAMSYNC_RSS_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var summary string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, " runs, ") {
				summary = l
			}
			if v, ok := strings.CutPrefix(l, "peak-rss-kb "); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(v))
				t.Logf("%d records: peak RSS %d MiB (%s)", n, kb/1024, summary)
				return kb
			}
		}
		t.Fatalf("no peak in\n%s", out)
		return 0
	}
	one, three := peak(1_000_000), peak(3_000_000)
	t.Logf("ratio 3M/1M = %.2f", float64(three)/float64(one))
	if float64(three) > 1.3*float64(one) {
		t.Fatalf("peak RSS grows with the row count: %d KiB at 1M, %d KiB at 3M", one, three)
	}
}

func TestRSSChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BEAMSYNC_RSS_CHILD"))
	if n == 0 {
		t.Skip("helper process of TestPeakRSS")
	}
	cfg := Config{Dir: os.Getenv("BEAMSYNC_RSS_DIR")}
	start := time.Now()
	w := NewRunWriter(cfg, "orders")
	for i := range n {
		if err := w.Add(benchRecord(i, n)); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := w.Flush()
	if err != nil {
		t.Fatal(err)
	}
	st, err := Commit(cfg, "orders", runs)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%d runs, %d view rows, %d MiB, in %v\n", len(runs), st.Rows, st.Bytes>>20, time.Since(start).Round(time.Millisecond))
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			fmt.Printf("peak-rss-kb %s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
}
