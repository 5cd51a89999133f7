package runstats

import "sync"

// Cursor watermarks: the watermark of each table for the next incremental
// run, as the source computed it at its snapshot. Like the counters they
// are only meaningful on local runners, where the source runs in this
// process; the pipeline saves them once the run has succeeded.
var (
	wmMu       sync.Mutex
	watermarks = map[string]string{}
)

// SetWatermark records the next watermark of a table.
func SetWatermark(table, value string) {
	wmMu.Lock()
	defer wmMu.Unlock()
	watermarks[table] = value
}

// Watermarks returns a copy of the watermarks recorded since ResetWatermarks.
func Watermarks() map[string]string {
	wmMu.Lock()
	defer wmMu.Unlock()
	out := make(map[string]string, len(watermarks))
	for k, v := range watermarks {
		out[k] = v
	}
	return out
}

// ResetWatermarks forgets every watermark (at the start of a run).
func ResetWatermarks() {
	wmMu.Lock()
	defer wmMu.Unlock()
	watermarks = map[string]string{}
}
