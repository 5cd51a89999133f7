package bigquery_test

import (
	"context"
	"log"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sinks/bigquery"
)

// A full refresh of one view without Beam: prepare the run, load its
// records, commit.
func ExampleView_Commit() {
	ctx := context.Background()
	cfg := bigquery.Config{Project: "my-project", Dataset: "reporting", Mode: bigquery.ModeReplace}
	client, err := bigquery.NewClient(ctx, cfg) // Application Default Credentials
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	schema := change.ViewSchema{Name: "orders", Key: []string{"id"}, Fields: []change.Field{
		{Name: "id", Kind: change.KindInt},
		{Name: "total", Kind: change.KindDecimal, Nullable: true},
	}}
	view, err := bigquery.NewView(client, cfg, schema, bigquery.NewRunID())
	if err != nil {
		log.Fatal(err)
	}
	if err := view.Prepare(ctx); err != nil {
		log.Fatal(err)
	}
	w := view.NewWriter(bigquery.WithDeadLetter(func(d change.DeadLetter) { log.Printf("dead letter: %s", d.Reason) }))
	for id := int64(1); id <= 3; id++ {
		doc := &change.Doc{Names: []string{"id", "total"}, Values: []any{id, change.Decimal("9.99")}}
		if err := w.Add(ctx, change.Record{Key: []any{id}, Position: 100, Doc: doc}); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	stats, err := view.Commit(ctx)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d rows", view.Table(), stats.Written)
}
