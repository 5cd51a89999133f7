package bigquery

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "direct") }

func init() {
	register.Function1x1(writtenOf)
}

// writtenOf is the number of rows a view's Stats says the commit wrote.
func writtenOf(s Stats) int { return int(s.Written) }

var customersView = change.ViewSchema{
	Name:   "customers",
	Key:    []string{"id"},
	Fields: []change.Field{{Name: "id", Kind: change.KindString}, {Name: "customer", Kind: change.KindString}},
}

func customer(id string, pos change.Position, name string) change.Record {
	return change.Record{Key: []any{id}, Position: pos, Doc: &change.Doc{Names: []string{"id", "customer"}, Values: []any{id, name}}}
}

func TestWritePipeline(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, mode)
			cfg.BatchRows = 2 // flush inside ProcessElement as well as in FinishBundle
			bad := order(5, "bad", 1)
			bad.Doc.Values[3] = change.Date("infinity")
			batches := []change.RecordBatch{
				{View: "orders", Records: []change.Record{order(1, "a", 1), order(2, "b", 1), order(3, "c", 1)}},
				{View: "customers", Records: []change.Record{customer("c1", 1, "Ann"), customer("c2", 1, "Bob")}},
				{View: "orders", Records: []change.Record{order(1, "a2", 5), deleteOrder(2, 6), bad, order(4, "d", 1)}},
				{View: "customers", Records: []change.Record{customer("c1", 1, "Ann")}}, // a replay
			}
			runstats.Reset()
			p, s := beam.NewPipelineWithRoot()
			res := Write(s, cfg, "bq", []change.ViewSchema{ordersView, customersView}, beam.CreateList(s, batches))
			passert.Count(s, res.DeadLetters, "dead letters", 1)
			passert.Equals(s, beam.ParDo(s, writtenOf, res.Written), 3, 2)
			ptest.RunAndValidate(t, p)

			if got, want := customers(viewRows(t, cfg, "orders")), "1=a2@5 3=c@1 4=d@1"; got != want {
				t.Errorf("orders: %s, want %s", got, want)
			}
			if got := len(viewRows(t, cfg, "customers")); got != 2 {
				t.Errorf("customers has %d rows, want 2", got)
			}
			for subject, want := range map[string][4]int64{"orders@bq": {3, 1, 2, 1}, "customers@bq": {2, 0, 1, 0}} {
				got := [4]int64{runstats.Get(runstats.Written, subject), runstats.Get(runstats.Deleted, subject),
					runstats.Get(runstats.Older, subject), runstats.Get(runstats.Dead, subject)}
				if got != want {
					t.Errorf("%s: written, deleted, older, dead = %v, want %v", subject, got, want)
				}
			}
			if runstats.Get(runstats.WriteBatchs, "orders@bq") == 0 || runstats.Get(runstats.WriteBytes, "orders@bq") == 0 {
				t.Error("no load batches or bytes counted for orders@bq")
			}
		})
	}
}

func TestWriteRefusesBadConfigAtConstruction(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, []change.RecordBatch{})
	noKey := change.ViewSchema{Name: "v", Fields: []change.Field{{Name: "a", Kind: change.KindInt}}}
	_, err := TryWrite(s, Config{Dataset: "d", Mode: "merge"}, "bq", []change.ViewSchema{noKey, ordersView, ordersView}, col)
	if err == nil {
		t.Fatal("TryWrite accepted an invalid configuration")
	}
	for _, want := range []string{`mode "merge"`, "view v: has no key", "views orders and orders would share table orders"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
