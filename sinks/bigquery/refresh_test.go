package bigquery

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/beamsync/beamsync/change"
)

// TestFullRefreshNeverShowsAnEmptyOrPartialView queries the view while a
// full refresh replaces it: every answer must be the old rows or the new
// ones.
func TestFullRefreshNeverShowsAnEmptyOrPartialView(t *testing.T) {
	cfg := testConfig(t, ModeReplace)
	var old, fresh []change.Record
	for i := int64(1); i <= 300; i++ {
		old = append(old, order(i, "old", 1))
	}
	for i := int64(101); i <= 500; i++ {
		fresh = append(fresh, order(i, "new", 2))
	}
	runOnce(t, cfg, ordersView, old)

	ctx := context.Background()
	v, err := NewView(sinkClient(t, cfg), cfg, ordersView, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w := v.NewWriter()
	for _, r := range fresh {
		if err := w.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	bq, err := readClient(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	q := fmt.Sprintf("SELECT COUNT(*), COUNTIF(customer = 'old') FROM `%s.%s.orders`", cfg.Project, cfg.Dataset)
	var (
		committing atomic.Bool
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		mu         sync.Mutex
		seen       = map[string]int{}
		during     int
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := committing.Load()
				got := readCounts(ctx, bq, q)
				mu.Lock()
				seen[got]++
				if started && committing.Load() {
					during++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // readers see the old view first
	committing.Store(true)
	st, err := v.Commit(ctx)
	committing.Store(false)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answers %v, %d during the commit", seen, during)
	for got, n := range seen {
		if got != "300/300" && got != "400/0" {
			t.Errorf("a reader saw %s (%d times): want the old view (300/300) or the new one (400/0)", got, n)
		}
	}
	if seen["300/300"] == 0 || seen["400/0"] == 0 {
		t.Errorf("readers saw %v: want both the old and the new view", seen)
	}
	if st.Written != 400 {
		t.Errorf("commit: %+v, want 400 written", st)
	}
	rows := viewRows(t, cfg, "orders")
	if len(rows) != 400 {
		t.Errorf("view has %d rows after the refresh, want 400", len(rows))
	}
	for id := 1; id <= 100; id++ {
		if _, ok := rows[fmt.Sprint(id)]; ok {
			t.Fatalf("key %d of the old view survived the full refresh", id)
		}
	}
	if _, err := v.metadata(ctx, v.tables.staging); !isStatus(err, http.StatusNotFound) {
		t.Errorf("staging table %s after the commit: %v, want it dropped", v.tables.staging, err)
	}
}

// readCounts runs a query of two counts and renders them "a/b" (or the
// error).
func readCounts(ctx context.Context, bq *bigquery.Client, q string) string {
	it, err := bq.Query(q).Read(ctx)
	if err != nil {
		return "error: " + err.Error()
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%v/%v", row[0], row[1])
}

// TestFullRefreshRebuildsAViewOfAnotherSchema checks that a view whose
// table has columns of an older mapping is rebuilt with the view's.
func TestFullRefreshRebuildsAViewOfAnotherSchema(t *testing.T) {
	cfg := realConfig(t, ModeReplace, "the emulator cannot replace an existing table: CREATE OR REPLACE TABLE answers 409")
	runOnce(t, cfg, ordersView, []change.Record{order(1, "ann", 1)})
	narrower := change.ViewSchema{Name: "orders", Key: []string{"id"}, Fields: ordersView.Fields[:2]}
	rec := change.Record{Key: []any{int64(2)}, Position: 2, Doc: &change.Doc{Names: []string{"id", "customer"}, Values: []any{int64(2), "bob"}}}
	ctx := context.Background()
	v, err := NewView(sinkClient(t, cfg), cfg, narrower, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w := v.NewWriter()
	if err := w.Add(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := customers(viewRows(t, cfg, "orders")); got != "2=bob@2" {
		t.Errorf("view after the rebuild: %s", got)
	}
}
