package mysql

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// execSQLFile runs the statements of a fixture file (each ends with ";" at
// the end of a line; "--" lines are comments) on one connection.
func execSQLFile(t testing.TB, dsn, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	var stmts []string
	for _, s := range strings.Split(strings.Join(lines, "\n"), ";\n") {
		if strings.TrimSpace(s) != "" {
			stmts = append(stmts, s)
		}
	}
	testenv.ExecAllMySQL(t, dsn, stmts...)
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// result is what a snapshot emitted.
type result struct {
	info    SnapshotInfo
	batches []change.Batch
	rows    map[string][]change.Change // by table
}

// runSnapshot describes and snapshots the tables of cfg.
func runSnapshot(t testing.TB, dsn string, cfg Config) (*result, []*change.Table) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	r := &result{rows: map[string][]change.Change{}}
	info, err := Snapshot(ctx, dsn, cfg, tables, func(b change.Batch) error {
		r.batches = append(r.batches, b)
		r.rows[b.Table.QualifiedName()] = append(r.rows[b.Table.QualifiedName()], b.Changes...)
		return nil
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	r.info = info
	return r, tables
}

func dbName(t testing.TB, dsn string) string {
	t.Helper()
	i := strings.LastIndexByte(dsn, '/')
	name := dsn[i+1:]
	if j := strings.IndexByte(name, '?'); j >= 0 {
		name = name[:j]
	}
	return name
}
