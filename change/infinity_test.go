package change

import (
	"testing"
	"time"
)

func TestInfiniteTimestamps(t *testing.T) {
	// Finite times at the ends of what PostgreSQL holds (4713 BC to 294276
	// AD) and the zero time are not infinite, and sort between the two.
	finite := []time.Time{time.Date(-4712, 11, 24, 0, 0, 0, 0, time.UTC), {}, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)}
	for _, f := range finite {
		if IsInfinite(f) || InfinityText(f) != "" {
			t.Errorf("%s is infinite", f)
		}
		if Compare(TimestampNegInfinity, f) >= 0 {
			t.Errorf("-infinity does not sort before %s", f)
		}
	}
	if Compare(TimestampInfinity, finite[2]) <= 0 {
		t.Error("infinity does not sort after 9999-12-31 23:59:59.999999")
	}
	if InfinitySign(TimestampInfinity) != 1 || InfinitySign(TimestampNegInfinity) != -1 ||
		DateInfinitySign(DateInfinity) != 1 || DateInfinitySign(DateNegInfinity) != -1 || DateInfinitySign("2024-01-01") != 0 {
		t.Error("infinity signs")
	}
	// They survive the binary codec.
	for _, v := range []time.Time{TimestampInfinity, TimestampNegInfinity} {
		d := NewDecoder(AppendValue(nil, v))
		got, ok := d.Value().(time.Time)
		if d.Err() != nil || !ok || InfinitySign(got) != InfinitySign(v) {
			t.Errorf("codec round trip of %s: %v, %v", InfinityText(v), got, d.Err())
		}
	}
}
