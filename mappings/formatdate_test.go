package mappings

import (
	"testing"
	"time"
)

func TestFormatDateMatchesTimeFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 15, 0, 0, 0, 0, time.UTC), time.Date(987, 10, 5, 12, 0, 0, 0, time.FixedZone("x", -5*3600)),
	} {
		if got, want := formatDate(tm), tm.Format(time.DateOnly); got != want {
			t.Errorf("formatDate(%v) = %q, want %q", tm, got, want)
		}
	}
}
