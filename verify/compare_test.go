package verify

import (
	"fmt"
	"testing"
)

func rows(n int, pos uint64) []Row {
	out := make([]Row, n)
	for i := range out {
		k := fmt.Sprintf("[%d]", i)
		out[i] = Row{Key: k, Doc: []byte(fmt.Sprintf(`{"id":%d,"v":"x"}`, i)), Version: pos, HasVersion: true}
	}
	SortRows(out)
	return out
}

func TestCompareEqual(t *testing.T) {
	exp, act := rows(1000, 10), rows(1000, 10)
	r := Compare(exp, act, Options{SourcePosition: 10, SinkKeepsVersions: true})
	if !r.Equal() || r.Ranges != 1 || r.SourceRows != 1000 || r.SinkRows != 1000 {
		t.Fatalf("%+v", r)
	}
}

func TestCompareFindsEachKindByBisecting(t *testing.T) {
	exp := rows(1000, 10)
	act := rows(1000, 10)
	// missing [123], extra [999x], changed [500], stale [77] (ahead),
	// stale [78] (no version)
	var kept []Row
	for _, r := range act {
		switch r.Key {
		case "[123]":
			continue
		case "[500]":
			r.Doc = []byte(`{"id":500,"v":"y"}`)
		case "[77]":
			r.Version = 11
		case "[78]":
			r.HasVersion = false
		}
		kept = append(kept, r)
	}
	kept = append(kept, Row{Key: "[999x]", Doc: []byte(`{}`), Version: 1, HasVersion: true})
	SortRows(kept)
	r := Compare(exp, kept, Options{SourcePosition: 10, SinkKeepsVersions: true})
	got := map[string]Kind{}
	for _, d := range r.Diffs {
		got[d.Key] = d.Kind
	}
	want := map[string]Kind{"[123]": Missing, "[999x]": Extra, "[500]": Changed, "[77]": Stale, "[78]": Stale}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("diffs %v, want %v", got, want)
	}
	if r.Missing != 1 || r.Extra != 1 || r.Changed != 1 || r.Stale != 2 {
		t.Errorf("counts %+v", r)
	}
	// Bisection looks into O(diffs * log n) ranges, not all of them.
	if r.Ranges > 5*2*12 {
		t.Errorf("%d ranges checked for 5 differences among 1000 rows", r.Ranges)
	}
	for _, d := range r.Diffs {
		if d.Kind == Changed && (d.Source == nil || d.Sink == nil) {
			t.Errorf("changed diff without both sides: %+v", d)
		}
	}
}

func TestCompareEmptySides(t *testing.T) {
	r := Compare(nil, rows(20, 1), Options{SourcePosition: 1})
	if r.Extra != 20 || r.Missing != 0 {
		t.Errorf("%+v", r)
	}
	r = Compare(rows(20, 1), nil, Options{SourcePosition: 1})
	if r.Missing != 20 || r.Extra != 0 {
		t.Errorf("%+v", r)
	}
	if r := Compare(nil, nil, Options{}); !r.Equal() {
		t.Errorf("%+v", r)
	}
}

func TestCompareDuplicateSinkKeys(t *testing.T) {
	exp := rows(30, 1)
	dup := rows(30, 1)[7]
	act := append(rows(30, 1), dup)
	SortRows(act)
	r := Compare(exp, act, Options{SourcePosition: 1, SinkKeepsVersions: true})
	if r.Extra != 1 || len(r.Diffs) != 1 || r.Diffs[0].Key != dup.Key {
		t.Errorf("%+v", r)
	}
}

func TestCompareVersionAtOrBelowTheSnapshotIsFine(t *testing.T) {
	exp := rows(50, 100)
	act := rows(50, 40) // written by an older run: older versions are right
	if r := Compare(exp, act, Options{SourcePosition: 100, SinkKeepsVersions: true}); !r.Equal() {
		t.Errorf("%+v", r)
	}
}
