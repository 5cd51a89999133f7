package opensearch

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/beamsync/beamsync/change"
)

// simpleView is a view of id (the key), name and qty.
func simpleView(name string) change.ViewSchema {
	return change.ViewSchema{Name: name, Key: []string{"id"}, Fields: []change.Field{
		{Name: "id", Kind: change.KindInt}, {Name: "name", Kind: change.KindString}, {Name: "qty", Kind: change.KindInt}}}
}

// row is a record of simpleView at a position.
func row(id int64, pos uint64, name string, qty any) change.Record {
	return change.Record{Key: []any{id}, Position: change.Position(pos), SourcePos: fmt.Sprintf("test:%d", pos),
		Doc: &change.Doc{Names: []string{"id", "name", "qty"}, Values: []any{id, name, qty}}}
}

// tomb is a delete of a key at a position.
func tomb(id int64, pos uint64) change.Record {
	return change.Record{Key: []any{id}, Delete: true, Position: change.Position(pos), SourcePos: fmt.Sprintf("test:%d", pos)}
}

// deadLetters collects a writer's dead letters.
type deadLetters struct {
	mu   sync.Mutex
	list []change.DeadLetter
}

func (d *deadLetters) add(l change.DeadLetter) {
	d.mu.Lock()
	d.list = append(d.list, l)
	d.mu.Unlock()
}

func (d *deadLetters) all() []change.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]change.DeadLetter(nil), d.list...)
}

// ensure creates a view's index and alias (upsert) and returns the alias.
func ensure(t *testing.T, cfg Config, view change.ViewSchema) string {
	t.Helper()
	if err := EnsureIndex(context.Background(), cfg, view); err != nil {
		t.Fatalf("EnsureIndex: %v", err)
	}
	alias, err := cfg.AliasName(view.Name)
	if err != nil {
		t.Fatal(err)
	}
	return alias
}

func newWriter(t *testing.T, cfg Config, view change.ViewSchema, opts ...Option) *Writer {
	t.Helper()
	w, err := NewWriter(context.Background(), cfg, view, opts...)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(w.Close)
	return w
}

// write adds records and flushes.
func write(t *testing.T, w *Writer, recs ...change.Record) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := w.Add(ctx, r); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// docOf renders the source the sink writes for a record's document.
func docOf(r change.Record) string {
	b := change.AppendJSON(nil, r.Doc)
	b = b[:len(b)-1]
	if len(r.Doc.Names) > 0 {
		b = append(b, ',')
	}
	return fmt.Sprintf(`%s"_beamsync_version":%d}`, b, r.Position)
}
