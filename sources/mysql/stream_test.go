package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// streamDB returns a fresh database for a stream test; the tests need the
// binlog server of BEAMSYNC_TEST_MYSQL_DSN and skip without it.
func streamDB(t *testing.T) string {
	t.Helper()
	if os.Getenv("BEAMSYNC_TEST_MYSQL_DSN") == "" {
		t.Skip("BEAMSYNC_TEST_MYSQL_DSN is not set: binlog stream tests need a MariaDB/MySQL server with a row binlog")
	}
	return testenv.NewMySQLDB(t)
}

// streamCfg is a stream configuration with a server id of its own per test.
func streamCfg(t *testing.T) StreamConfig {
	return StreamConfig{Name: t.Name(), Heartbeat: 500 * time.Millisecond}
}

// masterPos is the server's current binlog coordinate.
func masterPos(t testing.TB, db *sql.DB) checkpointAt {
	t.Helper()
	var file, pos string
	var a, b, c sql.NullString
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b); err != nil {
		if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b, &c); err != nil {
			t.Fatal(err)
		}
	}
	var p uint64
	fmt.Sscan(pos, &p)
	return checkpointAt{file: file, pos: p}
}

func cpAt(t testing.TB, cp change.Checkpoint) checkpointAt {
	t.Helper()
	f, p, _, err := parseCheckpoint(cp)
	if err != nil || f == "" {
		t.Fatalf("checkpoint %q: %v", cp, err)
	}
	return checkpointAt{file: f, pos: p}
}

// streamed is what a test read from a stream.
type streamed struct {
	progress []change.Progress
	changes  []tableChange
}

type tableChange struct {
	table *change.Table
	change.Change
}

// readUntil reads the stream until its checkpoint reaches target (or the
// deadline), checking the Progress invariants on the way.
func readUntil(t *testing.T, st change.Stream, target checkpointAt, out *streamed) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var prev checkpointAt
	if n := len(out.progress); n > 0 {
		prev = cpAt(t, out.progress[n-1].Checkpoint)
	}
	for {
		p, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v (reading until %v)", err, target)
		}
		if p.Checkpoint == "" {
			t.Fatal("Progress without checkpoint")
		}
		at := cpAt(t, p.Checkpoint)
		if prev.after(at) {
			t.Fatalf("checkpoint went back from %v to %v", prev, at)
		}
		prev = at
		for _, b := range p.Batches {
			if len(b.Changes) == 0 {
				t.Errorf("empty batch of %s", b.Table.QualifiedName())
			}
			for _, c := range b.Changes {
				out.changes = append(out.changes, tableChange{b.Table, c})
			}
		}
		for _, d := range p.DeadLetters {
			t.Errorf("dead letter: %+v", d)
		}
		out.progress = append(out.progress, p)
		if !target.after(at) {
			return
		}
	}
}

func openTestStream(t *testing.T, dsn string, cfg Config, scfg StreamConfig, from change.Checkpoint) (change.Stream, []*change.Table) {
	t.Helper()
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStream(context.Background(), dsn, cfg, scfg, tables, from)
	if err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, tables
}

func TestStreamChanges(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`,
		`CREATE TABLE b (k1 INT NOT NULL, k2 VARCHAR(10) NOT NULL, n DECIMAL(10,2), PRIMARY KEY (k1, k2))`,
		`CREATE TABLE other (id INT PRIMARY KEY)`,
		`INSERT INTO a VALUES (1, 'one'), (2, 'two')`,
		`INSERT INTO b VALUES (1, 'x', 1.50)`)
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"a", "b"}}
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap := map[string]int{}
	st, info, err := SnapshotAndStream(context.Background(), dsn, cfg, streamCfg(t), tables, func(b change.Batch) error {
		snap[b.Table.Name] += len(b.Changes)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if snap["a"] != 2 || snap["b"] != 1 {
		t.Fatalf("snapshot rows %v", snap)
	}

	tx := func(stmts ...string) {
		t.Helper()
		x, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if _, err := x.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		if err := x.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now().Add(-2 * time.Second)
	tx("INSERT INTO a VALUES (10, 'ten')", "INSERT INTO b VALUES (2, 'y', NULL)", "UPDATE a SET v = 'uno' WHERE id = 1", "INSERT INTO other VALUES (1)")
	mid := masterPos(t, db)
	tx("DELETE FROM a WHERE id = 2", "UPDATE b SET k2 = 'z', n = 9.99 WHERE k1 = 1", "UPDATE a SET v = 'TEN' WHERE id = 10")
	end := masterPos(t, db)

	var got streamed
	readUntil(t, st, end, &got)

	type want struct {
		table         string
		op            change.Op
		key           []any
		before, after []any
	}
	wants := []want{
		{"a", change.OpCreate, []any{int64(10)}, nil, []any{int64(10), "ten"}},
		{"b", change.OpCreate, []any{int64(2), "y"}, nil, []any{int64(2), "y", nil}},
		{"a", change.OpUpdate, []any{int64(1)}, []any{int64(1), "one"}, []any{int64(1), "uno"}},
		{"a", change.OpDelete, []any{int64(2)}, []any{int64(2), "two"}, nil},
		{"b", change.OpDelete, []any{int64(1), "x"}, []any{int64(1), "x", change.Decimal("1.50")}, nil},
		{"b", change.OpCreate, []any{int64(1), "z"}, nil, []any{int64(1), "z", change.Decimal("9.99")}},
		{"a", change.OpUpdate, []any{int64(10)}, []any{int64(10), "ten"}, []any{int64(10), "TEN"}},
	}
	if len(got.changes) != len(wants) {
		for _, c := range got.changes {
			t.Logf("%s %v %v %v -> %v", c.table.Name, c.Op, c.Key, c.Before, c.After)
		}
		t.Fatalf("%d changes, want %d", len(got.changes), len(wants))
	}
	lastPos := info.Position
	perKey := map[string]change.Position{}
	for i, w := range wants {
		c := got.changes[i]
		if c.table.Name != w.table || c.Op != w.op || !reflect.DeepEqual(c.Key, w.key) || !reflect.DeepEqual(c.Before, w.before) || !reflect.DeepEqual(c.After, w.after) {
			t.Errorf("change %d: %s %v key %v %v -> %v; want %s %v key %v %v -> %v", i, c.table.Name, c.Op, c.Key, c.Before, c.After, w.table, w.op, w.key, w.before, w.after)
		}
		if c.Position <= info.Position || c.Position < lastPos {
			t.Errorf("change %d: position %v after %v (snapshot %v)", i, c.Position, lastPos, info.Position)
		}
		lastPos = c.Position
		k := c.table.Name + change.KeyString(c.Key)
		if p, ok := perKey[k]; ok && c.Position <= p {
			t.Errorf("change %d: position %v of key %s not after %v", i, c.Position, k, p)
		}
		perKey[k] = c.Position
		if c.CommitTime.Before(before) || c.CommitTime.After(time.Now().Add(2*time.Second)) || c.CommitTime.Location() != time.UTC {
			t.Errorf("change %d: commit time %v", i, c.CommitTime)
		}
		// Every statement changed one row: each change is row 1 of the
		// rows event that starts at its SourcePos.
		sp := cpAt(t, change.Checkpoint(c.SourcePos))
		if want, err := change.BinlogPosition(sp.file, sp.pos, 1); err != nil || c.Position != want {
			t.Errorf("change %d: position %v, want row 1 of the event at %s (%v)", i, c.Position, c.SourcePos, want)
		}
		if c.table != tables[0] && c.table != tables[1] {
			t.Errorf("change %d: a new table schema without DDL", i)
		}
	}
	// The checkpoints are transaction boundaries: the one that ends the
	// first transaction's changes (when reported apart) is where the
	// second begins, and the last is the server's position.
	last := got.progress[len(got.progress)-1]
	if cpAt(t, last.Checkpoint) != end {
		t.Errorf("last checkpoint %s, server at %v", last.Checkpoint, end)
	}
	n := 0
	for _, p := range got.progress {
		for _, b := range p.Batches {
			n += len(b.Changes)
		}
		at := cpAt(t, p.Checkpoint)
		switch {
		case n == 3 && at != mid:
			t.Errorf("checkpoint after the first transaction %v, want %v", at, mid)
		case n > 0 && n < 3, n > 3 && n < len(wants):
			t.Errorf("a Progress ends inside a transaction, after %d changes", n)
		}
		for i := 1; i < len(p.Batches); i++ {
			if p.Batches[i].Table == p.Batches[i-1].Table {
				t.Errorf("consecutive batches of one table not merged")
			}
		}
	}
}

// TestStreamTypesMatchSnapshot writes the rows of the type fixture through
// the binlog and compares the stream's images with the snapshot's values.
func TestStreamTypesMatchSnapshot(t *testing.T) {
	dsn := streamDB(t)
	execSQLFile(t, dsn, "../../testdata/mysql/types.sql")
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE extra (id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1, g POINT, ls LINESTRING, t0 TIME, bn BINARY(4), b64 BIT(64),
			su SMALLINT UNSIGNED, mu MEDIUMINT UNSIGNED, iu INT UNSIGNED, e ENUM('it''s', 'b\\c', 'ü'), st SET('a', 'b''', 'c'),
			d3 DATETIME(3), ts0 TIMESTAMP NULL, tm3 TIME(3), ch CHAR(3) CHARACTER SET latin1, mp MULTIPOLYGON)`,
		`INSERT INTO extra VALUES (1, 'Ä€é', ST_GeomFromText('POINT(1.5 -2)'), ST_GeomFromText('LINESTRING(0 0,1 1,2 0.25)'), '-01:02:03', x'0100', b'1111111111111111111111111111111111111111111111111111111111111111',
			65535, 16777215, 4294967295, 'it''s', 'a,b''', '2024-01-02 03:04:05.678', FROM_UNIXTIME(1700000000), '-00:00:01.5', 'é ', ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))')),
			(2, NULL, NULL, NULL, '00:00:00', x'', b'0', 0, 0, 0, 'b\\c', '', '1000-01-01 00:00:00', NULL, '00:00:00', '', NULL),
			(3, '', NULL, NULL, '838:59:59', x'FFFFFFFF', b'1', 1, 1, 1, 'ü', 'c', NULL, FROM_UNIXTIME(1), '00:00:00.001', NULL, NULL)`,
		`CREATE TABLE all_types_copy LIKE all_types`, `INSERT INTO all_types_copy SELECT * FROM all_types`,
		`CREATE TABLE extra_copy LIKE extra`, `INSERT INTO extra_copy SELECT * FROM extra`)
	db := openDB(t, dsn)
	res, _ := runSnapshot(t, dsn, Config{Tables: []string{"all_types", "extra"}})
	st, tables := openTestStream(t, dsn, Config{Tables: []string{"all_types", "extra"}}, streamCfg(t), "")
	testenv.ExecAllMySQL(t, dsn,
		`DELETE FROM all_types`, `INSERT INTO all_types SELECT * FROM all_types_copy`,
		`DELETE FROM extra`, `INSERT INTO extra SELECT * FROM extra_copy`)
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)

	for _, tb := range tables {
		snap := map[int64][]any{}
		for _, c := range res.rows[tb.QualifiedName()] {
			snap[c.After[0].(int64)] = c.After
		}
		seen := map[change.Op]int{}
		for _, c := range got.changes {
			if c.table.Name != tb.Name {
				continue
			}
			if c.table != tb {
				t.Errorf("%s: a new table schema without DDL: %+v", tb.Name, c.table)
			}
			img := c.Row()
			id := img[0].(int64)
			seen[c.Op]++
			want := snap[id]
			for i := range tb.Columns {
				if !sameValue(img[i], want[i]) {
					t.Errorf("%s row %d %s (%v): stream %T %#v, snapshot %T %#v", tb.Name, id, tb.Columns[i].Name, c.Op, img[i], img[i], want[i], want[i])
				}
			}
		}
		if seen[change.OpDelete] != len(snap) || seen[change.OpCreate] != len(snap) {
			t.Errorf("%s: %v changes for %d rows", tb.Name, seen, len(snap))
		}
	}
}

// TestStreamHandoffUnderLoad runs a writer through SnapshotAndStream: the
// snapshot plus the stream, applied by key with the position guard, must
// equal the table.
func TestStreamHandoffUnderLoad(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE acct (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20))`,
		`INSERT INTO acct `+seqCTE+` SELECT n, n, 'init' FROM seq`)
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"acct"}, ChunkSize: 100, Parallelism: 3}
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := r.IntN(1500)
				var err error
				switch r.IntN(4) {
				case 0:
					_, err = db.Exec("INSERT INTO acct VALUES (?, ?, 'ins') ON DUPLICATE KEY UPDATE v = v + 1, note = 'dup'", id, id)
				case 1:
					_, err = db.Exec("UPDATE acct SET v = v * 2, note = NULL WHERE id = ?", id)
				case 2:
					_, err = db.Exec("DELETE FROM acct WHERE id = ?", id)
				case 3:
					_, err = db.Exec("UPDATE acct SET id = id + 1500 WHERE id = ?", id)
				}
				if err != nil && !strings.Contains(err.Error(), "Duplicate") && !strings.Contains(err.Error(), "Deadlock") {
					t.Errorf("writer: %v", err)
					return
				}
				writes.Add(1)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)

	type row struct {
		pos     change.Position
		deleted bool
		v       int64
		note    any
	}
	state := map[int64]row{}
	apply := func(c change.Change) {
		id := c.Key[0].(int64)
		if old, ok := state[id]; ok && old.pos >= c.Position && c.Op != change.OpRead {
			return
		}
		if c.Op == change.OpDelete {
			state[id] = row{pos: c.Position, deleted: true}
			return
		}
		state[id] = row{pos: c.Position, v: c.After[1].(int64), note: c.After[2]}
	}
	st, info, err := SnapshotAndStream(context.Background(), dsn, cfg, streamCfg(t), tables, func(b change.Batch) error {
		for _, c := range b.Changes {
			apply(c)
		}
		return nil
	})
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	defer st.Close()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	for _, c := range got.changes {
		if c.Position <= info.Position {
			t.Fatalf("change at %v not after the snapshot %v", c.Position, info.Position)
		}
		apply(c.Change)
	}

	want := map[int64]row{}
	rows, err := db.Query("SELECT id, v, note FROM acct")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, v int64
		var note sql.NullString
		if err := rows.Scan(&id, &v, &note); err != nil {
			t.Fatal(err)
		}
		r := row{v: v}
		if note.Valid {
			r.note = note.String
		}
		want[id] = r
	}
	rows.Close()
	live := 0
	for id, r := range state {
		if r.deleted {
			continue
		}
		live++
		w, ok := want[id]
		if !ok || w.v != r.v || !reflect.DeepEqual(w.note, r.note) {
			t.Errorf("id %d: applied %+v, table %+v (present %v)", id, r, w, ok)
		}
	}
	if live != len(want) {
		t.Errorf("%d rows applied, %d in the table", live, len(want))
	}
	t.Logf("%d writes, %d streamed changes in %d progress reports", writes.Load(), len(got.changes), len(got.progress))
}

// TestStreamResume acknowledges a checkpoint in the middle, reopens from
// it and expects exactly the changes after it.
func TestStreamResume(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY, v INT)`)
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"t"}}
	scfg := streamCfg(t)
	st, tables := openTestStream(t, dsn, cfg, scfg, "")
	var got streamed
	for i := 1; i <= 8; i++ {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", i, i*10); err != nil {
			t.Fatal(err)
		}
		readUntil(t, st, masterPos(t, db), &got)
	}
	if len(got.changes) != 8 {
		t.Fatalf("%d changes", len(got.changes))
	}
	// The Progress that ends with the insert of id 4.
	var cp change.Checkpoint
	n := 0
	for _, p := range got.progress {
		for _, b := range p.Batches {
			n += len(b.Changes)
		}
		if n == 4 {
			cp = p.Checkpoint
			break
		}
	}
	if cp == "" {
		t.Fatal("no checkpoint right after the 4th insert")
	}
	if err := st.Ack(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	if err := st.Ack(context.Background(), got.progress[0].Checkpoint); err != nil { // older: a no-op
		t.Fatal(err)
	}
	if a := st.(*binlogStream).Acked(); a != cp {
		t.Errorf("acked %q, want %q", a, cp)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(context.Background()); err == nil {
		t.Error("Next after Close: no error")
	}
	st.Close() // twice is fine

	st2, err := OpenStream(context.Background(), dsn, cfg, scfg, tables, cp)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var again streamed
	readUntil(t, st2, masterPos(t, db), &again)
	if len(again.changes) != 4 {
		t.Fatalf("%d changes after the checkpoint, want 4", len(again.changes))
	}
	for i, c := range again.changes {
		w := got.changes[4+i]
		if c.Op != w.Op || !reflect.DeepEqual(c.After, w.After) || c.Position != w.Position || c.SourcePos != w.SourcePos {
			t.Errorf("after resume, change %d: %v %v at %v, first read %v %v at %v", i, c.Op, c.After, c.Position, w.Op, w.After, w.Position)
		}
	}
}

func TestStreamRotation(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`)
	db := openDB(t, dsn)
	st, _ := openTestStream(t, dsn, Config{Tables: []string{"t"}}, streamCfg(t), "")
	testenv.ExecAllMySQL(t, dsn, "INSERT INTO t VALUES (1)")
	first := masterPos(t, db)
	testenv.ExecAllMySQL(t, dsn, "FLUSH BINARY LOGS", "INSERT INTO t VALUES (2)")
	second := masterPos(t, db)
	if second.file == first.file {
		t.Fatalf("FLUSH BINARY LOGS did not rotate: %v", second)
	}
	var got streamed
	readUntil(t, st, second, &got)
	if len(got.changes) != 2 {
		t.Fatalf("%d changes", len(got.changes))
	}
	if !strings.HasPrefix(got.changes[0].SourcePos, first.file+":") || !strings.HasPrefix(got.changes[1].SourcePos, second.file+":") {
		t.Errorf("source positions %q, %q; files %s, %s", got.changes[0].SourcePos, got.changes[1].SourcePos, first.file, second.file)
	}
	if got.changes[1].Position <= got.changes[0].Position {
		t.Errorf("positions %v then %v", got.changes[0].Position, got.changes[1].Position)
	}
	if last := cpAt(t, got.progress[len(got.progress)-1].Checkpoint); last.file != second.file {
		t.Errorf("checkpoint %v after the rotation to %s", last, second.file)
	}
}

func TestStreamDDL(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))`)
	db := openDB(t, dsn)
	st, tables := openTestStream(t, dsn, Config{Tables: []string{"t"}}, streamCfg(t), "")
	testenv.ExecAllMySQL(t, dsn,
		"INSERT INTO t VALUES (1, 'a')",
		"ALTER TABLE t ADD COLUMN c DECIMAL(6,1) NOT NULL DEFAULT 7",
		"INSERT INTO t VALUES (2, 'b', 5.5)",
		"ALTER TABLE t DROP COLUMN v",
		"UPDATE t SET c = 8 WHERE id = 1",
		"ALTER TABLE t MODIFY c VARCHAR(12)",
		"INSERT INTO t VALUES (3, 'x')")
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	if len(got.changes) != 4 {
		t.Fatalf("%d changes", len(got.changes))
	}
	c0, c1, c2 := got.changes[0], got.changes[1], got.changes[2]
	if c0.table != tables[0] {
		t.Errorf("the first change has a new table before any DDL")
	}
	if names := columnNames(c1.table); !reflect.DeepEqual(names, []string{"id", "v", "c"}) || c1.table.Database != tables[0].Database || c1.table.Name != "t" || !reflect.DeepEqual(c1.table.Key, []int{0}) {
		t.Errorf("after ADD COLUMN: table %+v", c1.table)
	} else if !reflect.DeepEqual(c1.After, []any{int64(2), "b", change.Decimal("5.5")}) || c1.table.Columns[2].Kind != change.KindDecimal {
		t.Errorf("after ADD COLUMN: row %v, column %+v", c1.After, c1.table.Columns[2])
	}
	if names := columnNames(c2.table); !reflect.DeepEqual(names, []string{"id", "c"}) {
		t.Errorf("after DROP COLUMN: columns %v", names)
	} else if !reflect.DeepEqual(c2.Before, []any{int64(1), change.Decimal("7.0")}) || !reflect.DeepEqual(c2.After, []any{int64(1), change.Decimal("8.0")}) {
		t.Errorf("after DROP COLUMN: %v -> %v", c2.Before, c2.After)
	}
	c3 := got.changes[3]
	if c3.table == c2.table || c3.table.Columns[1].Kind != change.KindString || !reflect.DeepEqual(c3.After, []any{int64(3), "x"}) {
		t.Errorf("after MODIFY: table %+v, row %v", c3.table, c3.After)
	}

	// A captured table renamed away ends the stream with an error naming it.
	testenv.ExecAllMySQL(t, dsn, "RENAME TABLE t TO t_old")
	err := nextError(t, st)
	if !strings.Contains(err.Error(), tables[0].QualifiedName()+" after") || !strings.Contains(err.Error(), "RENAME") {
		t.Errorf("rename: %v", err)
	}
}

func TestStreamDropTable(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY, v INT)`, `CREATE TABLE u (id INT PRIMARY KEY)`)
	db := openDB(t, dsn)
	st, _ := openTestStream(t, dsn, Config{Tables: []string{"t"}}, streamCfg(t), "")
	// Other tables, and DDL that leaves t in place, do not stop the stream.
	testenv.ExecAllMySQL(t, dsn, "CREATE INDEX iv ON t (v)", "DROP INDEX iv ON t", "DROP TABLE u /* not t */", "INSERT INTO t VALUES (1, 1)")
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	if len(got.changes) != 1 {
		t.Fatalf("%d changes", len(got.changes))
	}
	testenv.ExecAllMySQL(t, dsn, "DROP TABLE t")
	err := nextError(t, st)
	if !strings.Contains(err.Error(), dbName(t, dsn)+".t was dropped") {
		t.Errorf("error %v does not say the table was dropped", err)
	}

	// Dropping the captured table's database.
	dsn2 := streamDB(t)
	testenv.ExecAllMySQL(t, dsn2, `CREATE TABLE w (id INT PRIMARY KEY)`)
	scfg := streamCfg(t)
	scfg.Name += "-db"
	st2, _ := openTestStream(t, dsn2, Config{Tables: []string{"w"}}, scfg, "")
	testenv.ExecAllMySQL(t, dsn, "DROP DATABASE "+dbName(t, dsn2))
	err = nextError(t, st2)
	if !strings.Contains(err.Error(), "database of captured table "+dbName(t, dsn2)+".w was dropped") {
		t.Errorf("drop database: %v", err)
	}
}

// nextError reads until Next fails.
func nextError(t *testing.T, st change.Stream) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := st.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("no error from Next")
			}
			return err
		}
	}
}

func TestStreamTruncate(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`, "INSERT INTO t VALUES (1)")
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"t"}}

	fail, _ := openTestStream(t, dsn, cfg, streamCfg(t), "")
	from := masterPos(t, db)
	testenv.ExecAllMySQL(t, dsn, "TRUNCATE TABLE t", "INSERT INTO t VALUES (2)")
	err := nextError(t, fail)
	if !strings.Contains(err.Error(), dbName(t, dsn)+".t was truncated") || !strings.Contains(err.Error(), "--snapshot always") {
		t.Errorf("truncate under fail: %v", err)
	}
	fail.Close()

	scfg := streamCfg(t)
	scfg.Truncate = TruncateIgnore
	ign, _ := openTestStream(t, dsn, cfg, scfg, change.Checkpoint(sourcePos(from.file, from.pos)))
	var got streamed
	readUntil(t, ign, masterPos(t, db), &got)
	if len(got.changes) != 1 || got.changes[0].After[0] != int64(2) {
		t.Errorf("truncate under ignore: changes %v", got.changes)
	}
}

func TestStreamIdleHeartbeats(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`, `CREATE TABLE other (id INT PRIMARY KEY)`)
	db := openDB(t, dsn)
	scfg := streamCfg(t)
	scfg.Heartbeat = 200 * time.Millisecond
	st, _ := openTestStream(t, dsn, Config{Tables: []string{"t"}}, scfg, "")
	var got streamed
	for i := range 5 {
		if _, err := db.Exec("INSERT INTO other VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
		readUntil(t, st, masterPos(t, db), &got)
	}
	if len(got.changes) != 0 {
		t.Errorf("%d changes of tables not captured", len(got.changes))
	}
	var prev checkpointAt
	distinct := 0
	for _, p := range got.progress {
		if len(p.Batches) != 0 || !p.CommitTime.IsZero() {
			t.Errorf("idle progress %+v", p)
		}
		if at := cpAt(t, p.Checkpoint); at.after(prev) {
			distinct++
			prev = at
		}
	}
	if distinct < 5 {
		t.Errorf("%d distinct checkpoints for 5 transactions of other tables", distinct)
	}
	// With nothing written at all, Next still returns when ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if p, err := st.Next(ctx); err == nil && len(p.Batches) != 0 {
		t.Errorf("idle: %+v", p)
	}
}

func TestStreamNeedsReplicationSlave(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`)
	user := testenv.UniqueName("norepl")
	admin := testenv.MySQLDSN()
	testenv.ExecAllMySQL(t, admin,
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'pw'", user),
		fmt.Sprintf("GRANT SELECT, RELOAD, LOCK TABLES, BINLOG MONITOR ON *.* TO '%s'@'%%'", user))
	t.Cleanup(func() { testenv.ExecAllMySQL(t, admin, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	dc, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dc.User, dc.Passwd = user, "pw"
	udsn := dc.FormatDSN()
	cfg := Config{Tables: []string{"t"}}
	tables, err := Describe(context.Background(), udsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStream(context.Background(), udsn, cfg, streamCfg(t), tables, "")
	if err == nil {
		st.Close()
		t.Fatal("a user without REPLICATION SLAVE opened the stream")
	}
	t.Logf("without REPLICATION SLAVE: %v", err)
	if !strings.Contains(err.Error(), "REPLICATION SLAVE") || !strings.Contains(err.Error(), "GRANT") || !strings.Contains(err.Error(), user) {
		t.Errorf("error does not name the grant: %v", err)
	}
	_, _, err = SnapshotAndStream(context.Background(), udsn, cfg, streamCfg(t), tables, func(change.Batch) error {
		t.Error("snapshot read without the grant to stream after it")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "REPLICATION SLAVE") {
		t.Errorf("SnapshotAndStream: %v", err)
	}
}

func TestStreamConfigAndSpec(t *testing.T) {
	if id := DerivedServerID("job"); id < serverIDBase || id >= serverIDBase+serverIDRange || id != DerivedServerID("job") {
		t.Errorf("derived server id %d", id)
	}
	if p := settingsProblems("1", "ROW", "FULL"); len(p) != 0 {
		t.Errorf("good settings refused: %v", p)
	}
	p := strings.Join(settingsProblems("0", "MIXED", "MINIMAL"), "; ")
	for _, want := range []string{"log_bin", "binlog_format is MIXED", "SET GLOBAL binlog_format = 'ROW'", "binlog_row_image is MINIMAL", "binlog_row_image = FULL in my.cnf"} {
		if !strings.Contains(p, want) {
			t.Errorf("settings advice %q lacks %q", p, want)
		}
	}
	bad := StreamConfig{Truncate: "drop", Heartbeat: -time.Second}
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "truncate") || !strings.Contains(err.Error(), "heartbeat") {
		t.Errorf("Validate: %v", err)
	}
	for _, cp := range []string{"binlog", "binlog.000001:x", "binlog.000001:1", "nodigits:100"} {
		if _, _, _, err := parseCheckpoint(change.Checkpoint(cp)); err == nil {
			t.Errorf("checkpoint %q accepted", cp)
		}
	}
	if f, p, _, err := parseCheckpoint("mysql-bin.000003:1234"); f != "mysql-bin.000003" || p != 1234 || err != nil {
		t.Errorf("parse: %s %d %v", f, p, err)
	}
	if _, _, g, err := parseCheckpoint("0-1-42"); g != "0-1-42" || err != nil {
		t.Errorf("gtid: %q %v", g, err)
	}
	tb := &change.Table{Database: "d", Name: "t", Columns: []change.Column{{Name: "id", Type: "int(11)", Kind: change.KindInt}}, Key: []int{0}}
	spec, err := StreamSpecJSON("DSN_VAR", Config{Tables: []string{"d.t"}}, StreamConfig{Name: "j", Heartbeat: 2 * time.Second, Truncate: "ignore"}, []*change.Table{tb})
	if err != nil {
		t.Fatal(err)
	}
	s, cfg, scfg, err := parseStreamSpec(spec)
	if err != nil || s.DSNEnv != "DSN_VAR" || cfg.Tables[0] != "d.t" || scfg.Heartbeat != 2*time.Second || scfg.Truncate != "ignore" || scfg.Name != "j" || !reflect.DeepEqual(s.Tables[0], tb) {
		t.Errorf("spec round trip: %+v %+v %+v %v", s, cfg, scfg, err)
	}
	t.Setenv("DSN_VAR_UNSET_FOR_TEST", "")
	spec2, _ := StreamSpecJSON("DSN_VAR_UNSET_FOR_TEST", Config{Tables: []string{"d.t"}}, StreamConfig{}, []*change.Table{tb})
	if _, err := openStream(context.Background(), spec2, "", nil); err == nil || !strings.Contains(err.Error(), "DSN_VAR_UNSET_FOR_TEST") {
		t.Errorf("unset DSN variable: %v", err)
	}
	for _, r := range statementNames("db", "DROP TABLE `u` /* generated by server */ -- t\n# t2\n") {
		if r.name != "DROP" && r.name != "TABLE" && r.name != "u" {
			t.Errorf("name %v from a comment", r)
		}
	}
	refs := statementNames("db", "ALTER TABLE `my``t`.x ADD COLUMN y INT, RENAME TO other.`z`")
	want := map[tableRef]bool{{db: "my`t", name: "x"}: true, {db: "other", name: "z"}: true}
	n := 0
	for _, r := range refs {
		if want[r] {
			n++
		}
	}
	if n != 2 {
		t.Errorf("names of the statement: %v", refs)
	}
}

// TestStreamCloseAndConnectionLoss: Close ends a Next blocked in another
// goroutine, and a killed binlog connection ends the stream with an error
// (it does not reconnect behind the caller's back).
func TestStreamCloseAndConnectionLoss(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`)
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"t"}}
	scfg := streamCfg(t)
	scfg.Heartbeat = time.Hour // no progress while idle
	st, _ := openTestStream(t, dsn, cfg, scfg, "")
	errc := make(chan error, 1)
	go func() {
		_, err := st.Next(context.Background())
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Next returned no error after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next still blocked after Close")
	}

	scfg.Name += "-2"
	st2, _ := openTestStream(t, dsn, cfg, scfg, "")
	// Kill this stream's binlog connection on the server.
	id := st2.(*binlogStream).syncer.LastConnectionID()
	if id == 0 {
		t.Fatal("no binlog connection id")
	}
	if _, err := db.Exec("KILL CONNECTION ?", id); err != nil {
		t.Fatal(err)
	}
	err := nextError(t, st2)
	t.Logf("after the kill: %v", err)
	if !strings.Contains(err.Error(), "connection") || !strings.Contains(err.Error(), "reopen the stream") {
		t.Errorf("connection loss: %v", err)
	}
	if _, err2 := st2.Next(context.Background()); err2 == nil {
		t.Error("Next after a failure: no error")
	}
}

// TestStreamXA: an XA transaction of another table is passed over; one of
// a captured table stops the stream with an error naming it.
func TestStreamXA(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY)`, `CREATE TABLE other (id INT PRIMARY KEY)`)
	db := openDB(t, dsn)
	st, _ := openTestStream(t, dsn, Config{Tables: []string{"t"}}, streamCfg(t), "")
	xa := func(table string, id int) {
		t.Helper()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, q := range []string{"XA START 'x1'", fmt.Sprintf("INSERT INTO %s VALUES (%d)", table, id), "XA END 'x1'", "XA PREPARE 'x1'", "XA COMMIT 'x1'"} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	xa("other", 1)
	testenv.ExecAllMySQL(t, dsn, "INSERT INTO t VALUES (1)")
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	if len(got.changes) != 1 || got.changes[0].After[0] != int64(1) {
		t.Fatalf("changes %v", got.changes)
	}
	xa("t", 2)
	err := nextError(t, st)
	if !strings.Contains(err.Error(), ".t at") || !strings.Contains(err.Error(), "XA") {
		t.Errorf("XA on a captured table: %v", err)
	}
}

// TestBinlogValueDecoding covers the conversions of go-mysql's values that
// the server tests reach only partly.
func TestStreamValueDecoding(t *testing.T) {
	tb := &change.Table{Columns: []change.Column{
		{Name: "tu", Type: "tinyint(3) unsigned", Kind: change.KindInt},
		{Name: "mu", Type: "mediumint(8) unsigned", Kind: change.KindInt},
		{Name: "bu", Type: "bigint(20) unsigned", Kind: change.KindInt},
		{Name: "e", Type: "enum('a','it''s','b\\\\c')", Kind: change.KindString},
		{Name: "s", Type: "set('x','y','z')", Kind: change.KindString},
		{Name: "bn", Type: "binary(4)", Kind: change.KindBytes},
		{Name: "tm", Type: "time(3)", Kind: change.KindTime},
		{Name: "f", Type: "float", Kind: change.KindFloat},
		{Name: "b1", Type: "bit(1)", Kind: change.KindBool},
		{Name: "b64", Type: "bit(64)", Kind: change.KindInt},
	}}
	cols := binColumns(tb)
	cases := []struct {
		col  int
		in   any
		want any
	}{
		{0, int8(-1), int64(255)},
		{1, int32(-1), int64(16777215)},
		{2, int64(-1), uint64(18446744073709551615)},
		{2, int64(5), int64(5)},
		{3, int64(2), "it's"},
		{3, int64(3), `b\c`},
		{3, int64(0), ""},
		{4, int64(5), "x,z"},
		{5, []byte{1}, []byte{1, 0, 0, 0}},
		{6, "00:00:00", change.TimeOfDay("00:00:00.000")},
		{6, "-01:00:00.500", change.TimeOfDay("-01:00:00.500")},
		{7, float32(0.1), 0.1},
		{8, int64(1), true},
		{9, int64(-1), uint64(18446744073709551615)},
		{0, nil, nil},
	}
	for _, c := range cases {
		got, err := binlogValue(&cols[c.col], c.in)
		if err != nil || !sameValue(got, c.want) {
			t.Errorf("%s %#v: %#v (%v), want %#v", cols[c.col].name, c.in, got, err, c.want)
		}
	}
	if _, err := binlogValue(&cols[3], int64(9)); err == nil || !strings.Contains(err.Error(), `"e"`) {
		t.Errorf("enum index out of range: %v", err)
	}
	if got := latin1String([]byte{'a', 0xC4, 0x80}); got != "aÄ€" {
		t.Errorf("latin1: %q", got)
	}
	// SRID 0, little-endian POINT(1 2).
	wkb := []byte{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40}
	if got, err := geometryWKT(wkb); err != nil || got != "POINT(1 2)" {
		t.Errorf("WKT %v %v", got, err)
	}
	if _, err := geometryWKT(wkb[:10]); err == nil {
		t.Error("truncated WKB accepted")
	}
}

// TestStreamOpener opens the registered "mysql" stream kind from its spec,
// as the pipeline does: the snapshot first, then the stream after it.
func TestStreamOpener(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE t (id INT PRIMARY KEY, v INT)`, "INSERT INTO t VALUES (1, 1)")
	db := openDB(t, dsn)
	cfg := Config{Tables: []string{"t"}}
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BEAMSYNC_TEST_STREAM_OPENER_DSN", dsn)
	spec, err := StreamSpecJSON("BEAMSYNC_TEST_STREAM_OPENER_DSN", cfg, streamCfg(t), tables)
	if err != nil {
		t.Fatal(err)
	}
	var snap []change.Change
	st, err := openStream(context.Background(), spec, "", func(b change.Batch) error {
		snap = append(snap, b.Changes...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(snap) != 1 || snap[0].Op != change.OpRead {
		t.Fatalf("snapshot %v", snap)
	}
	testenv.ExecAllMySQL(t, dsn, "UPDATE t SET v = 2 WHERE id = 1")
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	if len(got.changes) != 1 || got.changes[0].Op != change.OpUpdate || got.changes[0].Position <= snap[0].Position {
		t.Fatalf("stream %v after snapshot at %v", got.changes, snap[0].Position)
	}
	// Resuming from the checkpoint goes on after it.
	cp := got.progress[len(got.progress)-1].Checkpoint
	st.Close()
	testenv.ExecAllMySQL(t, dsn, "DELETE FROM t")
	st2, err := openStream(context.Background(), spec, cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var again streamed
	readUntil(t, st2, masterPos(t, db), &again)
	if len(again.changes) != 1 || again.changes[0].Op != change.OpDelete {
		t.Fatalf("after resume: %v", again.changes)
	}
}
