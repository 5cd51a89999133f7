package dynamodb

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/internal/testenv"
)

func init() {
	register.Function1x1(appliedOf)
}

// appliedOf is the number of records a Stats element says were applied.
func appliedOf(s Stats) int { return int(s.Written + s.Deleted) }

var customersView = change.ViewSchema{
	Name:   "customers",
	Key:    []string{"id"},
	Fields: []change.Field{{Name: "id", Kind: change.KindString}, {Name: "name", Kind: change.KindString}},
}

func customer(id string, pos change.Position, name string) change.Record {
	return change.Record{Key: []any{id}, Position: pos, Doc: &change.Doc{Names: []string{"id", "name"}, Values: []any{id, name}}}
}

func TestWritePipeline(t *testing.T) {
	ep := dynalite(t)
	prefix := testenv.UniqueName("pipe") + "_"
	for _, v := range []string{"orders", "customers"} {
		_ = uniqueTableNamed(t, ep, prefix+v)
	}
	cfg := testConfig(ep, "")
	cfg.TablePrefix = prefix
	cfg.FlushRows = 2 // flush inside ProcessElement as well as in FinishBundle

	batches := []change.RecordBatch{
		{View: "orders", Records: []change.Record{order(1, 1, "a"), order(2, 1, "b"), order(3, 1, "c")}},
		{View: "customers", Records: []change.Record{customer("c1", 1, "Ann"), customer("c2", 1, "Bob")}},
		{View: "orders", Records: []change.Record{order(1, 5, "a2"), deleteOf(2, 6), order(4, 1, strings.Repeat("x", 410*1024))}},
		{View: "customers", Records: []change.Record{customer("c1", 1, "Ann")}}, // a replay
	}
	runstats.Reset()
	p, s := beam.NewPipelineWithRoot()
	res := Write(s, cfg, "ddb", []change.ViewSchema{ordersView, customersView}, beam.CreateList(s, batches))
	passert.Count(s, res.DeadLetters, "dead letters", 1)
	passert.Sum(s, beam.ParDo(s, appliedOf, res.Written), "applied", 2, 7)
	ptest.RunAndValidate(t, p)

	c := testClient(t, ep)
	orders := scanAll(t, c, prefix+"orders")
	if len(orders) != 3 || attrText(orders["1"]["name"]) != "a2" || attrText(orders["2"]["_deleted"]) != "true" ||
		attrText(orders["3"]["name"]) != "c" {
		t.Errorf("orders table: %v", orders)
	}
	customers := scanAll(t, c, prefix+"customers")
	if len(customers) != 2 || attrText(customers["c1"]["name"]) != "Ann" {
		t.Errorf("customers table: %v", customers)
	}
	for subject, want := range map[string][3]int64{"orders@ddb": {4, 1, 1}, "customers@ddb": {2, 0, 0}} {
		got := [3]int64{runstats.Get(runstats.Written, subject), runstats.Get(runstats.Deleted, subject), runstats.Get(runstats.Dead, subject)}
		if got != want {
			t.Errorf("%s: written, deleted, dead = %v, want %v", subject, got, want)
		}
	}
	if got := runstats.Get(runstats.Older, "customers@ddb"); got != 1 {
		t.Errorf("customers@ddb: %d skipped as older, want 1 (the replay)", got)
	}
}

func TestWriteRefusesBadConfigAtConstruction(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, []change.RecordBatch{})
	if _, err := TryWrite(s, Config{Deletes: "soft"}, "ddb", []change.ViewSchema{ordersView}, col); err == nil {
		t.Error("TryWrite accepted an invalid config")
	}
}

// uniqueTableNamed deletes the named table when the test ends.
func uniqueTableNamed(t *testing.T, endpoint, name string) string {
	t.Helper()
	c := testClient(t, endpoint)
	t.Cleanup(func() { deleteTable(c, name) })
	return name
}
