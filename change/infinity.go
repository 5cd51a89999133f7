package change

import "time"

// Infinite timestamps and dates. PostgreSQL's timestamp, timestamptz and
// date hold 'infinity' and '-infinity', which time.Time has not. An
// infinite timestamp travels as one of two sentinel times that no source
// can produce (both carry nanoseconds, finer than any database stores, and
// lie outside the range PostgreSQL and MySQL hold), so it stays infinite
// through the pipeline and is never mistaken for a finite value; they sort
// after and before every finite timestamp a source reads. Every output
// renders them as the text "infinity" and "-infinity" (AppendJSON, the
// sinks' encoders), or, where a column cannot hold text, applies the sink's
// infinity policy. An infinite date is the Date text "infinity" or
// "-infinity", as PostgreSQL writes it.
var (
	TimestampInfinity    = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	TimestampNegInfinity = time.Date(-4714, 1, 1, 0, 0, 0, 1, time.UTC)
)

// Infinite dates.
const (
	DateInfinity    Date = "infinity"
	DateNegInfinity Date = "-infinity"
)

// InfinitySign is +1 for TimestampInfinity, -1 for TimestampNegInfinity
// and 0 for a finite time.
func InfinitySign(t time.Time) int {
	switch {
	case t.Equal(TimestampInfinity):
		return 1
	case t.Equal(TimestampNegInfinity):
		return -1
	}
	return 0
}

// IsInfinite reports whether t is one of the infinite timestamps.
func IsInfinite(t time.Time) bool { return InfinitySign(t) != 0 }

// DateInfinitySign is +1 for "infinity", -1 for "-infinity", else 0.
func DateInfinitySign(d Date) int {
	switch d {
	case DateInfinity:
		return 1
	case DateNegInfinity:
		return -1
	}
	return 0
}

// InfinityText is "infinity" or "-infinity" for an infinite timestamp and
// "" for a finite one.
func InfinityText(t time.Time) string {
	switch InfinitySign(t) {
	case 1:
		return "infinity"
	case -1:
		return "-infinity"
	}
	return ""
}
