// Command streamview is the file sink's stream benchmark (make bench): it
// streams the same changes, in bundles, into a file view of -small rows
// (100,000) and one of -large rows (3,000,000), in one run, through the
// sink's plain-Go stream writer (sinks/file.StreamWriter, what each
// bundle of a stream pipeline runs), with its background compaction at the
// default interval. For each it prints the changes/s over -duration and
// the commit → acknowledged latency per bundle (p50, p99): from the moment
// the bundle's changes are handed to the sink to the moment its log
// segment is fsynced and it may be acknowledged. The view file trails by
// at most the compaction interval; the final compaction (a clean stop) is
// timed on its own. The target: the large view at most 1.3× slower.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sinks/file"
)

func main() {
	small := flag.Int64("small", 100000, "rows of the small view")
	large := flag.Int64("large", 3000000, "rows of the large view")
	bundle := flag.Int("bundle", 500, "changes per bundle")
	duration := flag.Duration("duration", 30*time.Second, "how long each view is streamed into")
	work := flag.String("work", "out/bench-streamview", "scratch directory (removed first)")
	flag.Parse()
	if err := os.RemoveAll(*work); err != nil {
		fail(err)
	}
	var results []result
	for _, n := range []int64{*small, *large} {
		r, err := run(filepath.Join(*work, fmt.Sprint(n)), n, *bundle, *duration)
		if err != nil {
			fail(err)
		}
		results = append(results, r)
		os.RemoveAll(filepath.Join(*work, fmt.Sprint(n)))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "view rows\tchanges/s\tvs small\tp50 commit→ack\tp99 commit→ack\tcompactions\tfinal compaction\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%.0f\t%.2f×\t%s\t%s\t%d\t%s\t\n", r.rows, r.rate, results[0].rate/r.rate,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.compactions, r.final.Round(time.Millisecond))
	}
	tw.Flush()
	ratio := results[0].rate / results[len(results)-1].rate
	fmt.Printf("target: the %d-row view at most 1.3× slower than the %d-row view: %.2f× (%s)\n",
		*large, *small, ratio, map[bool]string{true: "met", false: "missed"}[ratio <= 1.3])
}

type result struct {
	rows             int64
	rate             float64
	p50, p99         time.Duration
	compactions      int
	final, buildTook time.Duration
}

func record(id int64, pos uint64, del bool) change.Record {
	if del {
		return change.Record{Key: []any{id}, Position: change.Position(pos), Delete: true}
	}
	return change.Record{
		Key:      []any{id},
		Position: change.Position(pos),
		Doc: &change.Doc{
			Names:  []string{"id", "name", "email", "balance", "updated"},
			Values: []any{id, fmt.Sprintf("customer %d", id), fmt.Sprintf("c%d@example.com", id), int64(pos % 100000), int64(pos)},
		},
	}
}

// run builds a view of n rows, then streams bundles into it for d.
func run(dir string, n int64, bundle int, d time.Duration) (result, error) {
	r := result{rows: n}
	cfg := file.Config{Dir: dir, Mode: file.ModeUpsert}
	start := time.Now()
	w := file.NewRunWriter(cfg, "v")
	for i := range n {
		if err := w.Add(record(i, uint64(i+1), false)); err != nil {
			return r, err
		}
	}
	runs, err := w.Flush()
	if err != nil {
		return r, err
	}
	if _, err := file.Commit(cfg, "v", runs); err != nil {
		return r, err
	}
	r.buildTook = time.Since(start)
	fmt.Fprintf(os.Stderr, "view of %d rows built in %s\n", n, r.buildTook.Round(time.Millisecond))

	sw, err := file.NewStreamWriter(cfg, "bench")
	if err != nil {
		return r, err
	}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	pos := uint64(n + 1)
	var lat []time.Duration
	changes := 0
	viewInfo := func() time.Time {
		fi, err := os.Stat(file.ViewPath(cfg, "v"))
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	lastMod := viewInfo()
	start = time.Now()
	for time.Since(start) < d {
		t0 := time.Now()
		for range bundle {
			pos++
			// Updates of existing rows, some inserts past the end, 10% deletes.
			id := rng.Int64N(n + n/10)
			if err := sw.Add("v", record(id, pos, rng.IntN(10) == 0)); err != nil {
				return r, err
			}
		}
		if err := sw.Flush(); err != nil {
			return r, err
		}
		lat = append(lat, time.Since(t0))
		changes += bundle
		if m := viewInfo(); !m.Equal(lastMod) {
			r.compactions++
			lastMod = m
		}
	}
	r.rate = float64(changes) / time.Since(start).Seconds()
	slices.Sort(lat)
	r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	t0 := time.Now()
	if err := file.CompactLogs(cfg); err != nil {
		return r, err
	}
	r.final = time.Since(t0)
	return r, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "streamview:", err)
	os.Exit(1)
}
