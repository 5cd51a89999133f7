package mysql

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// TestStreamHostileWorkload streams a workload that moves keys around
// inside transactions and writes every type at its edges: the snapshot
// plus the stream, applied in order by key, equals a read of the tables
// at the end.
func TestStreamHostileWorkload(t *testing.T) {
	dsn := streamDB(t)
	db := openDB(t, dsn)
	cols := `(id INT PRIMARY KEY, v VARCHAR(40), u UUID, i6 INET6, i4 INET4, d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL,
		n DECIMAL(65,30), f FLOAT, db DOUBLE, bu BIGINT UNSIGNED, si TINYINT, bl BLOB, bn BINARY(3), j JSON, tm TIME(3),
		e ENUM('a','b'), st SET('x','y'), bt BIT(64), b1 BIT(1), yr YEAR, l1 VARCHAR(10) CHARACTER SET latin1, g POINT)`
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE h `+cols,
		`CREATE TABLE c (k1 INT NOT NULL, k2 VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (k1, k2))`,
		`INSERT INTO h (id, v) SELECT seq, CONCAT('init', seq) FROM seq_1_to_20`,
		`INSERT INTO c VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', 3)`)
	cfg := Config{Tables: []string{"h", "c"}}
	state := map[string][]any{}
	apply := func(tb *change.Table, c change.Change) {
		k := tb.Name + change.KeyString(c.Key)
		if c.Op == change.OpDelete {
			delete(state, k)
			return
		}
		state[k] = c.After
	}
	snap, _ := runSnapshot(t, dsn, cfg)
	for _, b := range snap.batches {
		for _, c := range b.Changes {
			apply(b.Table, c)
		}
	}
	st, _ := openTestStream(t, dsn, cfg, streamCfg(t), change.Checkpoint(sourcePos(snap.info.File, snap.info.Offset)))

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
	edges := []string{
		`(101, '', '00000000-0000-0000-0000-000000000000', '::', '0.0.0.0', '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01.000',
			-99999999999999999999999999999999999.999999999999999999999999999999, -3.40282e38, -1.7976931348623157e308, 0, -128, x'', x'00', 'null', '-838:59:59.000',
			'a', '', 0, 0, 1901, '', ST_GeomFromText('POINT(0 0)'))`,
		`(102, 'ünïcødé 😀 \'"\\\\', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '255.255.255.255', '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',
			99999999999999999999999999999999999.999999999999999999999999999999, 3.40282e38, 1.7976931348623157e308, 18446744073709551615, 127, x'00ff00', x'ffffff', '{"a":[1,2.5,"x",null,true],"b":{}}', '838:59:59.000',
			'b', 'x,y', b'1111111111111111111111111111111111111111111111111111111111111111', 1, 2155, 'Ä€é', ST_GeomFromText('POINT(-1.5 2.25)'))`,
		`(103, NULL, '123e4567-e89b-12d3-a456-426614174000', '::ffff:1.2.3.4', '1.2.3.4', NULL, NULL, NULL,
			0.000000000000000000000000000001, 1.17549e-38, 5e-324, 9223372036854775808, 0, NULL, NULL, '[]', '00:00:00.001',
			NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}
	tx(`INSERT INTO h VALUES ` + strings.Join(edges, ","))
	tx(`REPLACE INTO h (id, v) VALUES (3, 'replaced'), (200, 'replace-new')`)
	tx(`INSERT INTO h (id, v) VALUES (4, 'dup'), (201, 'dup-new') ON DUPLICATE KEY UPDATE v = CONCAT(v, '+dup')`)
	tx(`UPDATE h SET id = -1 WHERE id = 1`, `UPDATE h SET id = 1 WHERE id = 2`, `UPDATE h SET id = 2 WHERE id = -1`) // swap 1 and 2
	tx(`UPDATE h SET id = 1006 WHERE id = 6`, `UPDATE h SET id = 6 WHERE id = 5`)                                    // chain shift
	tx(`UPDATE c SET k2 = 'z' WHERE k1 = 1 AND k2 = 'a'`, `UPDATE c SET k1 = 3 WHERE k1 = 2`, `UPDATE c SET k2 = 'a' WHERE k1 = 1 AND k2 = 'b'`)
	tx(`DELETE FROM h WHERE id = 7`, `INSERT INTO h (id, v) VALUES (7, 'reborn')`)
	tx(`INSERT INTO h (id, v) VALUES (300, 'ghost')`, `DELETE FROM h WHERE id = 300`)
	var many []string
	for i := range 200 {
		many = append(many, fmt.Sprintf(`UPDATE h SET v = 'v%d', si = %d WHERE id = 8`, i, i%100))
	}
	tx(many...)
	tx(`INSERT INTO h (id, v, u, n, j) SELECT 10000 + seq, CONCAT('bulk', seq), UUID(), seq / 7, JSON_OBJECT('n', seq) FROM seq_1_to_10000`)
	tx(`UPDATE h SET id = id + 20000, v = 'moved' WHERE id BETWEEN 10001 AND 10500`, `DELETE FROM h WHERE id BETWEEN 10501 AND 11000`)
	tx(`UPDATE h SET u = '6ba7b810-9dad-11d1-80b4-00c04fd430c8', i6 = '2001:db8::1', i4 = '10.0.0.1' WHERE id = 103`)

	var got streamed
	readUntil(t, st, masterPos(t, db), &got)
	for _, c := range got.changes {
		apply(c.table, c.Change)
	}
	final, _ := runSnapshot(t, dsn, cfg)
	want := map[string][]any{}
	for _, b := range final.batches {
		for _, c := range b.Changes {
			want[b.Table.Name+change.KeyString(c.Key)] = c.After
		}
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range state {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if !sameRow(state[k], want[k]) {
			if bad++; bad <= 10 {
				t.Errorf("%s: snapshot+stream %#v, table %#v", k, state[k], want[k])
			}
		}
	}
	if bad > 0 || len(state) != len(want) {
		t.Errorf("%d rows differ; %d rows from snapshot+stream, %d in the tables", bad, len(state), len(want))
	}
}
