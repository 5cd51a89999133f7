package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// keySet reads the key column values of a table as strings.
func keySet(t *testing.T, dsn, query string) map[string]bool {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		set[fmt.Sprint(vals...)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return set
}

func keyString(key []any) string {
	s := make([]any, len(key))
	for i, k := range key {
		s[i] = k
	}
	return fmt.Sprint(s...)
}

// TestSnapshotParallelCompositeKey reads >200k rows with a composite key
// and gaps in parallel chunks and checks that every row comes exactly once.
func TestSnapshotParallelCompositeKey(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE events (tenant int NOT NULL, id bigint NOT NULL, payload text, PRIMARY KEY (tenant, id))`,
		`INSERT INTO events SELECT t, i, 'p' || i FROM generate_series(1, 4) t, generate_series(1, 60000) i`,
		`DELETE FROM events WHERE tenant = 2 AND id BETWEEN 1000 AND 5000`,
		`DELETE FROM events WHERE tenant = 3 AND id % 7 = 0`,
		`DELETE FROM events WHERE tenant = 4 AND id > 50000`,
		`DELETE FROM events WHERE tenant = 1 AND id BETWEEN 20000 AND 20100`,
		`ANALYZE events`,
	)
	want := keySet(t, dsn, `SELECT tenant::int8, id FROM events`)
	if len(want) < 200000 {
		t.Fatalf("fixture has %d rows", len(want))
	}
	cfg := Config{Tables: []string{"events"}, ChunkSize: 5000, Parallelism: 4, BatchSize: 1000}
	var bounds [][]int64 // the upper bound of every chunk but the last
	cfg.onChunk = func(_ string, _, upper []string) {
		if upper != nil {
			b := make([]int64, len(upper))
			for i, v := range upper {
				b[i], _ = strconv.ParseInt(v, 10, 64)
			}
			bounds = append(bounds, b)
		}
	}
	tables, info, got := describeAndSnapshot(t, dsn, cfg)
	if tables[0].EstimatedRows < 150000 {
		t.Errorf("EstimatedRows = %d after ANALYZE", tables[0].EstimatedRows)
	}
	seen := make(map[string]bool, len(want))
	for _, c := range got.rows("public.events") {
		k := keyString(c.Key)
		if seen[k] {
			t.Fatalf("key %s emitted twice", k)
		}
		seen[k] = true
		if !want[k] {
			t.Fatalf("key %s emitted but not in the table", k)
		}
		if c.After[2] != "p"+fmt.Sprint(c.Key[1]) {
			t.Fatalf("row %v has payload %v", c.Key, c.After[2])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("emitted %d distinct keys, table has %d", len(seen), len(want))
	}
	// Chunks are emitted in planning (key) order: the rows of a chunk
	// come after every row of the chunks before it.
	rows := got.rows("public.events")
	for i := 1; i < len(rows); i++ {
		if ci, cj := chunkOf(bounds, rows[i-1].Key), chunkOf(bounds, rows[i].Key); ci > cj {
			t.Fatalf("row %v of chunk %d emitted after row %v of chunk %d", rows[i].Key, cj, rows[i-1].Key, ci)
		}
	}
	if wantChunks := len(want)/5000 + 1; got.chunks["public.events"] != wantChunks {
		t.Errorf("planned %d chunks, want %d", got.chunks["public.events"], wantChunks)
	}
	if info.Rows["public.events"] != int64(len(want)) {
		t.Errorf("info.Rows = %v", info.Rows)
	}
}

// TestSnapshotKeyTypes chunks tables keyed by many types into tiny chunks,
// so that boundaries with odd text forms travel through the cast.
func TestSnapshotKeyTypes(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TYPE color AS ENUM ('red', 'green', 'blue')`,
		`CREATE TABLE k_text (k text COLLATE "C" PRIMARY KEY)`,
		`INSERT INTO k_text VALUES (''), (' '), ('a,b'), ('"q"'), ('back\slash'), ('{x}'), ('NULL'), ('(1,2)'), ('ü'), ('👋'), ('tab	x'), (E'new\nline'), ('''apos')`,
		`INSERT INTO k_text SELECT 'k' || g FROM generate_series(1, 200) g`,
		`CREATE TABLE k_textdefault (k varchar(30) PRIMARY KEY)`,
		`INSERT INTO k_textdefault SELECT k FROM k_text`,
		`CREATE TABLE k_num (k numeric PRIMARY KEY)`,
		`INSERT INTO k_num VALUES ('NaN'), ('Infinity'), ('-Infinity'), (0.000000000000000000000000000001), (123456789012345678901234567890.5)`,
		`INSERT INTO k_num SELECT g / 7.0 FROM generate_series(-100, 100) g`,
		`CREATE TABLE k_float (k float8 PRIMARY KEY)`,
		`INSERT INTO k_float VALUES ('NaN'), ('Infinity'), ('-Infinity'), (5e-324), (1.7976931348623157e308), (0.1), (0.30000000000000004)`,
		`INSERT INTO k_float SELECT g / 3.0 FROM generate_series(-100, 100) g`,
		`CREATE TABLE k_real (k real PRIMARY KEY)`,
		`INSERT INTO k_real SELECT g / 3.0 FROM generate_series(-100, 100) g`,
		`CREATE TABLE k_ts (k timestamptz PRIMARY KEY, t timestamp NOT NULL)`,
		`INSERT INTO k_ts VALUES ('infinity', 'infinity'), ('-infinity', '-infinity'), ('0044-03-15 12:00:00.000001 BC', '0044-03-15 BC')`,
		`INSERT INTO k_ts SELECT '2024-03-31 01:59:59.999999+01'::timestamptz + g * interval '17 minutes 0.000001 seconds', '2024-01-01' FROM generate_series(1, 200) g`,
		`CREATE TABLE k_misc (u uuid, b bytea, d date, c color, f bool, i interval, PRIMARY KEY (u, b, d, c, f, i))`,
		`INSERT INTO k_misc SELECT md5(g::text)::uuid, decode(md5(g::text), 'hex'), date '2000-01-01' + g, (ARRAY['red','green','blue']::color[])[1 + g % 3], g % 2 = 0, g * interval '1 day 1 second'
		 FROM generate_series(1, 100) g`,
		`INSERT INTO k_misc SELECT u, b, d, c, NOT f, i FROM k_misc`,
		`CREATE TABLE k_char (k "char", n name, PRIMARY KEY (k, n))`,
		`INSERT INTO k_char SELECT chr(65 + g % 26)::"char", 'n' || g FROM generate_series(1, 100) g`,
	)
	tables := []string{"k_text", "k_textdefault", "k_num", "k_float", "k_real", "k_ts", "k_misc", "k_char"}
	cfg := Config{Tables: tables, ChunkSize: 7, Parallelism: 3, BatchSize: 5}
	_, _, got := describeAndSnapshot(t, dsn, cfg)
	for _, name := range tables {
		var cols string
		switch name {
		case "k_misc":
			cols = "u, b, d, c, f, i"
		case "k_char":
			cols = "k, n"
		case "k_ts":
			cols = "k"
		default:
			cols = "k"
		}
		var n int
		conn, err := pgx.Connect(testCtx(t), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(testCtx(t), "SELECT count(DISTINCT ("+cols+")) FROM "+name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		conn.Close(testCtx(t))
		rows := got.rows("public." + name)
		seen := map[string]bool{}
		for _, c := range rows {
			k := fmt.Sprintf("%#v", c.Key)
			if seen[k] {
				t.Errorf("%s: key %s emitted twice", name, k)
			}
			seen[k] = true
		}
		if len(rows) != n || len(seen) != n {
			t.Errorf("%s: emitted %d rows (%d distinct), table has %d", name, len(rows), len(seen), n)
		}
		if wantChunks := n/7 + 1; got.chunks["public."+name] != wantChunks {
			t.Errorf("%s: %d chunks, want %d", name, got.chunks["public."+name], wantChunks)
		}
	}
}

// TestSnapshotConsistentWithConcurrentWrites changes the table right after
// the snapshot is exported (before the readers import it) and while they
// read; the rows read must be the table as it was at the export.
func TestSnapshotConsistentWithConcurrentWrites(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE acct (id bigint PRIMARY KEY, balance int NOT NULL, note text)`,
		`INSERT INTO acct SELECT g, g % 1000, 'n' || g FROM generate_series(1, 60000) g`,
		`CREATE TABLE other (id int PRIMARY KEY, v int)`,
		`INSERT INTO other SELECT g, g FROM generate_series(1, 1000) g`,
	)
	state := func() map[string]string {
		m := map[string]string{}
		for k := range keySet(t, dsn, `SELECT 'acct', id, balance, coalesce(note, '~') FROM acct UNION ALL SELECT 'other', id, v, '' FROM other`) {
			m[k] = k
		}
		return m
	}
	before := state()

	ctx := testCtx(t)
	cfg := Config{Tables: []string{"acct", "other"}, ChunkSize: 4000, Parallelism: 4, BatchSize: 512}
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.Background())
	write := func(i int) error {
		tx, err := writer.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		stmts := []string{
			fmt.Sprintf(`UPDATE acct SET balance = balance + 1, note = 'changed' WHERE id %% 97 = %d`, i%97),
			fmt.Sprintf(`DELETE FROM acct WHERE id BETWEEN %d AND %d`, 1+i*300, 50+i*300),
			fmt.Sprintf(`INSERT INTO acct SELECT g, 0, 'new' FROM generate_series(%d, %d) g`, 100000+i*100, 100050+i*100),
			fmt.Sprintf(`UPDATE other SET v = -v WHERE id = %d`, 1+i%1000),
			fmt.Sprintf(`DELETE FROM other WHERE id = %d`, 500+i%500),
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}
	var writes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	cfg.onExported = func() {
		// Committed before any reader has imported the snapshot...
		for i := range 5 {
			if err := write(i); err != nil {
				t.Errorf("writer: %v", err)
			}
			writes.Add(1)
		}
		// ...and while they read.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 5; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := write(i); err != nil {
					t.Errorf("writer: %v", err)
					return
				}
				writes.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	var got []string
	_, err = Snapshot(ctx, dsn, cfg, tables, func(b change.Batch) error {
		for _, c := range b.Changes {
			if b.Table.Name == "acct" {
				note := "~"
				if c.After[2] != nil {
					note = c.After[2].(string)
				}
				got = append(got, fmt.Sprint("acct", c.After[0], c.After[1], note))
			} else {
				got = append(got, fmt.Sprint("other", c.After[0], c.After[1], ""))
			}
		}
		if len(got)%8192 < 512 {
			time.Sleep(5 * time.Millisecond) // give the writer time to commit during the read
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if writes.Load() < 6 {
		t.Fatalf("only %d write transactions ran", writes.Load())
	}
	if after := state(); len(after) == len(before) && fmt.Sprint(after) == fmt.Sprint(before) {
		t.Fatal("the writer changed nothing")
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Fatalf("row %q emitted twice", g)
		}
		seen[g] = true
		if _, ok := before[g]; !ok {
			t.Fatalf("row %q is not the table's state at the snapshot (a concurrent change leaked)", g)
		}
	}
	if len(seen) != len(before) {
		t.Fatalf("emitted %d rows, the table had %d at the snapshot", len(seen), len(before))
	}
}

func TestSnapshotNoPrimaryKey(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE logs (at timestamptz, line text)`,
		`INSERT INTO logs SELECT '2024-01-01'::timestamptz + g * interval '1 minute', 'line ' || g FROM generate_series(1, 2500) g`,
		`CREATE VIEW recent AS SELECT * FROM logs WHERE line LIKE 'line 1%'`,
	)
	ctx := testCtx(t)
	_, err := Describe(ctx, dsn, Config{Tables: []string{"logs", "recent"}})
	if !errors.Is(err, ErrNoPrimaryKey) {
		t.Fatalf("Describe: %v, want ErrNoPrimaryKey", err)
	}
	for _, want := range []string{"table public.logs: table has no primary key", "ALTER TABLE public.logs ADD PRIMARY KEY", "allow_no_primary_key: true", "table public.recent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	cfg := Config{Tables: []string{"logs", "recent"}, AllowNoPrimaryKey: true, ChunkSize: 100, BatchSize: 300}
	tables, info, got := describeAndSnapshot(t, dsn, cfg)
	if len(tables[0].Key) != 0 || len(tables[1].Key) != 0 {
		t.Fatalf("keys %v %v", tables[0].Key, tables[1].Key)
	}
	if got.chunks["public.logs"] != 1 || got.chunks["public.recent"] != 1 {
		t.Errorf("chunks = %v, want one per table", got.chunks)
	}
	if info.Rows["public.logs"] != 2500 || info.Rows["public.recent"] != 1111 {
		t.Errorf("rows = %v", info.Rows)
	}
	seen := map[string]bool{}
	for _, c := range got.rows("public.logs") {
		if c.Key != nil {
			t.Fatalf("key %v for a table without a primary key", c.Key)
		}
		seen[c.After[1].(string)] = true
	}
	if len(seen) != 2500 {
		t.Errorf("%d distinct rows", len(seen))
	}

	// A table passed to Snapshot without a key is refused unless allowed.
	_, err = Snapshot(ctx, dsn, Config{}, tables, func(change.Batch) error { return nil })
	if !errors.Is(err, ErrNoPrimaryKey) {
		t.Errorf("Snapshot without allow_no_primary_key: %v", err)
	}
}

// TestIdentifierQuoting uses a schema, table and columns whose names need
// quoting (spaces, capitals, double quotes).
func TestIdentifierQuoting(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE SCHEMA "Odd ""Schema"""`,
		`CREATE TABLE "Odd ""Schema"""."My ""Odd"" Table" ("Key ""Q"" Col" int, "Second Key" text, "select" text, "Value" int, PRIMARY KEY ("Key ""Q"" Col", "Second Key"))`,
		`INSERT INTO "Odd ""Schema"""."My ""Odd"" Table" SELECT g / 3, 'k' || (g % 3), 'v' || g, g FROM generate_series(0, 49) g`,
		`CREATE TABLE "UPPER" (id int PRIMARY KEY)`,
		`INSERT INTO "UPPER" VALUES (1), (2)`,
	)
	cfg := Config{Tables: []string{` "Odd ""Schema""" . "My ""Odd"" Table" `, `public."UPPER"`}, ChunkSize: 4, Parallelism: 2}
	tables, _, got := describeAndSnapshot(t, dsn, cfg)
	tb := tables[0]
	if tb.Schema != `Odd "Schema"` || tb.Name != `My "Odd" Table` || tb.ColumnIndex(`Key "Q" Col`) != 0 || len(tb.Key) != 2 {
		t.Fatalf("table %+v", tb)
	}
	rows := got.rows(`Odd "Schema".My "Odd" Table`)
	if len(rows) != 50 || len(got.rows("public.UPPER")) != 2 {
		t.Fatalf("got %d and %d rows", len(rows), len(got.rows("public.UPPER")))
	}
	vals := map[int64]bool{}
	for _, c := range rows {
		v := c.After[3].(int64)
		if c.After[2] != fmt.Sprint("v", v) || c.Key[0] != v/3 || c.Key[1] != fmt.Sprint("k", v%3) {
			t.Errorf("row %v", c.After)
		}
		vals[v] = true
	}
	if len(vals) != 50 {
		t.Errorf("%d distinct rows", len(vals))
	}

	// An unquoted name folds to lower case, like SQL.
	_, err := Describe(testCtx(t), dsn, Config{Tables: []string{"UPPER"}})
	if !errors.Is(err, ErrTableNotFound) || !strings.Contains(err.Error(), `public."UPPER"`) || !strings.Contains(err.Error(), `write public."UPPER", quotes included, to keep the capitals`) {
		t.Errorf("Describe(UPPER): %v", err)
	}
}

func TestSnapshotStopsOnEmitErrorAndCancel(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE big (id bigint PRIMARY KEY, v text)`,
		`INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g`,
	)
	ctx := testCtx(t)
	cfg := Config{Tables: []string{"big"}, ChunkSize: 1000, BatchSize: 100}
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	calls := 0
	start := time.Now()
	_, err = Snapshot(ctx, dsn, cfg, tables, func(change.Batch) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Fatalf("Snapshot = %v after %d emits, want boom after 3", err, calls)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v to stop", el)
	}

	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	start = time.Now()
	_, err = Snapshot(cctx, dsn, cfg, tables, func(change.Batch) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("Snapshot = %v after %d emits, want context.Canceled after 2", err, calls)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v to stop", el)
	}
	// Nothing was left behind on the server.
	waitNoSessions(t, dsn)
}

// waitNoSessions waits until no connection of this package is left on the
// database.
func waitNoSessions(t *testing.T, dsn string) {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'beamsync'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSnapshotManyTablesSharedQueue(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	var names []string
	var stmts []string
	for i := range 12 {
		n := fmt.Sprintf("t%02d", i)
		names = append(names, n)
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE %s (id int PRIMARY KEY, v float8)`, n),
			fmt.Sprintf(`INSERT INTO %s SELECT g, random() FROM generate_series(1, %d) g`, n, rand.IntN(3000)))
	}
	testenv.ExecAllPostgres(t, dsn, stmts...)
	cfg := Config{Tables: names, ChunkSize: 500, Parallelism: 5, BatchSize: 128}
	_, info, got := describeAndSnapshot(t, dsn, cfg)
	for _, n := range names {
		want := len(keySet(t, dsn, "SELECT id FROM "+n))
		if int(info.Rows["public."+n]) != want || len(got.rows("public."+n)) != want {
			t.Errorf("%s: %d rows, want %d", n, info.Rows["public."+n], want)
		}
	}
	waitNoSessions(t, dsn)
}

// TestSnapshotHoldsLocks checks that a TRUNCATE, which MVCC would not hide
// from the readers, waits for the snapshot to end.
func TestSnapshotHoldsLocks(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE t (id int PRIMARY KEY)`,
		`INSERT INTO t SELECT generate_series(1, 5000)`,
	)
	ctx := testCtx(t)
	cfg := Config{Tables: []string{"t"}, ChunkSize: 1000, Parallelism: 2}
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var truncErr error
	cfg.onExported = func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			truncErr = err
			return
		}
		defer conn.Close(ctx)
		_, truncErr = conn.Exec(ctx, `SET lock_timeout = '200ms'; TRUNCATE t`)
	}
	info, err := Snapshot(ctx, dsn, cfg, tables, func(change.Batch) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !isPgCode(truncErr, "55P03") {
		t.Errorf("TRUNCATE during the snapshot: %v, want a lock timeout", truncErr)
	}
	if info.Rows["public.t"] != 5000 {
		t.Errorf("rows = %v", info.Rows)
	}
	if _, err := Snapshot(ctx, dsn, cfg, append(tables, tables[0]), func(change.Batch) error { return nil }); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate table: %v", err)
	}
}

// chunkOf returns the index of the chunk holding an integer key, given the
// chunks' upper bounds.
func chunkOf(bounds [][]int64, key []any) int {
	return sort.Search(len(bounds), func(i int) bool {
		for j, b := range bounds[i] {
			if k := key[j].(int64); k != b {
				return k < b
			}
		}
		return true // key == bound: the chunk (lower, upper] holds it
	})
}
