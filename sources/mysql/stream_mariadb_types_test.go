package mysql

import (
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// TestStreamMariaDBStorageTypes streams MariaDB's UUID, INET6 and INET4
// columns, which the binlog's table map describes by their storage
// (BINARY(16), BINARY(4)): the stream keeps the described schema and
// decodes the values to the text the snapshot reads.
func TestStreamMariaDBStorageTypes(t *testing.T) {
	dsn := streamDB(t)
	db := openDB(t, dsn)
	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Skipf("UUID, INET6 and INET4 are MariaDB types; the server is %s", version)
	}
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE net (id INT PRIMARY KEY, c_uuid UUID, c_inet6 INET6, c_inet4 INET4, k UUID NOT NULL, UNIQUE (k))`,
		`INSERT INTO net VALUES
			(1, '123e4567-e89b-12d3-a456-426614174000', '::ffff:1.2.3.4', '1.2.3.4', 'a0000000-0000-1000-8000-000000000001'),
			(2, '00000000-0000-0000-0000-000000000000', '::', '0.0.0.0', '00000000-0000-0000-0000-000000000002'),
			(3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '255.255.255.255', 'ffffffff-ffff-4fff-bfff-ffffffffffff'),
			(4, '123e4567-e89b-12d3-0456-426614174000', '2001:db8::1', '10.0.0.1', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
			(5, 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '::1', '127.0.0.1', '123e4567-e89b-62d3-a456-426614174000'),
			(6, NULL, '1::', NULL, '123e4567-e89b-52d3-c456-426614174000'),
			(7, '123e4567-e89b-02d3-a456-426614174000', '::1.2.3.4', '192.168.0.255', '00000000-0000-5000-8000-000000000000'),
			(8, NULL, '2001:db8:0:1:0:0:0:1', NULL, '11111111-2222-3333-4444-555555555555'),
			(9, NULL, '1:0:2:0:0:3:0:4', NULL, '11111111-2222-3333-c444-555555555555'),
			(10, NULL, 'fe80::ffff:0:0', NULL, '11111111-2222-3333-e444-555555555555'),
			(11, NULL, '1:0:2:3:4:5:6:7', NULL, '11111111-2222-3333-e444-555555555556'),
			(12, NULL, '::ffff:0:0', '0.0.0.1', '11111111-2222-3333-e444-555555555557'),
			(13, NULL, '0:0:0:0:0:ffff:0.0.0.0', '1.0.0.0', '11111111-2222-3333-e444-555555555558'),
			(14, NULL, '::ffff:1:0:0', NULL, '11111111-2222-3333-e444-555555555559')`,
		`CREATE TABLE net_copy LIKE net`, `INSERT INTO net_copy SELECT * FROM net`)
	cfg := Config{Tables: []string{"net"}}
	res, _ := runSnapshot(t, dsn, cfg)
	st, tables := openTestStream(t, dsn, cfg, streamCfg(t), "")
	testenv.ExecAllMySQL(t, dsn,
		`DELETE FROM net`, `INSERT INTO net SELECT * FROM net_copy`,
		`UPDATE net SET c_inet4 = '1.1.1.1' WHERE id = 1`)
	var got streamed
	readUntil(t, st, masterPos(t, db), &got)

	snap := map[int64][]any{}
	for _, c := range res.rows[tables[0].QualifiedName()] {
		snap[c.After[0].(int64)] = c.After
	}
	if want := []any{int64(1), "123e4567-e89b-12d3-a456-426614174000", "::ffff:1.2.3.4", "1.2.3.4", "a0000000-0000-1000-8000-000000000001"}; !sameRow(snap[1], want) {
		t.Fatalf("snapshot row 1 %#v, want %#v", snap[1], want)
	}
	seen := map[change.Op]int{}
	for _, c := range got.changes {
		if c.table != tables[0] {
			t.Fatalf("%s: a new table schema without DDL: %+v", c.Op, c.table.Columns)
		}
		seen[c.Op]++
		img := c.Row()
		want := snap[img[0].(int64)]
		if c.Op == change.OpUpdate {
			if !sameRow(c.Before, want) {
				t.Errorf("update before %#v, snapshot %#v", c.Before, want)
			}
			want = append(append([]any{}, want[:3]...), "1.1.1.1", want[4])
		}
		if !sameRow(img, want) {
			t.Errorf("%s row: stream %#v, snapshot %#v", c.Op, img, want)
		}
	}
	if seen[change.OpDelete] != len(snap) || seen[change.OpCreate] != len(snap) || seen[change.OpUpdate] != 1 {
		t.Errorf("changes %v for %d rows", seen, len(snap))
	}
}

func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestStreamMariaDBCompressedColumn: a COMPRESSED column, which the binlog
// reader cannot decode, stops the stream: with an error naming the table
// and the column when its table map reaches the stream, else with the
// binlog reader's own error about the type (it can fail on the event
// before the stream sees it).
func TestStreamMariaDBCompressedColumn(t *testing.T) {
	dsn := streamDB(t)
	testenv.ExecAllMySQL(t, dsn, `CREATE TABLE cz (id INT PRIMARY KEY, v VARCHAR(100) COMPRESSED)`)
	st, _ := openTestStream(t, dsn, Config{Tables: []string{"cz"}}, streamCfg(t), "")
	testenv.ExecAllMySQL(t, dsn, `INSERT INTO cz VALUES (1, REPEAT('ab', 40))`)
	err := nextError(t, st)
	if !strings.Contains(err.Error(), `column "v" of captured table `+dbName(t, dsn)+`.cz is COMPRESSED`) &&
		!strings.Contains(err.Error(), "unsupport type 141") {
		t.Errorf("compressed column: %v", err)
	}
}
