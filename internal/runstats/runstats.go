// Package runstats holds the counters of the runs in this process: rows read
// per table, records written and dead-lettered per view and sink. Pipeline
// stages add to them (next to their Beam counters) so that the runner can show
// live progress and a summary on local runners, where every stage runs in the
// runner's process. On a remote runner they stay empty in the launcher and the
// Beam counters are the source of truth.
package runstats

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter names are "<kind>/<subject>", e.g. "read/public.orders",
// "written/orders@file", "dead/orders".
const (
	Read        = "read"        // source rows read, per table
	Mapped      = "mapped"      // records produced by a mapping, per view
	Filtered    = "filtered"    // rows a view's where filter left out, per view
	Written     = "written"     // records a sink wrote, per view@sink
	Deleted     = "deleted"     // deletes a sink applied, per view@sink
	Older       = "older"       // records skipped as older than the view's version, per view@sink
	Dead        = "dead"        // dead letters, per view (or per table for decode errors)
	ZeroNulled  = "zero_nulled" // zero or invalid dates made null (zero_dates: null), per table
	Estimated   = "estimated"   // the source's row estimate, per table
	Retried     = "retried"     // sink retries, per view@sink
	WriteBytes  = "bytes"       // bytes written, per view@sink
	WriteBatchs = "batches"     // batches written, per view@sink
	SourceDone  = "source_done" // 1 once a source has read everything, per source
	// Infinite timestamps and dates a sink that cannot hold them clamped or
	// wrote as null (its infinity policy), per view@sink.
	InfinityClamped = "infinity_clamped"
	InfinityNulled  = "infinity_nulled"
	Messages        = "messages"  // logical decoding messages (Debezium op m) skipped, per source kind
	Truncates       = "truncates" // truncates ignored (truncate: ignore), per table
)

var counters sync.Map // name -> *atomic.Int64

func counter(name string) *atomic.Int64 {
	if c, ok := counters.Load(name); ok {
		return c.(*atomic.Int64)
	}
	c, _ := counters.LoadOrStore(name, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// Add adds n to the counter kind/subject.
func Add(kind, subject string, n int64) {
	if n != 0 {
		counter(kind + "/" + subject).Add(n)
	}
}

// Set sets the counter kind/subject.
func Set(kind, subject string, n int64) { counter(kind + "/" + subject).Store(n) }

// Get returns the counter kind/subject.
func Get(kind, subject string) int64 {
	if c, ok := counters.Load(kind + "/" + subject); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// Sum returns the sum of every counter of a kind.
func Sum(kind string) int64 {
	var n int64
	counters.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), kind+"/") {
			n += v.(*atomic.Int64).Load()
		}
		return true
	})
	return n
}

// Subjects returns the sorted subjects that have a counter of a kind.
func Subjects(kind string) []string {
	var out []string
	counters.Range(func(k, _ any) bool {
		if s, ok := strings.CutPrefix(k.(string), kind+"/"); ok {
			out = append(out, s)
		}
		return true
	})
	sort.Strings(out)
	return out
}

// Reset clears every counter (between runs in one process, e.g. tests).
func Reset() {
	counters.Range(func(k, _ any) bool { counters.Delete(k); return true })
}
