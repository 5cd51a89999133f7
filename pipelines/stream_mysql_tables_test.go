package pipelines_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

// A MariaDB stream of two tables: one table's rows that cannot be taken
// (zero dates under zero_dates: dead_letter) become dead letters with the
// reason, counted per table, while both tables go on following, its UUID
// column included; a real schema change of that table under
// schema_change: fail stops the job with an error naming it.
func TestStreamMySQLOneTableFails(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`,
		`CREATE TABLE b (id INT PRIMARY KEY, u UUID NOT NULL, d DATE NOT NULL)`,
		`INSERT INTO a VALUES (1, 'one')`,
		`SET STATEMENT sql_mode = '' FOR INSERT INTO b VALUES (1, '123e4567-e89b-12d3-a456-426614174000', '2024-01-02'), (2, 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '0000-00-00')`)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dbName string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TABLES_MY_DSN", dsn)
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "view: a\nsource: a\nkey: [id]\nfields:\n  id: id\n  v: v\n",
		"b.yaml": "view: b\nsource: b\nkey: [id]\nschema_change: fail\nfields:\n  id: id\n  u: u\n  d: d\n",
		"job.yaml": `name: my-one-table-fails
source: {kind: mysql, dsn_env: TABLES_MY_DSN, tables: [a, b], zero_dates: dead_letter, stream: {heartbeat: 200ms}}
views: [a.yaml, b.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, err := pipelines.Load(filepath.Join(dir, "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	masterPos := func() (string, uint64) {
		var file string
		var pos uint64
		var x, y sql.NullString
		if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &x, &y); err != nil {
			t.Error(err)
		}
		return file, pos
	}
	ackedPast := func(file string, pos uint64) bool {
		ls := transforms.Live(j.Name)
		if ls == nil {
			return false
		}
		f, p, ok := strings.Cut(string(ls.Acked()), ":")
		n, err := strconv.ParseUint(p, 10, 64)
		return ok && err == nil && (f > file || f == file && n >= pos)
	}
	bTable := dbName + ".b"
	deadBefore := runstats.Get(runstats.Dead, bTable)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	checked := make(chan string, 1)
	go func() {
		defer close(checked)
		for ctx.Err() == nil && !strings.Contains(read("out/b.jsonl"), `"id":1`) {
			time.Sleep(20 * time.Millisecond)
		}
		testenv.ExecAllMySQL(t, dsn,
			`INSERT INTO a VALUES (2, 'two')`,
			`INSERT INTO b VALUES (3, '00000000-0000-0000-0000-000000000001', '2024-05-06')`,
			`SET STATEMENT sql_mode = 'ALLOW_INVALID_DATES' FOR INSERT INTO b VALUES (4, '00000000-0000-0000-0000-000000000002', '2024-02-31')`,
			`UPDATE a SET v = 'uno' WHERE id = 1`)
		file, pos := masterPos()
		for ctx.Err() == nil && !ackedPast(file, pos) {
			time.Sleep(20 * time.Millisecond)
		}
		checked <- read("out/a.jsonl") + read("out/b.jsonl")
		// A real schema change of b, which its view reads.
		testenv.ExecAllMySQL(t, dsn, `ALTER TABLE b MODIFY d VARCHAR(20) NOT NULL`, `INSERT INTO b VALUES (5, '00000000-0000-0000-0000-000000000005', 'soon')`,
			`INSERT INTO a VALUES (3, 'three')`)
	}()
	_, err = pipelines.RunStream(ctx, plan, pipelines.StreamOptions{})
	views := <-checked
	for _, want := range []string{`{"id":1,"v":"uno"}`, `{"id":2,"v":"two"}`,
		`{"id":1,"u":"123e4567-e89b-12d3-a456-426614174000","d":"2024-01-02"}`, `{"id":3,"u":"00000000-0000-0000-0000-000000000001","d":"2024-05-06"}`} {
		if !strings.Contains(views, want) {
			t.Errorf("views lack %s:\n%s", want, views)
		}
	}
	if strings.Contains(views, `"id":2,"u"`) || strings.Contains(views, `"id":4,"u"`) {
		t.Errorf("a dead-lettered row is in the view:\n%s", views)
	}
	dl := read("state/dead_letters/_dead_letters.stream.jsonl")
	if strings.Count(dl, "\n") != 2 || strings.Count(dl, `"table":"`+bTable+`"`) != 2 || !strings.Contains(dl, `zero or invalid date \"0000-00-00\"`) ||
		!strings.Contains(dl, `zero or invalid date \"2024-02-31\"`) || !strings.Contains(dl, "zero_dates: dead_letter") {
		t.Errorf("dead letters:\n%s", dl)
	}
	if n := runstats.Get(runstats.Dead, bTable) - deadBefore; n != 2 {
		t.Errorf("%d dead letters counted for %s, want 2", n, bTable)
	}
	if err == nil || !strings.Contains(err.Error(), bTable) || !strings.Contains(err.Error(), "d changed from date to varchar(20)") {
		t.Errorf("after b's schema change: %v, want an error naming %s and its column d", err, bTable)
	}
}

func TestJobZeroDatesPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(policy, kind string) error {
		text := "name: z\nsource: {kind: " + kind + ", dsn_env: X, tables: [t], zero_dates: " + policy + "}\nviews: [v.yaml]\nsinks: [{name: out, kind: file, dir: out}]\n"
		if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "v.yaml"), []byte("view: v\nsource: t\nkey: [id]\nfields:\n  id: id\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := pipelines.Load(filepath.Join(dir, "job.yaml"))
		return err
	}
	for _, p := range []string{"keep", "dead_letter", "null"} {
		if err := write(p, "mysql"); err != nil {
			t.Errorf("zero_dates %s: %v", p, err)
		}
	}
	if j, err := pipelines.Load(filepath.Join(dir, "job.yaml")); err != nil {
		t.Error(err)
	} else if got := j.MySQLConfig().ZeroDates; got != "null" {
		t.Errorf("zero_dates: null (YAML's null) read as %q", got)
	}
	if err := write("zero", "mysql"); err == nil || !strings.Contains(err.Error(), `source.zero_dates: "zero": use keep`) {
		t.Errorf("zero_dates zero: %v", err)
	}
	if err := write("keep", "postgres"); err == nil || !strings.Contains(err.Error(), "source.zero_dates: only for a mysql source") {
		t.Errorf("zero_dates on postgres: %v", err)
	}
}
