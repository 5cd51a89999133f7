package bigquery

import (
	"context"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// TestStorageWriteCDC writes upserts and deletes, some out of order, with
// the Storage Write API in CDC mode, and reads the view back. It needs
// real BigQuery.
func TestStorageWriteCDC(t *testing.T) {
	cfg := realConfig(t, ModeUpsert, "the emulator's Storage Write API knows no CDC (_CHANGE_TYPE, "+
		"_CHANGE_SEQUENCE_NUMBER, primary keys, max_staleness) and misroutes appends once several streams exist")
	cfg.StorageWriteCDC = true
	cfg.MaxStaleness = time.Second // queries apply pending changes at once
	ctx := context.Background()
	c := sinkClient(t, cfg)
	defer c.Close()
	v, err := NewView(c, cfg, ordersView, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var dead []change.DeadLetter
	w, err := v.NewCDCWriter(ctx, WithDeadLetter(func(d change.DeadLetter) { dead = append(dead, d) }))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bad := order(9, "bad", 1)
	bad.Doc.Values[3] = change.Date("infinity")
	for _, batch := range [][]change.Record{
		{order(1, "ann", 10), order(2, "bob", 11), order(3, "cy", 12), bad},
		{order(1, "ann2", 30), deleteOrder(2, 31)},
		{order(1, "stale", 20), order(2, "stale", 25)}, // older than what is applied
	} {
		for _, r := range batch {
			if err := w.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(dead) != 1 || string(dead[0].Key) != "[9]" {
		t.Errorf("dead letters: %+v, want the row with date infinity", dead)
	}
	time.Sleep(2 * cfg.MaxStaleness)
	if got, want := customers(viewRows(t, cfg, "orders")), "1=ann2@30 3=cy@12"; got != want {
		t.Errorf("view: %s, want %s", got, want)
	}
}
