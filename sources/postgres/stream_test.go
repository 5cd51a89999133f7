package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// streamDB is a fresh database whose replication slot is dropped when the
// test ends (a database with a slot cannot be dropped).
func streamDB(t *testing.T, stmts ...string) (dsn string, scfg StreamConfig) {
	t.Helper()
	dsn = testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, stmts...)
	scfg = StreamConfig{Name: strings.ToLower(t.Name()), StatusInterval: 200 * time.Millisecond}.WithDefaults()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		for range 50 { // the walsender may take a moment to let go of the slot
			_, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()")
			if err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dsn, scfg
}

func describe(t *testing.T, dsn string, cfg Config) []*change.Table {
	t.Helper()
	tables, err := Describe(testCtx(t), dsn, cfg)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	return tables
}

// startStream runs SnapshotAndStream and returns the stream and the
// snapshot rows by table.
func startStream(t *testing.T, dsn string, cfg Config, scfg StreamConfig, tables []*change.Table) (change.Stream, SnapshotInfo, map[string][]change.Change) {
	t.Helper()
	rows := map[string][]change.Change{}
	st, info, err := SnapshotAndStream(testCtx(t), dsn, cfg, scfg, tables, func(b change.Batch) error {
		rows[b.Table.Name] = append(rows[b.Table.Name], b.Changes...)
		return nil
	})
	if err != nil {
		t.Fatalf("SnapshotAndStream: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, info, rows
}

// collectChanges reads the stream until n changes arrived, checking that
// checkpoints never go back.
func collectChanges(t *testing.T, st change.Stream, n int) ([]change.Change, []*change.Table, change.Checkpoint) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []change.Change
	var tables []*change.Table
	var last pglogrepl.LSN
	var cp change.Checkpoint
	for len(out) < n {
		p, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d changes: %v", len(out), n, err)
		}
		lsn, err := pglogrepl.ParseLSN(string(p.Checkpoint))
		if err != nil || lsn < last {
			t.Fatalf("checkpoint %q after %s: %v", p.Checkpoint, last, err)
		}
		last, cp = lsn, p.Checkpoint
		for _, b := range p.Batches {
			for _, c := range b.Changes {
				out = append(out, c)
				tables = append(tables, b.Table)
			}
		}
	}
	return out, tables, cp
}

func TestStreamValuesEqualSnapshot(t *testing.T) {
	dsn, scfg := streamDB(t)
	loadFixture(t, dsn, "types.sql")
	testenv.ExecAllPostgres(t, dsn, "ALTER TABLE all_types REPLICA IDENTITY FULL", "ALTER TABLE composite_pk REPLICA IDENTITY FULL")
	cfg := Config{Tables: []string{"all_types", "composite_pk"}}
	tables := describe(t, dsn, cfg)
	st, info, snap := startStream(t, dsn, cfg, scfg, tables)
	if len(snap["all_types"]) == 0 {
		t.Fatal("empty snapshot")
	}
	// Rewrite every row unchanged, then move every key: the stream's row
	// images must equal the snapshot's, value for value.
	testenv.ExecAllPostgres(t, dsn, "UPDATE all_types SET c_int2 = c_int2", "UPDATE all_types SET id = id + 1000")
	n := len(snap["all_types"])
	got, _, _ := collectChanges(t, st, 3*n)
	byKey := map[int64]change.Change{}
	for _, c := range snap["all_types"] {
		byKey[c.Key[0].(int64)] = c
	}
	cols := tables[0].Columns
	for i, c := range got {
		var want change.Change
		var img []any
		switch {
		case i < n:
			if c.Op != change.OpUpdate {
				t.Fatalf("change %d: op %s, want u", i, c.Op)
			}
			want, img = byKey[c.Key[0].(int64)], c.After
			for j := range cols {
				if !valueEqual(c.Before[j], c.After[j]) {
					t.Errorf("row %v column %s: before %s, after %s", c.Key, cols[j].Name, show(c.Before[j]), show(c.After[j]))
				}
			}
		case (i-n)%2 == 0:
			if c.Op != change.OpDelete {
				t.Fatalf("change %d: op %s, want d (a key change deletes the old key)", i, c.Op)
			}
			want, img = byKey[c.Key[0].(int64)], c.Before
		default:
			if c.Op != change.OpCreate || c.Key[0].(int64) < 1000 {
				t.Fatalf("change %d: op %s key %v, want c of the new key", i, c.Op, c.Key)
			}
			want, img = byKey[c.Key[0].(int64)-1000], c.After
			img = append([]any{want.After[0]}, img[1:]...)
		}
		if want.After == nil {
			t.Fatalf("change %d: key %v is not in the snapshot", i, c.Key)
		}
		for j := range cols {
			if !valueEqual(want.After[j], img[j]) {
				t.Errorf("change %d (%s) row %v column %s: stream %s, snapshot %s", i, c.Op, c.Key, cols[j].Name, show(img[j]), show(want.After[j]))
			}
		}
		if c.Position <= info.Position {
			t.Errorf("change %d: position %d not after the snapshot's %d", i, c.Position, info.Position)
		}
	}
}

func TestStreamChanges(t *testing.T) {
	dsn, scfg := streamDB(t,
		`CREATE TABLE a (id int PRIMARY KEY, v text)`,
		`CREATE TABLE b (k1 int, k2 text, n numeric, PRIMARY KEY (k1, k2))`,
		`CREATE TABLE other (id int)`,
		`INSERT INTO a VALUES (1, 'one'), (2, 'two')`)
	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE a REPLICA IDENTITY FULL`, `ALTER TABLE b REPLICA IDENTITY FULL`)
	cfg := Config{Tables: []string{"a", "b"}}
	tables := describe(t, dsn, cfg)
	st, info, snap := startStream(t, dsn, cfg, scfg, tables)
	if len(snap["a"]) != 2 || len(snap["b"]) != 0 {
		t.Fatalf("snapshot %v", snap)
	}
	testenv.ExecAllPostgres(t, dsn,
		`BEGIN; INSERT INTO a VALUES (3, 'three'); INSERT INTO b VALUES (1, 'x', 1.50); UPDATE a SET v = 'uno' WHERE id = 1; INSERT INTO other VALUES (1); COMMIT`,
		`UPDATE a SET v = 'eins' WHERE id = 1`,
		`BEGIN; DELETE FROM a WHERE id = 2; INSERT INTO a VALUES (2, 'again'); UPDATE a SET v = 'twice' WHERE id = 2; COMMIT`,
		`UPDATE b SET k2 = 'y' WHERE k1 = 1`,
		`DELETE FROM b`)
	got, gotTables, _ := collectChanges(t, st, 10)
	want := []string{
		"a c [3] three", "b c [1 x] 1.50", "a u [1] uno",
		"a u [1] eins",
		"a d [2] two", "a c [2] again", "a u [2] twice",
		"b d [1 x] 1.50", "b c [1 y] 1.50",
		"b d [1 y] 1.50",
	}
	last := map[string]change.Position{}
	for _, c := range snap["a"] {
		last["a"+change.KeyString(c.Key)] = c.Position
	}
	for i, c := range got[:len(want)] {
		row := c.Row()
		s := fmt.Sprintf("%s %s %v %v", gotTables[i].Name, c.Op, c.Key, row[len(row)-1])
		if s != want[i] {
			t.Errorf("change %d: %q, want %q", i, s, want[i])
		}
		k := gotTables[i].Name + change.KeyString(c.Key)
		if c.Position <= last[k] || c.Position <= info.Position {
			t.Errorf("change %d (%s): position %d not after %d (snapshot %d)", i, s, c.Position, last[k], info.Position)
		}
		last[k] = c.Position
		if c.CommitTime.IsZero() || c.SourcePos == "" {
			t.Errorf("change %d: commit time %v, source position %q", i, c.CommitTime, c.SourcePos)
		}
	}
	if c := got[2]; c.Before == nil || c.Before[1] != "one" {
		t.Errorf("update before image %v, want the old row", c.Before)
	}
}

func TestStreamHandoffUnderLoad(t *testing.T) {
	dsn, scfg := streamDB(t,
		`CREATE TABLE items (id int PRIMARY KEY, grp int NOT NULL, v bigint NOT NULL)`,
		`INSERT INTO items SELECT g, g % 7, 0 FROM generate_series(1, 30000) g`,
		`ALTER TABLE items REPLICA IDENTITY FULL`)
	cfg := Config{Tables: []string{"items"}, ChunkSize: 1000, Parallelism: 4, BatchSize: 500}
	tables := describe(t, dsn, cfg)

	// Writers run during the snapshot and the start of the stream.
	ctx, stopWriters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes [3]int
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				id := 1 + r.IntN(32000)
				var sql string
				switch r.IntN(4) {
				case 0:
					sql = fmt.Sprintf("DELETE FROM items WHERE id = %d", id)
				case 1:
					sql = fmt.Sprintf("INSERT INTO items VALUES (%d, %d, %d) ON CONFLICT (id) DO UPDATE SET v = items.v + 1", id, w, r.Int64())
				default:
					sql = fmt.Sprintf("BEGIN; UPDATE items SET v = v + 1 WHERE id = %d; UPDATE items SET grp = %d WHERE id = %d; COMMIT", id, w, 1+r.IntN(32000))
				}
				if _, err := conn.Exec(context.Background(), sql); err != nil && !strings.Contains(err.Error(), "deadlock") {
					t.Error(err)
					return
				}
				writes[w]++
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	view := map[string]change.Change{}
	hist := map[string][]string{}
	apply := func(c change.Change) {
		k := change.KeyString(c.Key)
		hist[k] = append(hist[k], fmt.Sprintf("%s@%v:%v/%v", c.Op, c.Position, c.Before, c.After))
		if old, ok := view[k]; ok && old.Position >= c.Position {
			t.Fatalf("change %s %v at %d arrived after position %d", c.Op, c.Key, c.Position, old.Position)
		}
		view[k] = c
	}
	st, _, err := SnapshotAndStream(testCtx(t), dsn, cfg, scfg, tables, func(b change.Batch) error {
		for _, c := range b.Changes {
			apply(c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	time.Sleep(500 * time.Millisecond)
	stopWriters()
	wg.Wait()
	t.Logf("writes during the handoff: %v", writes)

	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var end pglogrepl.LSN
	if err := conn.QueryRow(testCtx(t), "SELECT pg_current_wal_insert_lsn()").Scan(&end); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		p, err := st.Next(rctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range p.Batches {
			for _, c := range b.Changes {
				apply(c)
			}
		}
		if lsn, _ := pglogrepl.ParseLSN(string(p.Checkpoint)); lsn >= end {
			break
		}
	}
	rows, err := conn.Query(testCtx(t), "SELECT id, grp, v FROM items")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int64{}
	for rows.Next() {
		var r [3]int64
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprint(r[0])] = r
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	got := 0
	for k, c := range view {
		if c.Op == change.OpDelete {
			if _, ok := want[k]; ok {
				t.Errorf("row %s deleted in the view but present in the table", k)
			}
			continue
		}
		got++
		w, ok := want[k]
		if !ok {
			t.Errorf("row %s in the view but not in the table", k)
			continue
		}
		if c.After[1] != w[1] || c.After[2] != w[2] {
			t.Errorf("row %s: view %v, table %v; history %v", k, c.After, w, hist[k])
		}
	}
	if got != len(want) {
		t.Errorf("view holds %d rows, table %d", got, len(want))
	}
}

func TestStreamResume(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE r (id int PRIMARY KEY, v int)`)
	cfg := Config{Tables: []string{"r"}}
	tables := describe(t, dsn, cfg)
	st, _, _ := startStream(t, dsn, cfg, scfg, tables)
	for i := range 6 {
		testenv.ExecAllPostgres(t, dsn, fmt.Sprintf("INSERT INTO r VALUES (%d, %d)", i, i))
	}
	ctx := testCtx(t)
	// Take transactions one Next at a time until three are in.
	var seen []change.Change
	var cp change.Checkpoint
	for len(seen) < 3 {
		p, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range p.Batches {
			seen = append(seen, b.Changes...)
		}
		cp = p.Checkpoint
	}
	if err := st.Ack(ctx, cp); err != nil {
		t.Fatal(err)
	}
	// The running stream reports the acknowledged position to the slot.
	waitConfirmed(t, dsn, scfg.Slot, cp)
	st.Close()

	st2, err := OpenStream(ctx, dsn, scfg, tables, cp)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	rest, _, _ := collectChanges(t, st2, 6-len(seen))
	all := append(seen, rest...)
	for i, c := range all {
		if c.After[0] != int64(i) {
			t.Fatalf("after resuming at %s: change %d is row %v (seen before: %d)", cp, i, c.After, len(seen))
		}
	}

	// An older checkpoint than the slot's confirmed position cannot be
	// replayed: a clear error, not silently skipped changes.
	st2.Close()
	if _, err := OpenStream(ctx, dsn, scfg, tables, "0/10"); err == nil || !strings.Contains(err.Error(), "--snapshot always") {
		t.Errorf("replay before the slot: %v", err)
	}
}

// waitConfirmed waits until the slot's confirmed position reaches cp.
func waitConfirmed(t *testing.T, dsn, slot string, cp change.Checkpoint) {
	t.Helper()
	want, _ := pglogrepl.ParseLSN(string(cp))
	var got pglogrepl.LSN
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got = confirmedLSN(t, dsn, slot)
		if got >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("slot %s confirmed %s, want %s", slot, got, want)
}

func confirmedLSN(t *testing.T, dsn, slot string) pglogrepl.LSN {
	t.Helper()
	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(testCtx(t), "SELECT coalesce(confirmed_flush_lsn::text, '0/0') FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&s); err != nil {
		t.Fatal(err)
	}
	lsn, _ := pglogrepl.ParseLSN(s)
	return lsn
}

func TestStreamIdleTablesSlotAdvances(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE captured (id int PRIMARY KEY)`, `CREATE TABLE busy (id serial PRIMARY KEY, v text)`)
	cfg := Config{Tables: []string{"captured"}}
	tables := describe(t, dsn, cfg)
	st, _, _ := startStream(t, dsn, cfg, scfg, tables)
	start := confirmedLSN(t, dsn, scfg.Slot)
	testenv.ExecAllPostgres(t, dsn, `INSERT INTO busy (v) SELECT repeat('x', 100) FROM generate_series(1, 5000)`)
	conn, err := pgx.Connect(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var after pglogrepl.LSN
	if err := conn.QueryRow(testCtx(t), "SELECT pg_current_wal_insert_lsn()").Scan(&after); err != nil {
		t.Fatal(err)
	}
	// Acknowledge every checkpoint, as the pipeline does once written.
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	for {
		p, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("no keepalive checkpoint past %s: %v", after, err)
		}
		if len(p.Batches) > 0 {
			t.Fatalf("changes of an uncaptured table: %v", p.Batches)
		}
		if err := st.Ack(ctx, p.Checkpoint); err != nil {
			t.Fatal(err)
		}
		if lsn, _ := pglogrepl.ParseLSN(string(p.Checkpoint)); lsn >= after {
			waitConfirmed(t, dsn, scfg.Slot, p.Checkpoint)
			break
		}
	}
	if got := confirmedLSN(t, dsn, scfg.Slot); got <= start {
		t.Errorf("confirmed position %s did not move from %s", got, start)
	}
}

func TestStreamToast(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE docs (id int PRIMARY KEY, title text, body text)`)
	cfg := Config{Tables: []string{"docs"}}
	tables := describe(t, dsn, cfg)
	_, _, err := SnapshotAndStream(testCtx(t), dsn, cfg, scfg, tables, func(change.Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "ALTER TABLE public.docs REPLICA IDENTITY FULL") {
		t.Fatalf("a table with TOASTable columns and the default replica identity: %v", err)
	}

	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE docs REPLICA IDENTITY FULL`,
		// Random text does not compress: 20 kB is stored out of line.
		`INSERT INTO docs SELECT 1, 'first', string_agg(md5(g::text), '') FROM generate_series(1, 640) g`)
	st, _, snap := startStream(t, dsn, cfg, scfg, tables)
	body := snap["docs"][0].After[2].(string)
	if len(body) != 640*32 {
		t.Fatalf("body of %d bytes", len(body))
	}
	testenv.ExecAllPostgres(t, dsn, `UPDATE docs SET title = 'second' WHERE id = 1`)
	got, _, cp := collectChanges(t, st, 1)
	if got[0].After[1] != "second" || got[0].After[2] != body {
		t.Errorf("update that left the TOASTed body unchanged: title %v, body of %d bytes (want %d)", got[0].After[1], len(fmt.Sprint(got[0].After[2])), len(body))
	}
	if err := st.Ack(testCtx(t), cp); err != nil {
		t.Fatal(err)
	}

	// With toast: unchanged and the default identity, the value is marked
	// Unchanged (a view reading it dead-letters the row), never null.
	st.Close()
	waitConfirmed(t, dsn, scfg.Slot, cp)
	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE docs REPLICA IDENTITY DEFAULT`)
	scfg.Toast = ToastUnchanged
	st2, err := OpenStream(testCtx(t), dsn, scfg, tables, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	testenv.ExecAllPostgres(t, dsn, `UPDATE docs SET title = 'third' WHERE id = 1`)
	got, _, _ = collectChanges(t, st2, 1)
	if got[0].After[1] != "third" || !change.IsUnchanged(got[0].After[2]) {
		t.Errorf("toast unchanged: title %v, body unchanged %v", got[0].After[1], change.IsUnchanged(got[0].After[2]))
	}
}

func TestStreamSchemaChange(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE s (id int PRIMARY KEY, a int, b int)`, `INSERT INTO s VALUES (1, 1, 1)`)
	cfg := Config{Tables: []string{"s"}}
	tables := describe(t, dsn, cfg)
	st, _, _ := startStream(t, dsn, cfg, scfg, tables)
	testenv.ExecAllPostgres(t, dsn,
		`INSERT INTO s VALUES (2, 2, 2)`,
		`ALTER TABLE s ADD COLUMN c text`,
		`INSERT INTO s VALUES (3, 3, 3, 'three')`,
		`ALTER TABLE s DROP COLUMN a`,
		`INSERT INTO s VALUES (4, 4, 'four')`)
	got, gotTables, _ := collectChanges(t, st, 3)
	names := func(tb *change.Table) string {
		var s []string
		for _, c := range tb.Columns {
			s = append(s, c.Name)
		}
		return strings.Join(s, ",")
	}
	if gotTables[0] != tables[0] {
		t.Errorf("unchanged schema: a new table %s", names(gotTables[0]))
	}
	if n := names(gotTables[1]); n != "id,a,b,c" || got[1].After[3] != "three" {
		t.Errorf("after ADD COLUMN: columns %s, row %v", n, got[1].After)
	}
	if n := names(gotTables[2]); n != "id,b,c" || got[2].After[2] != "four" || gotTables[2].Key[0] != 0 {
		t.Errorf("after DROP COLUMN: columns %s, row %v", n, got[2].After)
	}
}

func TestStreamTruncate(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE tr (id int PRIMARY KEY)`, `INSERT INTO tr VALUES (1)`)
	cfg := Config{Tables: []string{"tr"}}
	tables := describe(t, dsn, cfg)
	st, _, _ := startStream(t, dsn, cfg, scfg, tables)
	testenv.ExecAllPostgres(t, dsn, `TRUNCATE tr`, `INSERT INTO tr VALUES (2)`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, err = st.Next(ctx)
	}
	if !strings.Contains(err.Error(), "public.tr was truncated") || !strings.Contains(err.Error(), "--snapshot always") {
		t.Errorf("truncate under fail: %v", err)
	}
	st.Close()

	scfg.Truncate = TruncateIgnore
	st2, err := OpenStream(testCtx(t), dsn, scfg, tables, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	got, _, _ := collectChanges(t, st2, 1)
	if got[0].Key[0] != int64(2) {
		t.Errorf("after an ignored truncate: %v", got[0])
	}
}

func TestStreamNeedsReplicationRole(t *testing.T) {
	dsn, scfg := streamDB(t, `CREATE TABLE n (id int PRIMARY KEY)`)
	user := testenv.UniqueName("norepl")
	testenv.ExecAllPostgres(t, dsn, "CREATE ROLE "+user+" LOGIN", "GRANT SELECT ON n TO "+user)
	t.Cleanup(func() { testenv.ExecAllPostgres(t, dsn, "DROP OWNED BY "+user, "DROP ROLE "+user) })
	cc, _ := pgx.ParseConfig(dsn)
	udsn := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", user, cc.Host, cc.Port, cc.Database)
	tables := describe(t, udsn, Config{Tables: []string{"n"}})
	_, err := OpenStream(testCtx(t), udsn, scfg, tables, "")
	if err == nil || !strings.Contains(err.Error(), "ALTER ROLE "+user+" REPLICATION") {
		t.Errorf("a role without REPLICATION: %v", err)
	}
}
