package postgres

import (
	"bytes"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// TestArenaBoxesAreOrdinaryValues: values boxed in an arena's slabs behave
// as Go's own boxing makes them — type switches, equality, reflect — and
// survive garbage collection after the arena is gone.
func TestArenaBoxesAreOrdinaryValues(t *testing.T) {
	ts := time.Date(2024, 2, 29, 13, 4, 5, 123456000, time.UTC)
	want := []any{int64(7), int64(-1 << 40), 2.5, ts, "text", change.Decimal("12.50"), change.Interval("1 day"),
		change.TimeOfDay("10:00:00"), change.Date("2024-02-29"), []byte{1, 2}, change.JSON(`{"a":1}`)}
	box := func(a *arena) []any {
		var out []any
		for range boxSlab + 3 { // past one slab
			out = append(out, a.boxInt64(7), a.boxInt64(-1<<40), a.boxFloat64(2.5), a.boxTime(ts),
				a.boxString(typeString, "text"), a.boxString(typeDecimal, "12.50"), a.boxString(typeInterval, "1 day"),
				a.boxString(typeTimeOfDay, "10:00:00"), a.boxString(typeDate, "2024-02-29"),
				a.boxBytes(typeBytes, []byte{1, 2}), a.boxBytes(typeJSON, change.JSON(`{"a":1}`)))
		}
		return out
	}
	for _, a := range []*arena{{}, nil} {
		got := box(a)
		runtime.GC()
		runtime.GC()
		for i, v := range got {
			w := want[i%len(want)]
			if reflect.TypeOf(v) != reflect.TypeOf(w) || !reflect.DeepEqual(v, w) {
				t.Fatalf("value %d = %#v (%T), want %#v (%T)", i, v, v, w, w)
			}
			switch x := v.(type) {
			case []byte:
				if !bytes.Equal(x, w.([]byte)) {
					t.Fatalf("value %d = %v", i, x)
				}
			case change.JSON:
				if string(x) != string(w.(change.JSON)) {
					t.Fatalf("value %d = %s", i, x)
				}
			default:
				if v != w {
					t.Fatalf("value %d: %#v != %#v", i, v, w)
				}
			}
		}
	}
}

func TestArenaBoxingAllocatesPerSlab(t *testing.T) {
	var a arena
	allocs := testing.AllocsPerRun(10, func() {
		for range boxSlab {
			_ = a.boxInt64(1 << 40)
			_ = a.boxString(typeDecimal, "1.5")
			_ = a.boxTime(time.Unix(1, 0))
		}
	})
	if allocs > 3 {
		t.Fatalf("%v allocations for %d values of three slabs, want at most 3", allocs, 3*boxSlab)
	}
}
