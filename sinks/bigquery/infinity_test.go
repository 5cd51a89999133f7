package bigquery

import (
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func TestInfinityPolicy(t *testing.T) {
	l, err := layoutOf(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(ts time.Time, dt change.Date) change.Record {
		doc := &change.Doc{Names: []string{"id", "ts", "dt"}, Values: []any{int64(1), ts, dt}}
		return change.Record{Key: []any{int64(1)}, Position: 1, Doc: doc}
	}
	hi, lo := rec(change.TimestampInfinity, change.DateInfinity), rec(change.TimestampNegInfinity, change.DateNegInfinity)
	for _, c := range []struct {
		policy  string
		hi, lo  string // the row's ts and dt, or the error
		clamped int64
		nulled  int64
	}{
		{"", `infinity, which TIMESTAMP cannot hold`, `-infinity, which TIMESTAMP cannot hold`, 0, 0},
		{InfinityDeadLetter, `infinity, which TIMESTAMP cannot hold`, `-infinity, which TIMESTAMP cannot hold`, 0, 0},
		{InfinityClamp, `"ts":"9999-12-31T23:59:59.999999Z","dt":"9999-12-31"`, `"ts":"0001-01-01T00:00:00.000000Z","dt":"0001-01-01"`, 4, 0},
		{InfinityNull, `"ts":null,"dt":null`, `"ts":null,"dt":null`, 0, 4},
	} {
		inf := &infinity{policy: c.policy}
		e := newRowEncoder(l, forLoad, inf)
		for i, r := range []change.Record{hi, lo} {
			want := []string{c.hi, c.lo}[i]
			b, err := e.appendRow(nil, &r)
			got := string(b)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, want) {
				t.Errorf("policy %q, row %d: %s, want %s", c.policy, i, got, want)
			}
		}
		if inf.clamped.Load() != c.clamped || inf.nulled.Load() != c.nulled {
			t.Errorf("policy %q: clamped %d, nulled %d; want %d, %d", c.policy, inf.clamped.Load(), inf.nulled.Load(), c.clamped, c.nulled)
		}
	}
	// Finite extremes are written as they are.
	e := newRowEncoder(l, forLoad, &infinity{policy: InfinityNull})
	r := rec(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01")
	if b, err := e.appendRow(nil, &r); err != nil || !strings.Contains(string(b), `"ts":"0001-01-01T00:00:00.000000Z","dt":"0001-01-01"`) {
		t.Errorf("finite 0001-01-01: %s, %v", b, err)
	}
	cfg := Config{Dataset: "d", Infinity: "round"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `infinity "round"`) {
		t.Errorf("a bad policy: %v", err)
	}
}
