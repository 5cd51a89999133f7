package debezium

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func ordersTable() *change.Table {
	return &change.Table{Schema: "public", Name: "orders", Key: []int{0}, Columns: []change.Column{
		{Name: "id", Kind: change.KindInt}, {Name: "status", Kind: change.KindString, Nullable: true}}}
}

func TestDecodeRecord(t *testing.T) {
	tb := ordersTable()
	meta := Meta{Seq: 7, Time: time.UnixMilli(5).UTC(), SourcePos: "orders/0@7"}
	d := NewDecoder([]*change.Table{tb}, Options{IgnoreUnknownColumns: true, KeyFromImage: true})
	value := []byte(`{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"id","type":"int32"},{"field":"status","type":"string"},{"field":"added","type":"string"}]}]},` +
		`"payload":{"op":"c","after":{"id":1,"status":"new","added":"x"},"source":{"db":"shop","schema":"public","table":"orders"}}}`)
	for i, key := range [][]byte{
		nil,
		[]byte(`{"id":1}`),
		[]byte(`{"schema":{"type":"struct","fields":[{"field":"id","type":"int32"}]},"payload":{"id":1}}`),
		[]byte(`"a plain string key"`), // ignored: the key comes from the image
		[]byte(`{"other":9}`),          // lacks the key column: from the image
	} {
		got, c, err := d.DecodeRecord(key, value, meta)
		if err != nil || got != tb {
			t.Fatalf("key %s: %v", key, err)
		}
		want := change.Change{Op: change.OpCreate, Key: []any{int64(1)}, After: []any{int64(1), "new"}, CommitTime: meta.Time, Position: change.Position(7<<12 | i), SourcePos: "orders/0@7"} // one offset again: later ties
		if !reflect.DeepEqual(c, want) {
			t.Errorf("key %s: %+v, want %+v", key, c, want)
		}
	}
	// A key-only delete.
	_, c, err := d.DecodeRecord([]byte(`{"id":4}`), []byte(`{"op":"d","before":null,"source":{"schema":"public","table":"orders","lsn":99}}`), meta)
	if err != nil || c.Op != change.OpDelete || c.Position != 99<<12 || c.Before[0] != int64(4) || !change.IsUnchanged(c.Before[1]) {
		t.Errorf("delete %+v %v", c, err)
	}
	// Tombstones.
	for _, v := range [][]byte{nil, []byte(""), []byte("null"), []byte(`{"schema":{},"payload":null}`)} {
		if _, _, err := d.DecodeRecord([]byte(`{"id":1}`), v, meta); !errors.Is(err, ErrSkip) {
			t.Errorf("tombstone %q: %v", v, err)
		}
	}
	// Other tables.
	var unknown *UnknownTableError
	if _, _, err := d.DecodeRecord(nil, []byte(`{"op":"c","after":{"id":1},"source":{"db":"inv","table":"t"}}`), meta); !errors.As(err, &unknown) || unknown.Table != "inv.t" {
		t.Errorf("unknown table: %v", err)
	}
	// Without IgnoreUnknownColumns, an unknown column fails the event.
	strict := NewDecoder([]*change.Table{tb}, Options{})
	if _, _, err := strict.DecodeRecord(nil, value, meta); err == nil || !strings.Contains(err.Error(), `unknown column "added"`) {
		t.Errorf("strict: %v", err)
	}
	// Declared tables match by qualified name.
	decl := &change.Table{Schema: "shop", Name: "t", Key: []int{0}, Columns: []change.Column{{Name: "id", Kind: change.KindInt}}}
	md := NewDecoder([]*change.Table{decl}, Options{})
	if got, _, err := md.DecodeRecord(nil, []byte(`{"op":"c","after":{"id":1},"source":{"db":"shop","table":"t","file":"binlog.000002","pos":4,"row":1}}`), meta); err != nil || got != decl {
		t.Errorf("by qualified name: %v", err)
	}
}

func TestOutboxRules(t *testing.T) {
	for _, c := range []struct {
		table string
		src   source
		match bool
	}{
		{"", source{table: "anything"}, true},
		{"public.outbox", source{db: "shop", schema: "public", table: "outbox"}, true},
		{"shop.outbox", source{db: "shop", table: "outbox"}, true},
		{"shop.public.outbox", source{db: "shop", schema: "public", table: "outbox"}, true},
		{"outbox", source{db: "shop", schema: "public", table: "outbox"}, true},
		{"public.outbox", source{db: "shop", schema: "public", table: "orders"}, false},
	} {
		o := &Outbox{Table: c.table}
		if got := o.matches(c.src); got != c.match {
			t.Errorf("%q matches %+v = %v", c.table, c.src, got)
		}
	}
	if err := (&Outbox{Payload: "type", DeleteTypes: []string{""}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), `payload and type name the same column "type"`) || !strings.Contains(err.Error(), "empty type") {
		t.Errorf("validate: %v", err)
	}
	key := &change.Column{Name: "id", Kind: change.KindInt}
	if v, err := coerceKey(key, "17"); err != nil || v != int64(17) {
		t.Errorf("coerce %v %v", v, err)
	}
	if _, err := coerceKey(key, "x17"); err == nil {
		t.Error("coerced x17 to int")
	}
	if v, err := coerceKey(&change.Column{Name: "id", Kind: change.KindString}, int64(5)); err != nil || v != "5" {
		t.Errorf("coerce %v %v", v, err)
	}
	tb := &change.Table{Name: "order", Key: []int{0, 1}, Columns: []change.Column{{Name: "a"}, {Name: "b"}}}
	d := NewDecoder([]*change.Table{tb}, Options{Outbox: &Outbox{}})
	_, _, err := d.DecodeRecord(nil, []byte(`{"op":"c","after":{"aggregatetype":"order","aggregateid":"1","payload":"{}"}}`), Meta{})
	if err == nil || !strings.Contains(err.Error(), "keyed by the aggregate id alone") {
		t.Errorf("two key columns: %v", err)
	}
}
