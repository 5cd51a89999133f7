package files

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

const demo = "../../testdata/files/demo/"

// readAll reads a source through, returning its batches and dead letters.
func readAll(t *testing.T, cfg Config) ([]*change.Table, []change.Batch, []change.DeadLetter) {
	t.Helper()
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var batches []change.Batch
	var dead []change.DeadLetter
	err = Read(context.Background(), cfg, tables,
		func(b change.Batch) error { batches = append(batches, b); return nil },
		func(d change.DeadLetter) error { dead = append(dead, d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return tables, batches, dead
}

func changes(batches []change.Batch) []change.Change {
	var cs []change.Change
	for _, b := range batches {
		cs = append(cs, b.Changes...)
	}
	return cs
}

// columns renders a table's columns as "name:kind" ("?" marks nullable).
func columns(t *change.Table) string {
	var s []string
	for _, c := range t.Columns {
		n := c.Name + ":" + c.Kind.String()
		if c.Nullable {
			n += "?"
		}
		s = append(s, n)
	}
	return strings.Join(s, " ")
}

func value(t *testing.T, tb *change.Table, row []any, col string) any {
	t.Helper()
	i := tb.ColumnIndex(col)
	if i < 0 {
		t.Fatalf("no column %s", col)
	}
	return row[i]
}

func TestDescribeDemo(t *testing.T) {
	tables, err := Describe(context.Background(), Config{Path: demo + "customers.jsonl", Key: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	c := tables[0]
	if c.Name != "customers" || !reflect.DeepEqual(c.Key, []int{0}) {
		t.Errorf("table %+v", c)
	}
	want := "id:int name:string email:string country:string balance:decimal signed_up_at:string birth_date:string? active:bool tags:json address:json phone:string?"
	if got := columns(c); got != want {
		t.Errorf("customers columns\n got %s\nwant %s", got, want)
	}
	tables, err = Describe(context.Background(), Config{Path: demo + "orders.jsonl", Table: "shop_orders", Key: []string{"order_id"}})
	if err != nil {
		t.Fatal(err)
	}
	want = "order_id:int customer_id:int total:decimal status:string ordered_at:string shipped_at:string? currency:string items:json shipping:json? note:string? gift:bool"
	if got := columns(tables[0]); got != want || tables[0].Name != "shop_orders" {
		t.Errorf("orders %s columns\n got %s\nwant %s", tables[0].Name, got, want)
	}
}

func TestReadJSONL(t *testing.T) {
	cfg := Config{Path: demo + "customers.jsonl", Key: []string{"id"}, BatchSize: 16}
	tables, batches, dead := readAll(t, cfg)
	if len(dead) != 0 {
		t.Fatalf("dead letters: %+v", dead)
	}
	var sizes []int
	for _, b := range batches {
		sizes = append(sizes, len(b.Changes))
		if b.Table != tables[0] {
			t.Fatal("batch of another table")
		}
	}
	if !reflect.DeepEqual(sizes, []int{16, 16, 16, 2}) {
		t.Errorf("batch sizes %v", sizes)
	}
	fi, _ := os.Stat(cfg.Path)
	tb := tables[0]
	for i, c := range changes(batches) {
		if c.Op != change.OpRead || c.Position != change.Position(i+1) || c.SourcePos != cfg.Path+":"+itoa(i+1) ||
			!c.CommitTime.Equal(fi.ModTime()) || c.CommitTime.Location() != time.UTC || c.Before != nil {
			t.Fatalf("change %d: %+v", i, c)
		}
		if !reflect.DeepEqual(c.Key, []any{int64(i + 1)}) {
			t.Fatalf("change %d key %v", i, c.Key)
		}
	}
	cs := changes(batches)
	// Exact decimals, beyond what float64 holds, and with their scale.
	if v := value(t, tb, cs[2].After, "balance"); v != change.Decimal("12345678901234567.89") {
		t.Errorf("balance of 3: %#v", v)
	}
	if v := value(t, tb, cs[24].After, "balance"); v != change.Decimal("-0.10") {
		t.Errorf("balance of 25: %#v", v)
	}
	if v := value(t, tb, cs[0].After, "balance"); v != change.Decimal("84784.54") {
		t.Errorf("balance of 1: %#v", v)
	}
	// Unicode, nested JSON (compacted), timestamps kept as written, nulls.
	if v := value(t, tb, cs[1].After, "name"); v != "Noé Παπαδόπουλος" {
		t.Errorf("name %#v", v)
	}
	if v := value(t, tb, cs[0].After, "address"); !reflect.DeepEqual(v, change.JSON(`{"street":"152 Main St","city":"Zürich","geo":{"lat":-56.4243,"lon":-95.6631}}`)) {
		t.Errorf("address %s", v)
	}
	if v := value(t, tb, cs[0].After, "signed_up_at"); v != "2024-05-14T07:08:47-03:00" {
		t.Errorf("signed_up_at %#v", v)
	}
	if v := value(t, tb, cs[6].After, "birth_date"); v != nil {
		t.Errorf("birth_date of 7 %#v", v)
	}
	if v := value(t, tb, cs[0].After, "active"); v != true {
		t.Errorf("active %#v", v)
	}
}

// posText renders a position as its base position, with ".tie" when the
// tie is not 0.
func posText(p change.Position) string {
	if tie := p & 0xFFF; tie != 0 {
		return itoa(int(p>>12)) + "." + itoa(int(tie))
	}
	return itoa(int(p >> 12))
}

func itoa(i int) string { return string(change.AppendJSON(nil, int64(i))) }

func TestReadOrdersDemo(t *testing.T) {
	tables, batches, dead := readAll(t, Config{Path: demo + "orders.jsonl", Key: []string{"order_id"}})
	cs := changes(batches)
	if len(cs) != 200 || len(dead) != 0 || tables[0].Name != "orders" {
		t.Fatalf("%d changes, %d dead letters", len(cs), len(dead))
	}
	if v := value(t, tables[0], cs[76].After, "total"); v != change.Decimal("98765432109876543.21") {
		t.Errorf("total %#v", v)
	}
	if v := value(t, tables[0], cs[0].After, "total"); v != change.Decimal("113.20") {
		t.Errorf("total %#v", v)
	}
}

// writeFile writes lines to a file in a temporary directory.
func writeFile(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJSONLGlobPositionsAndKinds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b.jsonl", `{"k": 3, "n": 1.5, "m": "x"}`, ``, `{"k": 4, "n": 2, "big": 18446744073709551615}`)
	writeFile(t, dir, "a.jsonl", `{"k": 1, "n": 1, "m": 1, "e": 1.5e3}`, `{"k": 2, "n": 2, "m": null, "big": 9007199254740993}`)
	cfg := Config{Path: filepath.Join(dir, "*.jsonl"), Key: []string{"k"}, Table: "t"}
	tables, batches, dead := readAll(t, cfg)
	if len(dead) != 0 {
		t.Fatal(dead)
	}
	// n: ints and floats make a float column; m: number and string, any;
	// big: an integer beyond int64 makes uint64 in an int column.
	if got, want := columns(tables[0]), "k:int n:float m:any? e:float? big:int?"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	var pos []string
	for _, c := range changes(batches) {
		pos = append(pos, c.Position.String()+"="+filepath.Base(c.SourcePos))
	}
	// Sorted glob (a before b), 1-based line numbers across the files; the
	// blank line counts.
	if got, want := strings.Join(pos, " "), "1=a.jsonl:1 2=a.jsonl:2 3=b.jsonl:1 5=b.jsonl:3"; got != want {
		t.Errorf("positions %s, want %s", got, want)
	}
	cs := changes(batches)
	tb := tables[0]
	if v := value(t, tb, cs[0].After, "n"); v != 1.0 {
		t.Errorf("n %#v", v)
	}
	if v := value(t, tb, cs[0].After, "m"); v != int64(1) {
		t.Errorf("m %#v", v)
	}
	if v := value(t, tb, cs[0].After, "e"); v != 1500.0 {
		t.Errorf("e %#v", v)
	}
	if v := value(t, tb, cs[3].After, "big"); v != uint64(18446744073709551615) {
		t.Errorf("big %#v", v)
	}
	if v := value(t, tb, cs[1].After, "big"); v != int64(9007199254740993) {
		t.Errorf("big %#v", v)
	}
}

func TestMalformedJSONLLines(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "rows.jsonl",
		`{"id": 1, "v": "ok"}`,
		`{"id": 2, "v": `,
		`[1, 2]`,
		`{"id": null, "v": "no key"}`,
		`{"id": 5, "v": "ok"} trailing`,
		`{"id": 6, "v": "ok"}`)
	_, batches, dead := readAll(t, Config{Path: p, Key: []string{"id"}})
	if cs := changes(batches); len(cs) != 2 || cs[1].Position != 6 {
		t.Fatalf("changes %+v", cs)
	}
	want := []struct{ line, reason string }{
		{"2", "invalid JSON"}, {"3", "not a JSON object"}, {"4", `key column "id" is null`}, {"5", "invalid JSON"},
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters %+v", dead)
	}
	for i, w := range want {
		d := dead[i]
		if d.Stage != change.StageDecode || d.SourcePos != p+":"+w.line || !strings.Contains(d.Reason, w.reason) ||
			d.Position.String() != w.line || d.Table != "rows" || len(d.Row) == 0 {
			t.Errorf("dead letter %d: %+v, want line %s reason %q", i, d, w.line, w.reason)
		}
	}
	// Without a dead-letter function the first bad line stops Read.
	err := Read(context.Background(), Config{Path: p, Key: []string{"id"}}, nil, func(change.Batch) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), p+":2") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.jsonl")
	for _, cfg := range []Config{
		{Path: missing, Key: []string{"id"}},
		{Path: filepath.Join(dir, "*.jsonl"), Key: []string{"id"}},
		{Path: missing, Format: FormatDebezium},
	} {
		_, err := Describe(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), cfg.Path) {
			t.Errorf("Describe(%s): err = %v", cfg.Path, err)
		}
		err = Read(context.Background(), cfg, []*change.Table{{Name: "x"}}, func(change.Batch) error { return nil }, nil)
		if err == nil || !strings.Contains(err.Error(), cfg.Path) {
			t.Errorf("Read(%s): err = %v", cfg.Path, err)
		}
	}
	_, err := Describe(context.Background(), Config{Path: missing, Key: []string{"id"}})
	if got, want := err.Error(), "files source: file "+missing+" does not exist"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = Describe(context.Background(), Config{Path: filepath.Join(dir, "*.jsonl"), Key: []string{"id"}})
	if got, want := err.Error(), "files source: no file matches "+filepath.Join(dir, "*.jsonl"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A key column the rows do not have.
	p := writeFile(t, dir, "x.jsonl", `{"a": 1}`)
	if _, err := Describe(context.Background(), Config{Path: p, Key: []string{"id"}}); err == nil || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	err := (&Config{Format: "csv", Key: []string{"a", "a", ""}, BatchSize: -1}).Validate()
	for _, s := range []string{"path", "format", "twice", "empty column", "batch_size"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not mention %s", err, s)
		}
	}
	if err := (&Config{Path: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("jsonl without key: %v", err)
	}
	if err := (&Config{Path: "x", Format: FormatDebezium}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	var lines []string
	for i := range 3000 {
		lines = append(lines, `{"id": `+itoa(i)+`}`)
	}
	p := writeFile(t, dir, "many.jsonl", lines...)
	if _, err := Describe(ctx, Config{Path: p, Key: []string{"id"}}); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
}

func TestEmitErrorStopsRead(t *testing.T) {
	boom := os.ErrClosed
	err := Read(context.Background(), Config{Path: demo + "customers.jsonl", Key: []string{"id"}, BatchSize: 10}, nil,
		func(change.Batch) error { return boom }, nil)
	if err != boom {
		t.Fatalf("err = %v", err)
	}
}
