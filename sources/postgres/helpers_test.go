package postgres

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dropBenchDB()
	os.Exit(code)
}

// loadFixture runs a file of testdata/postgres on a database.
func loadFixture(t testing.TB, dsn, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "postgres", name))
	if err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllPostgres(t, dsn, string(b))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// collected is everything a snapshot emitted.
type collected struct {
	mu      sync.Mutex
	batches []change.Batch
	byTable map[string][]change.Change
	chunks  map[string]int
}

func (c *collected) rows(table string) []change.Change { return c.byTable[table] }

// describeAndSnapshot runs Describe and Snapshot and checks what every run
// must satisfy: emit on the calling goroutine, batch sizes, row metadata.
func describeAndSnapshot(t *testing.T, dsn string, cfg Config) ([]*change.Table, SnapshotInfo, *collected) {
	t.Helper()
	ctx := testCtx(t)
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	info, c := snapshotAll(t, ctx, dsn, cfg, tables)
	return tables, info, c
}

func snapshotAll(t *testing.T, ctx context.Context, dsn string, cfg Config, tables []*change.Table) (SnapshotInfo, *collected) {
	t.Helper()
	c := &collected{byTable: map[string][]change.Change{}, chunks: map[string]int{}}
	prevChunk := cfg.onChunk
	cfg.onChunk = func(table string, lower, upper []string) {
		c.mu.Lock()
		c.chunks[table]++
		c.mu.Unlock()
		if prevChunk != nil {
			prevChunk(table, lower, upper)
		}
	}
	caller := goid()
	batchSize := cfg.WithDefaults().BatchSize
	info, err := Snapshot(ctx, dsn, cfg, tables, func(b change.Batch) error {
		if g := goid(); g != caller {
			t.Errorf("emit called on goroutine %d, want the caller's %d", g, caller)
		}
		if len(b.Changes) == 0 || len(b.Changes) > batchSize {
			t.Errorf("batch of %d changes (batch size %d)", len(b.Changes), batchSize)
		}
		c.batches = append(c.batches, b)
		c.byTable[b.Table.QualifiedName()] = append(c.byTable[b.Table.QualifiedName()], b.Changes...)
		return nil
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if info.Position == 0 || info.LSN == "" || info.SnapshotName == "" {
		t.Errorf("incomplete SnapshotInfo %+v", info)
	}
	for _, tb := range tables {
		name := tb.QualifiedName()
		if got := int64(len(c.byTable[name])); got != info.Rows[name] {
			t.Errorf("%s: emitted %d rows, info.Rows says %d", name, got, info.Rows[name])
		}
		for _, ch := range c.byTable[name] {
			checkChange(t, tb, info, &ch)
		}
	}
	return info, c
}

func checkChange(t *testing.T, tb *change.Table, info SnapshotInfo, c *change.Change) {
	t.Helper()
	if c.Op != change.OpRead || c.Position != info.Position || c.SourcePos != "snapshot@"+info.LSN ||
		c.Before != nil || len(c.After) != len(tb.Columns) || c.CommitTime.Location() != time.UTC ||
		time.Since(c.CommitTime) > 10*time.Minute || time.Since(c.CommitTime) < -time.Minute {
		t.Fatalf("bad snapshot change %+v (info %+v)", c, info)
	}
	if len(c.Key) != len(tb.Key) {
		t.Fatalf("key %v, want %d values", c.Key, len(tb.Key))
	}
	for j, k := range tb.Key {
		if !valueEqual(c.Key[j], c.After[k]) {
			t.Fatalf("key %v does not match row %v", c.Key, c.After)
		}
	}
	for j, v := range c.After {
		if v == nil {
			continue
		}
		if k := change.KindOf(v); k != tb.Columns[j].Kind {
			t.Fatalf("column %s: value %#v of kind %s, column kind %s", tb.Columns[j].Name, v, k, tb.Columns[j].Kind)
		}
	}
}

// valueEqual compares values exactly: same dynamic type, NaN equal to NaN,
// times equal and in UTC, arrays element by element.
func valueEqual(a, b any) bool {
	if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
		return false
	}
	switch x := a.(type) {
	case nil:
		return true
	case float64:
		y := b.(float64)
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return x == y && math.Signbit(x) == math.Signbit(y)
	case time.Time:
		y := b.(time.Time)
		return x.Equal(y) && x.Location() == time.UTC && y.Location() == time.UTC
	case []byte:
		y := b.([]byte)
		return bytes.Equal(x, y) && (x == nil) == (y == nil)
	case change.JSON:
		return bytes.Equal(x, b.(change.JSON))
	case []any:
		y := b.([]any)
		if len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func show(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[]any{" + strings.Join(parts, ", ") + "}"
	case change.JSON:
		return fmt.Sprintf("JSON(%q)", string(x))
	case time.Time:
		return x.Format(time.RFC3339Nano) + " " + x.Location().String()
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}

func goid() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	var id int
	fmt.Sscanf(string(buf[:n]), "goroutine %d ", &id)
	return id
}

func pgxConnect(ctx context.Context, dsn string) (*pgx.Conn, error) { return pgx.Connect(ctx, dsn) }
