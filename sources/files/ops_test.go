package files

import (
	"context"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
)

// opsFile holds a create, a logical decoding message, a truncate and an
// update of public.orders.
func opsFile(t *testing.T) string {
	t.Helper()
	src := `"source":{"db":"shop","schema":"public","table":"orders","lsn":%d}`
	ev := func(op, after, lsn string) string {
		return `{"op":"` + op + `","before":null,"after":` + after + `,` + strings.Replace(src, "%d", lsn, 1) + `}`
	}
	return writeFile(t, t.TempDir(), "orders.jsonl",
		ev("c", `{"id":1,"status":"new"}`, "10"),
		`{"op":"m","ts_ms":1,"source":{"db":"shop","lsn":11},"message":{"prefix":"audit","content":"aGk="}}`,
		ev("t", "null", "12"),
		ev("u", `{"id":1,"status":"paid"}`, "13"),
	)
}

func readOps(t *testing.T, cfg Config) ([]change.Change, []change.DeadLetter, error) {
	t.Helper()
	tables, err := Describe(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cs []change.Change
	var dead []change.DeadLetter
	err = Read(context.Background(), cfg, tables,
		func(b change.Batch) error { cs = append(cs, b.Changes...); return nil },
		func(d change.DeadLetter) error { dead = append(dead, d); return nil })
	return cs, dead, err
}

func TestDebeziumTruncateAndMessages(t *testing.T) {
	p := opsFile(t)
	runstats.Reset()
	// Default policy: the truncate fails the read, naming the table and the fix.
	_, dead, err := readOps(t, Config{Path: p, Format: FormatDebezium, Key: []string{"id"}})
	if err == nil || !strings.Contains(err.Error(), "table public.orders was truncated") || !strings.Contains(err.Error(), "truncate: ignore") ||
		!strings.Contains(err.Error(), "orders.jsonl:3") || len(dead) != 0 {
		t.Fatalf("fail policy: %v, dead %+v", err, dead)
	}
	if n := runstats.Get(runstats.Messages, "files"); n != 1 {
		t.Errorf("messages skipped %d, want 1", n)
	}
	// ignore: counted and skipped; the message is skipped, not dead-lettered.
	runstats.Reset()
	cs, dead, err := readOps(t, Config{Path: p, Format: FormatDebezium, Key: []string{"id"}, Truncate: "ignore"})
	if err != nil || len(cs) != 2 || len(dead) != 0 {
		t.Fatalf("ignore: %v, %d changes, dead %+v", err, len(cs), dead)
	}
	if n := runstats.Get(runstats.Truncates, "public.orders"); n != 1 {
		t.Errorf("truncates ignored %d, want 1", n)
	}
	if n := runstats.Get(runstats.Messages, "files"); n != 1 {
		t.Errorf("messages skipped %d, want 1", n)
	}
	bad := Config{Path: p, Format: FormatDebezium, Truncate: "drop"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `truncate "drop"`) {
		t.Errorf("validate: %v", err)
	}
}
