package mysql

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// seqCTE numbers 0..999.
const seqCTE = `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < 999) `

// createBig makes a table with a composite key (a, b) and gaps in both:
// 250 values of a (multiples of 7) × 1000 values of b (multiples of 3),
// less the rows with b % 11 = 0: 227,250 rows.
func createBig(t testing.TB, dsn string) {
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE big (a INT NOT NULL, b BIGINT NOT NULL, v INT NOT NULL, note VARCHAR(20) NOT NULL, PRIMARY KEY (a, b))`,
		`INSERT INTO big `+seqCTE+`, a AS (SELECT n FROM seq WHERE n < 250)
		SELECT a.n * 7, s.n * 3, a.n + s.n, CONCAT('r', a.n, '-', s.n) FROM a, seq s`,
		`DELETE FROM big WHERE b % 11 = 0`)
}

type bigKey struct{ a, b int64 }
type bigRow struct {
	v    int64
	note string
}

func readBig(t testing.TB, dsn string) map[bigKey]bigRow {
	t.Helper()
	db := openDB(t, dsn)
	rows, err := db.Query("SELECT a, b, v, note FROM big")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[bigKey]bigRow{}
	for rows.Next() {
		var k bigKey
		var r bigRow
		if err := rows.Scan(&k.a, &k.b, &r.v, &r.note); err != nil {
			t.Fatal(err)
		}
		m[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParallelSnapshot(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	createBig(t, dsn)
	want := readBig(t, dsn)
	if len(want) < 200000 {
		t.Fatalf("only %d rows", len(want))
	}
	db := openDB(t, dsn)

	var (
		hookCalled atomic.Bool
		stopWriter = make(chan struct{})
		writerDone = make(chan struct{})
		writes     atomic.Int64
	)
	cfg := Config{Tables: []string{"big"}, Parallelism: 4, ChunkSize: 5000, BatchSize: 1000}
	cfg.OnSnapshot = func() {
		hookCalled.Store(true)
		// Right after the consistent point: change rows everywhere in the
		// key space before any is read...
		for _, q := range []string{
			"UPDATE big SET v = v + 1000000 WHERE b < 300",
			"DELETE FROM big WHERE a = 700",
			"INSERT INTO big VALUES (8, 8, 1, 'new'), (100000, 1, 1, 'new'), (-1, 0, 1, 'new')",
			"UPDATE big SET note = 'changed' WHERE a > 1500",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
		// ...and keep changing them while the readers read.
		go func() {
			defer close(writerDone)
			r := rand.New(rand.NewPCG(1, 2))
			for i := 0; ; i++ {
				select {
				case <-stopWriter:
					return
				default:
				}
				a := int64(r.IntN(250)) * 7
				if _, err := db.Exec("UPDATE big SET v = -v WHERE a = ? AND b < 600", a); err != nil {
					t.Errorf("writer: %v", err)
					return
				}
				if _, err := db.Exec("DELETE FROM big WHERE a = ? AND b = ?", a, int64(r.IntN(1000))*3); err != nil {
					t.Errorf("writer: %v", err)
					return
				}
				writes.Add(1)
			}
		}()
	}

	ctx := context.Background()
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[bigKey]bool, len(want))
	batches := 0
	info, err := Snapshot(ctx, dsn, cfg, tables, func(b change.Batch) error {
		batches++
		if len(b.Changes) > cfg.BatchSize {
			t.Errorf("batch of %d rows", len(b.Changes))
		}
		for _, ch := range b.Changes {
			k := bigKey{ch.After[0].(int64), ch.After[1].(int64)}
			if seen[k] {
				t.Fatalf("row %v emitted twice", k)
			}
			seen[k] = true
			w, ok := want[k]
			got := bigRow{ch.After[2].(int64), ch.After[3].(string)}
			if !ok || got != w {
				t.Fatalf("row %v = %+v, state at the snapshot %+v (present %v)", k, got, w, ok)
			}
		}
		return nil
	})
	close(stopWriter)
	if hookCalled.Load() {
		<-writerDone
	}
	if err != nil {
		t.Fatal(err)
	}
	if !hookCalled.Load() {
		t.Fatal("OnSnapshot not called")
	}
	if len(seen) != len(want) || info.Rows["big"] != 0 && info.Rows[tables[0].QualifiedName()] != int64(len(want)) {
		t.Fatalf("%d rows emitted, info %v, want %d", len(seen), info.Rows, len(want))
	}
	if info.Rows[tables[0].QualifiedName()] != int64(len(want)) {
		t.Fatalf("info.Rows %v, want %d", info.Rows, len(want))
	}
	if writes.Load() == 0 {
		t.Log("the concurrent writer did not get to write during the read")
	}
	t.Logf("%d rows in %d batches; %d concurrent write rounds", len(seen), batches, writes.Load())
}

// TestSnapshotAgainstWriter runs a writer through the snapshot whose every
// transaction changes rows across the key space of one table and logs its
// number in another. All readers must see the same prefix of the writer's
// transactions in both tables.
func TestSnapshotAgainstWriter(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE acct (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, bal BIGINT NOT NULL, txn INT NOT NULL)`,
		`INSERT INTO acct `+seqCTE+`, s2 AS (SELECT n FROM seq WHERE n < 20) SELECT (a.n * 1000 + s2.n) * 1000003, 100, 0 FROM seq a, s2`,
		`CREATE TABLE wlog (txn INT NOT NULL PRIMARY KEY)`)
	initial := map[uint64]int64{}
	db := openDB(t, dsn)
	rows, err := db.Query("SELECT id FROM acct")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		rows.Scan(&id)
		initial[id] = 0
	}
	rows.Close()
	ids := make([]uint64, 0, len(initial))
	for id := range initial {
		ids = append(ids, id)
	}

	// Transaction i moves 1 from one account to another (ids spread over
	// the whole table) and records i.
	var moves sync.Map // txn → [2]uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	started := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewPCG(3, 4))
		for i := 1; ; i++ {
			from, to := ids[r.IntN(len(ids))], ids[r.IntN(len(ids))]
			for from == to {
				to = ids[r.IntN(len(ids))]
			}
			moves.Store(i, [2]uint64{from, to})
			tx, err := db.Begin()
			if err == nil {
				_, err = tx.Exec("UPDATE acct SET bal = bal - 1, txn = ? WHERE id = ?", i, from)
			}
			if err == nil {
				_, err = tx.Exec("UPDATE acct SET bal = bal + 1, txn = ? WHERE id = ?", i, to)
			}
			if err == nil {
				_, err = tx.Exec("INSERT INTO wlog VALUES (?)", i)
			}
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			if i == 50 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	<-started

	res, tables := runSnapshot(t, dsn, Config{Tables: []string{"acct", "wlog"}, Parallelism: 4, ChunkSize: 500, BatchSize: 100})
	close(stop)
	<-done

	// The logged transactions are a prefix 1..k of the writer's.
	var k int64
	logged := map[int64]bool{}
	for _, ch := range res.rows[tables[1].QualifiedName()] {
		logged[ch.After[0].(int64)] = true
	}
	for k = 0; logged[k+1]; k++ {
	}
	if int(k) != len(logged) || k < 50 {
		t.Fatalf("logged transactions are not a prefix of at least 50: %d of %d", k, len(logged))
	}
	// Apply them to the initial state: it must be exactly what was read.
	bal := map[uint64]int64{}
	txn := map[uint64]int64{}
	for id := range initial {
		bal[id] = 100
	}
	for i := int64(1); i <= k; i++ {
		m, _ := moves.Load(int(i))
		ft := m.([2]uint64)
		bal[ft[0]]--
		bal[ft[1]]++
		txn[ft[0]], txn[ft[1]] = i, i
	}
	got := res.rows[tables[0].QualifiedName()]
	if len(got) != len(initial) {
		t.Fatalf("%d accounts read, want %d", len(got), len(initial))
	}
	var total int64
	for _, ch := range got {
		id := toUint(ch.After[0])
		b, tx := ch.After[1].(int64), ch.After[2].(int64)
		total += b
		if b != bal[id] || tx != txn[id] {
			t.Errorf("account %d: balance %d txn %d, want %d %d", id, b, tx, bal[id], txn[id])
		}
	}
	if total != int64(100*len(initial)) {
		t.Errorf("total balance %d, want %d", total, 100*len(initial))
	}
	t.Logf("snapshot after transaction %d at %s:%d", k, res.info.File, res.info.Offset)
}

func toUint(v any) uint64 {
	switch x := v.(type) {
	case int64:
		return uint64(x)
	case uint64:
		return x
	}
	panic(fmt.Sprintf("%T", v))
}

// TestChunkKeyTypes chunks tables keyed by each bindable type with tiny
// chunks and checks every row is read exactly once.
func TestChunkKeyTypes(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	keys := map[string]string{
		"k_signed":   "BIGINT NOT NULL",
		"k_unsigned": "BIGINT UNSIGNED NOT NULL",
		"k_decimal":  "DECIMAL(30,10) NOT NULL",
		"k_ci":       "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL",
		"k_latin1":   "VARCHAR(40) CHARACTER SET latin1 NOT NULL",
		"k_binary":   "VARBINARY(40) NOT NULL",
		"k_dt":       "DATETIME(6) NOT NULL",
		"k_ts":       "TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
		"k_date":     "DATE NOT NULL",
		"k_time":     "TIME(6) NOT NULL",
		"k_float":    "DOUBLE NOT NULL", // not bindable: one range
	}
	exprs := map[string]string{
		"k_signed":   "(n - 500) * 18014398509481",
		"k_unsigned": "18446744073709551615 - n * 9007199254740993",
		"k_decimal":  "(n - 500) / 7.0",
		"k_ci":       "CONCAT(IF(n % 2, 'A', 'a'), 'x', LPAD(n * 37 % 1000, 4, '0'), IF(n % 3 = 0, 'é', 'e'), ' ''`\\\\')",
		"k_latin1":   "CONCAT(IF(n % 2, 'Ä', 'a'), n)",
		"k_binary":   "UNHEX(CONCAT(LPAD(HEX(n * 263 % 1000), 4, '0'), IF(n % 2, '00', 'FF00')))",
		"k_dt":       "TIMESTAMPADD(MICROSECOND, n * 1000001, '1999-12-31 23:59:59.5')",
		"k_ts":       "FROM_UNIXTIME(1000000000 + n * 86399.000001)",
		"k_date":     "DATE_ADD('1000-01-01', INTERVAL n * 3001 DAY)",
		"k_time":     "SEC_TO_TIME((n - 500) * 3000.25)",
		"k_float":    "n / 3",
	}
	var names []string
	for name, typ := range keys {
		names = append(names, name)
		testenv.ExecAllMySQL(t, dsn,
			fmt.Sprintf("CREATE TABLE %s (k %s, k2 INT NOT NULL, PRIMARY KEY (k, k2))", name, typ),
			fmt.Sprintf("INSERT INTO %s (k, k2) %s SELECT %s, n %% 3 FROM seq", name, seqCTE, exprs[name]),
			fmt.Sprintf("INSERT IGNORE INTO %s (k, k2) %s SELECT %s, 7 FROM seq WHERE n %% 5 = 0", name, seqCTE, exprs[name]))
	}
	db := openDB(t, dsn)
	want := map[string]int{}
	for _, n := range names {
		var c int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + n).Scan(&c); err != nil {
			t.Fatal(err)
		}
		want[n] = c
	}
	res, tables := runSnapshot(t, dsn, Config{Tables: names, Parallelism: 3, ChunkSize: 7, BatchSize: 5})
	for _, tb := range tables {
		seen := map[string]bool{}
		for _, ch := range res.rows[tb.QualifiedName()] {
			k := fmt.Sprintf("%#v|%v", ch.Key[0], ch.Key[1])
			if seen[k] {
				t.Errorf("%s: key %s read twice", tb.Name, k)
			}
			seen[k] = true
		}
		if len(seen) != want[tb.Name] || res.info.Rows[tb.QualifiedName()] != int64(want[tb.Name]) {
			t.Errorf("%s: %d distinct rows read (info %d), want %d", tb.Name, len(seen), res.info.Rows[tb.QualifiedName()], want[tb.Name])
		}
	}
}

func TestSnapshotCancelAndEmitError(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	createBig(t, dsn)
	cfg := Config{Tables: []string{"big"}, ChunkSize: 10000}
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("sink is full")
	n := 0
	start := time.Now()
	_, err = Snapshot(context.Background(), dsn, cfg, tables, func(change.Batch) error {
		if n++; n == 3 {
			return boom
		}
		return nil
	})
	if err == nil || !errorsIs(err, boom) {
		t.Fatalf("emit error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = Snapshot(ctx, dsn, cfg, tables, func(change.Batch) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if err == nil || !errorsIs(err, context.Canceled) {
		t.Fatalf("cancel: got %v", err)
	}
	if n > 3+8 {
		t.Errorf("%d batches emitted after cancel", n-3)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stopping took %v", d)
	}
}

// TestLockWait holds a table in an open transaction: the snapshot must
// wait for it, give up after its attempts with a clear error, and, when
// cancelled while waiting, leave the table usable at once.
func TestLockWait(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 2)")
	db := openDB(t, dsn)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE t SET v = 3 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Tables: []string{"t"}}
	tables, err := Describe(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	emit := func(change.Batch) error { return nil }

	defer func(w, a int) { lockWaitTimeout, lockAttempts = w, a }(lockWaitTimeout, lockAttempts)
	lockWaitTimeout, lockAttempts = 1, 2
	start := time.Now()
	_, err = Snapshot(context.Background(), dsn, cfg, tables, emit)
	if err == nil || !strings.Contains(err.Error(), "could not lock the captured tables") {
		t.Fatalf("lock timeout: %v", err)
	}
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)

	lockWaitTimeout = 30
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = Snapshot(ctx, dsn, cfg, tables, emit)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled while waiting for the lock: %v", err)
	}
	// The abandoned FLUSH must not hold others up.
	qctx, qcancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer qcancel()
	if _, err := db.ExecContext(qctx, "UPDATE t SET v = 5 WHERE id = 2"); err != nil {
		t.Fatalf("writing the table after a cancelled snapshot: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := Snapshot(context.Background(), dsn, cfg, tables, emit); err != nil {
		t.Fatalf("after the transaction ended: %v", err)
	}
}
