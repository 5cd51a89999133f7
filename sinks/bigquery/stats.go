package bigquery

// Stats counts what the sink did for one view. A writer counts Loaded (rows
// appended to the staging or change table), DeadLettered, Batches (load
// jobs or appends), Bytes and Retried; a commit counts Written (rows the
// view got: its rows after a full refresh, or the upserts a merge applied),
// Deleted (keys whose newest record is a delete), SkippedOlder (records not
// applied because the same key has a record as new or newer) and Retried.
type Stats struct {
	View         string `json:"view,omitempty"`
	Sink         string `json:"sink,omitempty"`
	Loaded       int64  `json:"loaded"`
	Written      int64  `json:"written"`
	Deleted      int64  `json:"deleted"`
	SkippedOlder int64  `json:"skipped_older"`
	Retried      int64  `json:"retried"`
	DeadLettered int64  `json:"dead_lettered"`
	Batches      int64  `json:"batches"`
	Bytes        int64  `json:"bytes"`
	// InfinityClamped and InfinityNulled count the infinite timestamps and
	// dates the infinity policy clamped or wrote as null.
	InfinityClamped int64 `json:"infinity_clamped"`
	InfinityNulled  int64 `json:"infinity_nulled"`
}

// Sub returns s - o, field by field (View and Sink are kept from s).
func (s Stats) Sub(o Stats) Stats {
	s.Loaded -= o.Loaded
	s.Written -= o.Written
	s.Deleted -= o.Deleted
	s.SkippedOlder -= o.SkippedOlder
	s.Retried -= o.Retried
	s.DeadLettered -= o.DeadLettered
	s.Batches -= o.Batches
	s.Bytes -= o.Bytes
	s.InfinityClamped -= o.InfinityClamped
	s.InfinityNulled -= o.InfinityNulled
	return s
}

// IsZero reports whether no counter is set.
func (s Stats) IsZero() bool { return s == Stats{View: s.View, Sink: s.Sink} }
