package dynamodb_test

import (
	"context"
	"fmt"
	"log"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sinks/dynamodb"
)

// A writer keeps a view's table at the newest record of every key: the
// second record of key 1 is older than the first and is skipped.
func ExampleNewWriter() {
	ctx := context.Background()
	view := change.ViewSchema{Name: "orders", Key: []string{"id"},
		Fields: []change.Field{{Name: "id", Kind: change.KindInt}, {Name: "status", Kind: change.KindString}}}
	cfg := dynamodb.Config{Endpoint: "http://127.0.0.1:4567", TablePrefix: "reporting_"}
	w, err := dynamodb.NewWriter(ctx, cfg, view,
		dynamodb.WithSinkName("ddb"),
		dynamodb.WithDeadLetter(func(d change.DeadLetter) { log.Printf("dead letter: %s", d.Reason) }))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range []change.Record{
		{Key: []any{int64(1)}, Position: 20, Doc: &change.Doc{Names: []string{"id", "status"}, Values: []any{int64(1), "shipped"}}},
		{Key: []any{int64(1)}, Position: 10, Doc: &change.Doc{Names: []string{"id", "status"}, Values: []any{int64(1), "paid"}}},
		{Key: []any{int64(2)}, Position: 30, Delete: true},
	} {
		if err := w.Add(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	s := w.Stats()
	fmt.Println(s.Written, s.Deleted, s.SkippedOlder)
}
