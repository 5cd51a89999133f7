package bigquery

import (
	"context"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func TestSameBatchTwiceGivesTheSameView(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, mode)
			batch := []change.Record{order(1, "ann", 10), order(2, "bob", 11), order(3, "cy", 12), deleteOrder(3, 13)}
			_, st := runOnce(t, cfg, ordersView, batch)
			first := customers(viewRows(t, cfg, "orders"))
			if want := "1=ann@10 2=bob@11"; first != want {
				t.Fatalf("after the first run: %s, want %s", first, want)
			}
			if st.Written != 2 || st.Deleted != 1 {
				t.Errorf("first commit: %+v, want 2 written and 1 deleted", st)
			}
			runOnce(t, cfg, ordersView, batch)
			if again := customers(viewRows(t, cfg, "orders")); again != first {
				t.Errorf("after the same batch again: %s, want %s", again, first)
			}
		})
	}
}

func TestNewerThenOlderKeepsNewer(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, mode)
			// One run: both versions of key 1 in one batch, newer first.
			_, st := runOnce(t, cfg, ordersView, []change.Record{order(1, "new", 20), order(1, "old", 10), order(2, "bob", 5)})
			if got, want := customers(viewRows(t, cfg, "orders")), "1=new@20 2=bob@5"; got != want {
				t.Errorf("one run: %s, want %s", got, want)
			}
			if st.SkippedOlder != 1 {
				t.Errorf("commit skipped %d older records, want 1", st.SkippedOlder)
			}
			if mode != ModeUpsert {
				return
			}
			// Two runs: the older version arrives in a later run.
			runOnce(t, cfg, ordersView, []change.Record{order(1, "older", 15)})
			if got, want := customers(viewRows(t, cfg, "orders")), "1=new@20 2=bob@5"; got != want {
				t.Errorf("after an older update in a later run: %s, want %s", got, want)
			}
		})
	}
}

func TestDeleteStaysDeletedAgainstOlderUpdate(t *testing.T) {
	cfg := testConfig(t, ModeUpsert)
	runOnce(t, cfg, ordersView, []change.Record{order(1, "ann", 10), order(2, "bob", 11)})
	_, st := runOnce(t, cfg, ordersView, []change.Record{deleteOrder(1, 30)})
	if st.Deleted != 1 {
		t.Errorf("delete commit: %+v, want 1 deleted", st)
	}
	if got, want := customers(viewRows(t, cfg, "orders")), "2=bob@11"; got != want {
		t.Fatalf("after the delete: %s, want %s", got, want)
	}
	// An update older than the delete, delivered late, in a later run.
	_, st = runOnce(t, cfg, ordersView, []change.Record{order(1, "stale", 20)})
	if got, want := customers(viewRows(t, cfg, "orders")), "2=bob@11"; got != want {
		t.Errorf("after a late older update: %s, want %s (the delete must stay)", got, want)
	}
	if st.Written != 0 || st.SkippedOlder != 1 {
		t.Errorf("late update commit: %+v, want it skipped as older", st)
	}
	// A newer insert brings the key back, and clears its tombstone.
	runOnce(t, cfg, ordersView, []change.Record{order(1, "again", 40)})
	if got, want := customers(viewRows(t, cfg, "orders")), "1=again@40 2=bob@11"; got != want {
		t.Errorf("after a newer insert: %s, want %s", got, want)
	}
	if tomb := viewRows(t, cfg, "orders__tombstones"); len(tomb) != 0 {
		t.Errorf("tombstones left: %v", tomb)
	}
	if changes := viewRows(t, cfg, "orders__changes"); len(changes) != 0 {
		t.Errorf("change rows left after the merges: %v", changes)
	}
}

func TestWriterReportsRejectedRowsWithoutDeadLetterFunction(t *testing.T) {
	cfg := testConfig(t, ModeReplace)
	v, err := NewView(sinkClient(t, cfg), cfg, ordersView, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := v.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w := v.NewWriter()
	bad := order(1, "ann", 1)
	bad.Key = []any{nil}
	if err := w.Add(ctx, bad); err == nil || !errorsIs(err, ErrRejected) {
		t.Errorf("Add of a record with a null key: %v, want ErrRejected", err)
	}
}
