package opensearch

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "direct") }

func TestWritePipeline(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		for _, mode := range []string{ModeUpsert, ModeReplace} {
			t.Run(mode, func(t *testing.T) {
				ctx := context.Background()
				cfg := tr.config()
				cfg.Mode, cfg.BatchRows = mode, 25
				orders, items := simpleView(tr.uniqueView(t, "orders")), simpleView(tr.uniqueView(t, "items"))
				// A previous run left rows 1..150 in orders (150 is gone from the new data).
				upsert := cfg
				upsert.Mode = ModeUpsert
				ordersAlias := ensure(t, upsert, orders)
				write(t, newWriter(t, upsert, orders), rows(1, 150, 1, "previous run")...)

				batches := []change.RecordBatch{
					{View: orders.Name, Records: rows(1, 60, 5, "first")},
					{View: items.Name, Records: rows(1, 30, 5, "item")},
					{View: orders.Name, Records: append(rows(61, 120, 5, "second"), row(121, 5, "bad", "x"), tomb(3, 6))},
				}
				p, s := beam.NewPipelineWithRoot()
				res := Write(s, cfg, "search", []change.ViewSchema{orders, items}, beam.CreateList(s, batches))
				passert.Count(s, res.DeadLetters, "dead letters", 1)
				runstats.Reset()
				if _, err := direct.Execute(ctx, p); err != nil {
					t.Fatal(err)
				}

				itemsAlias, _ := cfg.AliasName(items.Name)
				want := map[string]int{ordersAlias: 119, itemsAlias: 30}
				if mode == ModeUpsert {
					want[ordersAlias] = 149 // 1..150 and 1..120, minus 3
				}
				for alias, n := range want {
					if got := tr.count(t, alias); got != n {
						t.Errorf("%s: %d rows, want %d", alias, got, n)
					}
				}
				subject := orders.Name + "@search"
				if w, d, dead := runstats.Get(runstats.Written, subject), runstats.Get(runstats.Deleted, subject),
					runstats.Get(runstats.Dead, subject); w != 120 || d != 1 || dead != 1 {
					t.Errorf("runstats for %s: written %d, deleted %d, dead %d; want 120, 1, 1", subject, w, d, dead)
				}
				if mode == ModeReplace {
					if got := tr.aliasIndices(t, ordersAlias); len(got) != 1 || got[0] == ordersAlias+upsertSuffix {
						t.Errorf("after the refresh the alias points to %v", got)
					}
				}
			})
		}
	})
}

func TestWriteDoesNoIOAtConstruction(t *testing.T) {
	srvTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		cfg.Mode = ModeReplace
		before := tr.srv.Requests()
		_, s := beam.NewPipelineWithRoot()
		views := []change.ViewSchema{simpleView("orders")}
		if _, err := TryWrite(s, cfg, "search", views, beam.CreateList(s, []change.RecordBatch{{View: "orders"}})); err != nil {
			t.Fatal(err)
		}
		if n := tr.srv.Requests() - before; n != 0 {
			t.Fatalf("building the pipeline sent %d requests", n)
		}
	})
}

func TestWriteRefusesBadConfigAtConstruction(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	recs := beam.CreateList(s, []change.RecordBatch{{View: "x"}})
	cfg := Config{Mode: "merge", Index: "Views-{view}"}
	views := []change.ViewSchema{{Name: "a", Fields: []change.Field{{Name: "a.b"}, {Name: "_id"}}}}
	_, err := TryWrite(s, cfg, "search", views, recs)
	if err == nil {
		t.Fatal("TryWrite accepted a broken configuration")
	}
	for _, part := range []string{"addresses:", "mode:", "index:", `"a.b"`, `"_id"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
}
