package opensearch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/change"
)

func rows(from, to int64, pos uint64, name string) []change.Record {
	var out []change.Record
	for i := from; i <= to; i++ {
		out = append(out, row(i, pos, name, i))
	}
	return out
}

// reader searches an alias in a loop and records every total it sees.
type reader struct {
	mu     sync.Mutex
	totals map[int]int
	errs   []error
}

func (r *reader) run(ctx context.Context, c *opensearchapi.Client, alias string, wg *sync.WaitGroup) {
	defer wg.Done()
	for ctx.Err() == nil {
		totals, err := readerTotals(c, alias)
		r.mu.Lock()
		if err != nil {
			r.errs = append(r.errs, err)
		}
		for _, n := range totals {
			r.totals[n]++
		}
		r.mu.Unlock()
	}
}

func (r *reader) seen(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals[n]
}

// readerTotals is what a reader of the alias sees: the _count, and the
// exact total of a search.
func readerTotals(c *opensearchapi.Client, alias string) ([]int, error) {
	ctx := context.Background()
	cnt, err := c.Indices.Count(ctx, &opensearchapi.IndicesCountReq{Indices: []string{alias}})
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	s, err := c.Search(ctx, &opensearchapi.SearchReq{Indices: []string{alias},
		Body: strings.NewReader(`{"size":0,"track_total_hits":true,"query":{"match_all":{}}}`)})
	if err != nil {
		return []int{cnt.Count}, fmt.Errorf("search: %w", err)
	}
	return []int{cnt.Count, s.Hits.Total.Value}, nil
}

func TestFullRefreshSwapsAtomically(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		ctx := context.Background()
		cfg := tr.config()
		cfg.BatchRows = 50
		view := simpleView(tr.uniqueView(t, "refresh"))
		alias := ensure(t, cfg, view)
		old := tr.aliasIndices(t, alias)
		write(t, newWriter(t, cfg, view), rows(1, 300, 1, "old")...)
		if n := tr.count(t, alias); n != 300 {
			t.Fatalf("old view has %d rows", n)
		}

		replace := cfg
		replace.Mode = ModeReplace
		index, err := BeginRefresh(ctx, replace, view)
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		rd := &reader{totals: map[int]int{}}
		for range 3 {
			wg.Add(1)
			go rd.run(rctx, tr.client, alias, &wg)
		}
		waitFor := func(n, times int) {
			for deadline := time.Now().Add(10 * time.Second); rd.seen(n) < times && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		}
		waitFor(300, 3) // the readers are reading the old view
		// The new view: keys 201..700, so that 1..200 must disappear.
		w := newWriter(t, replace, view, WithTargetIndex(index))
		for _, batch := range slices.Collect(slices.Chunk(rows(201, 700, 2, "new"), 100)) {
			write(t, w, batch...)
			time.Sleep(5 * time.Millisecond)
		}
		if err := CommitRefresh(ctx, replace, view, index); err != nil {
			t.Fatal(err)
		}
		waitFor(500, 10)
		stop()
		wg.Wait()

		if len(rd.errs) > 0 {
			t.Fatalf("readers failed: %v", rd.errs[0])
		}
		for n, times := range rd.totals {
			if n != 300 && n != 500 {
				t.Fatalf("a reader saw %d rows (%d times): only the old (300) or the new (500) view may be seen; all: %v", n, times, rd.totals)
			}
		}
		if rd.seen(300) == 0 || rd.seen(500) == 0 {
			t.Fatalf("readers saw %v: want both views", rd.totals)
		}
		if got := tr.aliasIndices(t, alias); !slices.Equal(got, []string{index}) {
			t.Fatalf("alias points to %v, want [%s]", got, index)
		}
		if exists, err := (admin{c: tr.client, policy: cfg.Retry}).indexExists(ctx, old[0]); err != nil || exists {
			t.Fatalf("old index %s still exists (%v)", old[0], err)
		}
		ids := tr.searchIDs(t, alias)
		slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		if len(ids) != 500 || ids[0] != "201" || ids[499] != "700" {
			t.Fatalf("the view holds %d rows from %s to %s, want 201..700", len(ids), ids[0], ids[len(ids)-1])
		}
		// Committing again changes nothing.
		if err := CommitRefresh(ctx, replace, view, index); err != nil {
			t.Fatalf("second commit: %v", err)
		}
		if n := tr.count(t, alias); n != 500 {
			t.Fatalf("after a second commit: %d rows", n)
		}
	})
}

func TestFullRefreshReplacesConcreteIndex(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		ctx := context.Background()
		cfg := tr.config()
		cfg.Mode = ModeReplace
		view := simpleView(tr.uniqueView(t, "legacy"))
		alias, _ := cfg.AliasName(view.Name)
		// A concrete index where the alias should be, e.g. made by hand.
		if _, err := tr.client.Indices.Create(ctx, opensearchapi.IndicesCreateReq{Index: alias}); err != nil {
			t.Fatal(err)
		}
		if err := EnsureIndex(ctx, cfg, view); err == nil || !strings.Contains(err.Error(), "concrete index") {
			t.Fatalf("EnsureIndex on a concrete index = %v, want a refusal", err)
		}
		index, err := BeginRefresh(ctx, cfg, view)
		if err != nil {
			t.Fatal(err)
		}
		write(t, newWriter(t, cfg, view, WithTargetIndex(index)), rows(1, 10, 1, "new")...)
		if err := CommitRefresh(ctx, cfg, view, index); err != nil {
			t.Fatal(err)
		}
		if got := tr.aliasIndices(t, alias); !slices.Equal(got, []string{index}) {
			t.Fatalf("alias points to %v", got)
		}
		if n := tr.count(t, alias); n != 10 {
			t.Fatalf("count = %d", n)
		}
	})
}

func TestEnsureIndex(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		ctx := context.Background()
		cfg := tr.config()
		view := simpleView(tr.uniqueView(t, "ensure"))
		alias := ensure(t, cfg, view)
		if got := tr.aliasIndices(t, alias); !slices.Equal(got, []string{alias + upsertSuffix}) {
			t.Fatalf("alias points to %v", got)
		}
		// Idempotent, and it restores a filter someone removed.
		a := admin{c: tr.client, policy: cfg.Retry}
		if err := a.updateAliases(ctx, []map[string]any{{"add": map[string]any{"index": alias + upsertSuffix, "alias": alias}}}); err != nil {
			t.Fatal(err)
		}
		if err := EnsureIndex(ctx, cfg, view); err != nil {
			t.Fatal(err)
		}
		filters, err := a.aliasFilters(ctx, alias)
		if err != nil || !sameJSON(filters[alias+upsertSuffix], aliasFilter()) {
			t.Fatalf("filter = %s (%v)", filters[alias+upsertSuffix], err)
		}
		// An alias over two indices cannot take writes.
		if err := a.createIndex(ctx, alias+"-other", map[string]any{"aliases": map[string]any{alias: map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		if err := EnsureIndex(ctx, cfg, view); err == nil || !strings.Contains(err.Error(), "2 indices") {
			t.Fatalf("EnsureIndex = %v, want a refusal of an alias over 2 indices", err)
		}
	})
}
