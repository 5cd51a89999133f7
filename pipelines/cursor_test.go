package pipelines_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/pipelines"
)

const cursorMapping = `view: items
source: items
key: [id]
fields:
  id: id
  name: name
  note: parse_time(note)
`

// runCursorJob runs a job once and returns its summary and error.
func runCursorJob(t *testing.T, path string) (*pipelines.Summary, error) {
	return runCursorJobOn(t, path, pipelines.RunnerDirect)
}

func runCursorJobOn(t *testing.T, path, runner string) (*pipelines.Summary, error) {
	t.Helper()
	j, err := pipelines.Load(path)
	if err != nil {
		t.Fatalf("loading job: %v", err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatalf("preparing job: %v", err)
	}
	return pipelines.RunBatch(context.Background(), plan, runner)
}

func mustRun(t *testing.T, path string) int64 {
	t.Helper()
	return mustRunOn(t, path, pipelines.RunnerDirect)
}

func mustRunOn(t *testing.T, path, runner string) int64 {
	t.Helper()
	sum, err := runCursorJobOn(t, path, runner)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum.Tables[0].Read
}

// viewNames reads the file view as id → name.
func viewNames(t *testing.T, path string) map[int64]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("view line %q: %v", sc.Text(), err)
		}
		out[r.ID] = r.Name
	}
	return out
}

func wantView(t *testing.T, path string, want map[int64]string) {
	t.Helper()
	got := viewNames(t, path)
	if len(got) != len(want) {
		t.Errorf("view has %d rows, want %d: %v", len(got), len(want), got)
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("view row %d: name %q, want %q", id, got[id], n)
		}
	}
}

func TestCursorPostgresIncremental(t *testing.T) {
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) { testCursorPostgresIncremental(t, runner) })
	}
}

func testCursorPostgresIncremental(t *testing.T, runner string) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL,
		note text NOT NULL DEFAULT '2026-01-01T00:00:00Z', updated_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO items (id, name, updated_at) SELECT i, 'v1-' || i, now() - (10 - i) * interval '1 hour' FROM generate_series(1, 5) i`)
	t.Setenv("CURSOR_PG_DSN", dsn)
	path := writeJob(t, `
name: cursor-pg
source:
  kind: postgres
  dsn_env: CURSOR_PG_DSN
  tables: [public.items]
  chunk_size: 2
  parallelism: 2
  cursor: {column: updated_at}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
errors: {policy: fail}
state_dir: state
`, map[string]string{"items.yaml": cursorMapping})
	dir := filepath.Dir(path)
	view := filepath.Join(dir, "out", "items.jsonl")
	cursorFile := filepath.Join(dir, "state", pipelines.CursorFile)

	// 1. The first run reads every row.
	if n := mustRunOn(t, path, runner); n != 5 {
		t.Fatalf("first run read %d rows, want 5", n)
	}
	wantView(t, view, map[int64]string{1: "v1-1", 2: "v1-2", 3: "v1-3", 4: "v1-4", 5: "v1-5"})

	// 2. Two updates (one of the row at the watermark) and an insert: the
	// next run reads exactly those.
	testenv.ExecAllPostgres(t, dsn,
		`UPDATE items SET name = 'v2-' || id, updated_at = now() WHERE id IN (2, 5)`,
		`INSERT INTO items (id, name) VALUES (6, 'v1-6')`)
	if n := mustRunOn(t, path, runner); n != 3 {
		t.Fatalf("second run read %d rows, want 3 (2 updated, 1 inserted)", n)
	}
	wantView(t, view, map[int64]string{1: "v1-1", 2: "v2-2", 3: "v1-3", 4: "v1-4", 5: "v2-5", 6: "v1-6"})

	// 3. A failed run leaves the watermark as it was.
	before, err := os.ReadFile(cursorFile)
	if err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllPostgres(t, dsn, `UPDATE items SET name = 'bad', note = 'boom', updated_at = now() WHERE id = 1`)
	if _, err := runCursorJobOn(t, path, runner); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("run with a bad row: err = %v, want the mapping error", err)
	}
	after, err := os.ReadFile(cursorFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("a failed run changed %s:\nbefore: %s\nafter:  %s", cursorFile, before, after)
	}
	testenv.ExecAllPostgres(t, dsn, `UPDATE items SET name = 'v3-1', note = DEFAULT, updated_at = now() WHERE id = 1`)
	mustRunOn(t, path, runner)
	wantView(t, view, map[int64]string{1: "v3-1", 2: "v2-2", 3: "v1-3", 4: "v1-4", 5: "v2-5", 6: "v1-6"})

	// 4. A transaction stamps row 3 before the run but commits after it,
	// while row 4, stamped later, is read by the run: the late row has an
	// updated_at below the largest one seen, and the next run still reads it.
	ctx := context.Background()
	late, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close(ctx)
	tx, err := late.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE items SET name = 'late', updated_at = now() WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllPostgres(t, dsn, `UPDATE items SET name = 'v2-4', updated_at = clock_timestamp() + interval '1 second' WHERE id = 4`)
	mustRunOn(t, path, runner)
	if got := viewNames(t, view)[3]; got != "v1-3" {
		t.Fatalf("row 3 = %q before the late commit", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustRunOn(t, path, runner)
	wantView(t, view, map[int64]string{1: "v3-1", 2: "v2-2", 3: "late", 4: "v2-4", 5: "v2-5", 6: "v1-6"})

	var st struct {
		Column     string            `json:"column"`
		Watermarks map[string]string `json:"watermarks"`
	}
	b, _ := os.ReadFile(cursorFile)
	if err := json.Unmarshal(b, &st); err != nil || st.Column != "updated_at" || st.Watermarks["public.items"] == "" {
		t.Fatalf("cursor.json = %s (%v)", b, err)
	}
}

func TestCursorRefusesReplaceSink(t *testing.T) {
	path := writeJob(t, `
name: cursor-replace
source: {kind: postgres, dsn_env: X_DSN, tables: [items], cursor: {column: updated_at}}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out}]
`, map[string]string{"items.yaml": cursorMapping})
	_, err := pipelines.Load(path)
	if err == nil || !strings.Contains(err.Error(), "must use mode: upsert") {
		t.Fatalf("Load = %v, want the file sink refused", err)
	}
}

func TestCursorRefusesMissingColumn(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, note text, touched timestamptz)`)
	t.Setenv("CURSOR_PG_DSN", dsn)
	path := writeJob(t, `
name: cursor-missing
source: {kind: postgres, dsn_env: CURSOR_PG_DSN, tables: [items], cursor: {column: updated_at}}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
`, map[string]string{"items.yaml": cursorMapping})
	j, err := pipelines.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipelines.Prepare(context.Background(), j); err == nil || !strings.Contains(err.Error(), `no column "updated_at"`) {
		t.Fatalf("Prepare = %v, want the missing cursor column named", err)
	}
	for col, want := range map[string]string{"touched": "is nullable", "name": "a cursor must be a timestamp"} {
		path := writeJob(t, strings.Replace(string(mustRead(t, path)), "column: updated_at", "column: "+col, 1), map[string]string{"items.yaml": cursorMapping})
		j, err := pipelines.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pipelines.Prepare(context.Background(), j); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("cursor %s: Prepare = %v, want %q", col, err, want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A monotonic id as the cursor: inserts only; the row at the watermark is
// read again.
func TestCursorPostgresMonotonicID(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, note text NOT NULL DEFAULT '2026-01-01T00:00:00Z')`,
		`INSERT INTO items (id, name) SELECT i, 'v1-' || i FROM generate_series(1, 4) i`)
	t.Setenv("CURSOR_PG_DSN", dsn)
	path := writeJob(t, `
name: cursor-id
source: {kind: postgres, dsn_env: CURSOR_PG_DSN, tables: [items], chunk_size: 3, cursor: {column: id}}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`, map[string]string{"items.yaml": cursorMapping})
	if n := mustRun(t, path); n != 4 {
		t.Fatalf("first run read %d rows, want 4", n)
	}
	testenv.ExecAllPostgres(t, dsn, `INSERT INTO items (id, name) VALUES (5, 'v1-5'), (6, 'v1-6')`)
	if n := mustRun(t, path); n != 3 {
		t.Fatalf("second run read %d rows, want 3 (id 4 at the watermark, 5 and 6)", n)
	}
	wantView(t, filepath.Join(filepath.Dir(path), "out", "items.jsonl"),
		map[int64]string{1: "v1-1", 2: "v1-2", 3: "v1-3", 4: "v1-4", 5: "v1-5", 6: "v1-6"})
	if b := mustRead(t, filepath.Join(filepath.Dir(path), "state", pipelines.CursorFile)); !strings.Contains(string(b), `"public.items": "6"`) {
		t.Errorf("cursor.json = %s, want the watermark 6", b)
	}
}

func TestCursorMariaDBIncremental(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name varchar(50) NOT NULL,
		note varchar(50) NOT NULL DEFAULT '2026-01-01T00:00:00Z', updated_at datetime(6) NOT NULL)`,
		`INSERT INTO items (id, name, updated_at) VALUES (1, 'v1-1', UTC_TIMESTAMP(6) - INTERVAL 5 HOUR),
		(2, 'v1-2', UTC_TIMESTAMP(6) - INTERVAL 4 HOUR), (3, 'v1-3', UTC_TIMESTAMP(6) - INTERVAL 3 HOUR)`)
	t.Setenv("CURSOR_MY_DSN", dsn)
	path := writeJob(t, `
name: cursor-mysql
source: {kind: mysql, dsn_env: CURSOR_MY_DSN, tables: [items], chunk_size: 2, parallelism: 2, cursor: {column: updated_at}}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
errors: {policy: fail}
state_dir: state
`, map[string]string{"items.yaml": cursorMapping})
	view := filepath.Join(filepath.Dir(path), "out", "items.jsonl")
	if n := mustRun(t, path); n != 3 {
		t.Fatalf("first run read %d rows, want 3", n)
	}
	testenv.ExecAllMySQL(t, dsn,
		`UPDATE items SET name = 'v2-3', updated_at = UTC_TIMESTAMP(6) WHERE id = 3`,
		`INSERT INTO items (id, name, updated_at) VALUES (4, 'v1-4', UTC_TIMESTAMP(6))`)
	if n := mustRun(t, path); n != 2 {
		t.Fatalf("second run read %d rows, want 2 (1 updated, 1 inserted)", n)
	}
	wantView(t, view, map[int64]string{1: "v1-1", 2: "v1-2", 3: "v2-3", 4: "v1-4"})
}

// An empty table has no watermark yet: the run succeeds and the next one
// reads every row.
func TestCursorPostgresEmptyTable(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL,
		note text NOT NULL DEFAULT '2026-01-01T00:00:00Z', updated_at timestamptz NOT NULL DEFAULT now())`)
	t.Setenv("CURSOR_PG_DSN", dsn)
	path := writeJob(t, `
name: cursor-empty
source: {kind: postgres, dsn_env: CURSOR_PG_DSN, tables: [items], cursor: {column: updated_at}}
views: [items.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`, map[string]string{"items.yaml": cursorMapping})
	if n := mustRun(t, path); n != 0 {
		t.Fatalf("first run read %d rows, want 0", n)
	}
	testenv.ExecAllPostgres(t, dsn, `INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')`)
	if n := mustRun(t, path); n != 2 {
		t.Fatalf("second run read %d rows, want 2", n)
	}
}
