package pipelines_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

// A column the view reads is dropped while the stream runs: each
// schema_change policy, end to end from PostgreSQL.
func TestStreamSchemaChangePolicies(t *testing.T) {
	for _, policy := range []string{"fail", "dead_letter", "null"} {
		t.Run(policy, func(t *testing.T) {
			dsn := testenv.NewPostgresDB(t)
			t.Cleanup(func() {
				testenv.ExecAllPostgres(t, dsn, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active")
			})
			testenv.ExecAllPostgres(t, dsn,
				`CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, age int)`,
				`ALTER TABLE people REPLICA IDENTITY FULL`,
				`INSERT INTO people VALUES (1, 'ada', 36), (2, 'bob', 40)`)
			t.Setenv("SCHEMA_PG_DSN", dsn)
			dir := t.TempDir()
			files := map[string]string{
				"people.yaml": "view: people\nsource: people\nkey: [id]\nschema_change: " + policy + "\nfields:\n  id: id\n  name: name\n  age: age\n",
				"job.yaml": `name: schema-` + strings.ReplaceAll(policy, "_", "-") + `
source: {kind: postgres, dsn_env: SCHEMA_PG_DSN, tables: [people], stream: {status_interval: 200ms}}
views: [people.yaml]
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
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var end string
			go func() {
				// Once the snapshot is in the view, change the schema and
				// write; stop once everything is acknowledged.
				for ctx.Err() == nil && !strings.Contains(read("out/people.jsonl"), `"bob"`) {
					time.Sleep(20 * time.Millisecond)
				}
				testenv.ExecAllPostgres(t, dsn,
					`ALTER TABLE people ADD COLUMN email text`,
					`INSERT INTO people VALUES (3, 'cy', 50, 'cy@example.com')`,
					`ALTER TABLE people DROP COLUMN age`,
					`INSERT INTO people VALUES (4, 'dan', 'dan@example.com')`,
					`UPDATE people SET name = 'ada l.' WHERE id = 1`)
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					return
				}
				defer conn.Close(context.Background())
				_ = conn.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&end)
				for ctx.Err() == nil {
					if ls := transforms.Live(j.Name); ls != nil && ls.Acked() != "" && lsnAtLeast(string(ls.Acked()), end) {
						cancel()
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			_, err = pipelines.RunStream(ctx, plan, pipelines.StreamOptions{})
			view := read("out/people.jsonl")
			dl := read("state/dead_letters/_dead_letters.stream.jsonl")
			added := `{"id":3,"name":"cy","age":50}` // an added column is ignored
			switch policy {
			case "fail":
				if err == nil || !strings.Contains(err.Error(), "age") {
					t.Fatalf("policy fail: the stream ended with %v, want an error naming the dropped column", err)
				}
				// The failing bundle may also hold row 3: nothing after the
				// snapshot need be written, but nothing of the new shape is.
				if strings.Contains(view, "dan") || strings.Contains(view, "ada l.") {
					t.Errorf("policy fail: view\n%s", view)
				}
			case "dead_letter":
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(view, added) || strings.Contains(view, "dan") || !strings.Contains(view, `{"id":1,"name":"ada","age":36}`) {
					t.Errorf("policy dead_letter: view\n%s", view)
				}
				if strings.Count(dl, "\n") != 2 || !strings.Contains(dl, "age was dropped") || !strings.Contains(dl, `"row":{"id":4,"name":"dan"`) {
					t.Errorf("policy dead_letter: dead letters\n%s", dl)
				}
			case "null":
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{added, `{"id":4,"name":"dan","age":null}`, `{"id":1,"name":"ada l.","age":null}`} {
					if !strings.Contains(view, want) {
						t.Errorf("policy null: view lacks %s:\n%s", want, view)
					}
				}
			}
		})
	}
}

func lsnAtLeast(a, b string) bool {
	var ah, al, bh, bl uint64
	if _, err := fmt.Sscanf(a, "%X/%X", &ah, &al); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(b, "%X/%X", &bh, &bl); err != nil {
		return false
	}
	return ah > bh || ah == bh && al >= bl
}
