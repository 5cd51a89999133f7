package postgres

import (
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

func TestDescribeGeneratedColumns(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE g (id int PRIMARY KEY, a int, s int GENERATED ALWAYS AS (a * 2) STORED, d int DEFAULT 7)`)
	tables := describe(t, dsn, Config{Tables: []string{"g"}})
	var got []string
	for _, c := range tables[0].Columns {
		got = append(got, c.Name+"="+c.Generated)
	}
	if s := strings.Join(got, " "); s != "id= a= s=(a * 2) d=" {
		t.Errorf("generated expressions: %s", s)
	}
}

// genColumnsSQL are the columns of the tables of the generated-column
// tests: every generated column reads the row's other columns.
const genTableSQL = `CREATE TABLE %s (id int PRIMARY KEY, a int, b text,
	s int GENERATED ALWAYS AS (a * 2) STORED,
	u text GENERATED ALWAYS AS (upper(b) || coalesce(a::text, '-')) STORED,
	n numeric GENERATED ALWAYS AS (a / 3.0) STORED,
	l int GENERATED ALWAYS AS (length(b)) STORED,
	ts timestamp GENERATED ALWAYS AS ('2024-02-29 13:04:05.123456'::timestamp + make_interval(secs => a)) STORED)`

func TestStreamGeneratedColumns(t *testing.T) {
	dsn, scfg := streamDB(t,
		strings.ReplaceAll(genTableSQL, "%s", "g"),
		strings.ReplaceAll(genTableSQL, "%s", "gd"),
		`CREATE TABLE o (id int PRIMARY KEY, v int)`,
		`ALTER TABLE g REPLICA IDENTITY FULL`,
		`INSERT INTO g (id, a, b) VALUES (1, 1, 'one')`,
		`INSERT INTO gd (id, a, b) VALUES (1, 1, 'one')`)
	scfg.Toast = ToastUnchanged // gd keeps REPLICA IDENTITY DEFAULT
	cfg := Config{Tables: []string{"g", "gd", "o"}}
	tables := describe(t, dsn, cfg)
	st, _, _ := startStream(t, dsn, cfg, scfg, tables)
	big := `(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 600) i)`
	testenv.ExecAllPostgres(t, dsn,
		`BEGIN; INSERT INTO g (id, a, b) VALUES (2, 2, 'two'), (3, NULL, 'three'); INSERT INTO o VALUES (1, 1); COMMIT`,
		`UPDATE g SET a = 10 WHERE id = 1`,
		`UPDATE g SET b = 'zwei', a = a + 5 WHERE id = 2`,
		`DELETE FROM g WHERE id = 3`,
		`INSERT INTO gd (id, a, b) VALUES (2, 2, `+big+`)`,
		`UPDATE gd SET a = 3 WHERE id = 2`, // b is unchanged TOAST: u and l cannot be computed, s and n can
		`UPDATE g SET id = 4 WHERE id = 2`,
		`INSERT INTO o VALUES (2, 2)`)
	got, gotTables, _ := collectChanges(t, st, 11)
	for i, tb := range gotTables {
		if tb != tables[0] && tb != tables[1] && tb != tables[2] {
			t.Fatalf("change %d: table %s came as a changed schema", i, tb.Name)
		}
	}
	// The last image of every key is what the table holds now.
	_, now := snapshotAll(t, testCtx(t), dsn, cfg, tables)
	current := map[string]change.Change{}
	for _, name := range []string{"public.g", "public.gd"} {
		for _, c := range now.rows(name) {
			current[name+change.KeyString(c.Key)] = c
		}
	}
	last := map[string]change.Change{}
	for i, c := range got {
		last[gotTables[i].QualifiedName()+change.KeyString(c.Key)] = c
	}
	cols := tables[0].Columns
	for k, c := range last {
		if strings.HasPrefix(k, "public.o") {
			continue
		}
		want, ok := current[k]
		if c.Op == change.OpDelete {
			if ok {
				t.Errorf("%s: deleted but still in the table", k)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not in the table", k)
			continue
		}
		for j := range cols {
			if k == "public.gd"+change.KeyString([]any{int64(2)}) && (cols[j].Name == "u" || cols[j].Name == "l" || cols[j].Name == "b") {
				if !change.IsUnchanged(c.After[j]) {
					t.Errorf("%s column %s: %.80s, want unchanged (it reads an unchanged TOAST value)", k, cols[j].Name, show(c.After[j]))
				}
				continue
			}
			if !valueEqual(c.After[j], want.After[j]) {
				t.Errorf("%s column %s: stream %.80s, table %.80s", k, cols[j].Name, show(c.After[j]), show(want.After[j]))
			}
		}
	}
	// Images of rows no longer in the table, checked by hand.
	for i, c := range got {
		switch {
		case gotTables[i].Name == "g" && c.Op == change.OpCreate && c.Key[0] == int64(3):
			if c.After[3] != nil || c.After[4] != "THREE-" || c.After[5] != nil || c.After[6] != int64(5) {
				t.Errorf("insert of 3: %v", c.After)
			}
		case gotTables[i].Name == "g" && c.Op == change.OpDelete && c.Key[0] == int64(3):
			if c.Before[4] != "THREE-" || c.Before[6] != int64(5) {
				t.Errorf("delete of 3: old row %v", c.Before)
			}
		case gotTables[i].Name == "g" && c.Op == change.OpDelete && c.Key[0] == int64(2):
			if c.Before[3] != int64(14) || c.Before[4] != "ZWEI7" || c.Before[5] != change.Decimal("2.3333333333333333") {
				t.Errorf("key change of 2: old row %v", c.Before)
			}
		}
	}
	if n := gotTables[len(got)-1]; n.Name != "o" || got[len(got)-1].Key[0] != int64(2) {
		t.Errorf("last change: %s %v, want o [2]", n.Name, got[len(got)-1].Key)
	}

	// A real schema change is still one, with the generated columns kept.
	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE g ADD COLUMN c int`, `INSERT INTO g (id, a, b, c) VALUES (5, 5, 'five', 55)`)
	got, gotTables, _ = collectChanges(t, st, 1)
	var names []string
	for _, c := range gotTables[0].Columns {
		names = append(names, c.Name)
	}
	if s := strings.Join(names, ","); gotTables[0] == tables[0] || s != "id,a,b,s,u,n,l,ts,c" {
		t.Fatalf("after ADD COLUMN: columns %s (same table %v)", s, gotTables[0] == tables[0])
	}
	if a := got[0].After; a[3] != int64(10) || a[4] != "FIVE5" || a[8] != int64(55) {
		t.Errorf("after ADD COLUMN: row %v", a)
	}
}
