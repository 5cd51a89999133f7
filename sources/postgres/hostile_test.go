package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// TestStreamHostileWorkload replays a hostile workload's changes onto the
// snapshot, key by key, and compares the result with the table read
// directly.
func TestStreamHostileWorkload(t *testing.T) {
	dsn, scfg := streamDB(t,
		`CREATE TABLE h (id int PRIMARY KEY, i int, t text, n numeric, ts timestamptz, b bytea, j jsonb, arr int[], m money)`,
		`ALTER TABLE h REPLICA IDENTITY FULL`,
		`CREATE TABLE marker (id int PRIMARY KEY)`,
		`INSERT INTO h SELECT g, g, 't' || g, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 hour', '\x00ff', '{"a": 1}', ARRAY[g, NULL], g
			FROM generate_series(1, 10) g`)
	scfg.Truncate = TruncateIgnore
	cfg := Config{Tables: []string{"h", "marker"}}
	tables := describe(t, dsn, cfg)
	st, _, snap := startStream(t, dsn, cfg, scfg, tables)
	view := map[string][]any{}
	for _, c := range snap["h"] {
		view[change.KeyString(c.Key)] = c.After
	}
	marks := 0
	// drain applies changes until the marker row n arrives.
	drain := func(n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for marks < n {
			p, err := st.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			for _, b := range p.Batches {
				for _, c := range b.Changes {
					if b.Table.Name == "marker" {
						marks++
						continue
					}
					switch c.Op {
					case change.OpDelete:
						delete(view, change.KeyString(c.Key))
					default:
						for i, v := range c.After {
							if change.IsUnchanged(v) {
								t.Fatalf("change %s %v: column %d unchanged", c.Op, c.Key, i)
							}
						}
						view[change.KeyString(c.Key)] = c.After
					}
				}
			}
		}
	}
	table := func() map[string][]any {
		_, now := snapshotAll(t, testCtx(t), dsn, Config{Tables: []string{"h"}}, tables[:1])
		out := map[string][]any{}
		for _, c := range now.rows("public.h") {
			out[change.KeyString(c.Key)] = c.After
		}
		return out
	}
	compare := func(stage string, want map[string][]any) {
		t.Helper()
		if len(view) != len(want) {
			t.Errorf("%s: the replayed view has %d rows, the table %d", stage, len(view), len(want))
		}
		for k, w := range want {
			got, ok := view[k]
			if !ok {
				t.Errorf("%s: key %s missing", stage, k)
				continue
			}
			for i := range w {
				if !valueEqual(got[i], w[i]) {
					t.Errorf("%s: key %s column %s: stream %.60s, table %.60s", stage, k, tables[0].Columns[i].Name, show(got[i]), show(w[i]))
				}
			}
		}
	}
	var many []string
	for range 200 {
		many = append(many, `UPDATE h SET i = i + 1, t = t || 'x' WHERE id = 8`)
	}
	testenv.ExecAllPostgres(t, dsn,
		`UPDATE h SET i = NULL, t = NULL, n = NULL, ts = NULL, b = NULL, j = NULL, arr = NULL, m = NULL WHERE id = 1`,
		`UPDATE h SET i = 11, t = 'back', n = 1.5, ts = '2030-01-01', b = '\x01', j = '[1]', arr = '{1}', m = 2.5 WHERE id = 1`,
		`UPDATE h SET i = i WHERE id = 2`,
		`BEGIN; UPDATE h SET id = -3 WHERE id = 3; UPDATE h SET id = 3 WHERE id = 4; UPDATE h SET id = 4 WHERE id = -3; COMMIT`,
		`BEGIN; UPDATE h SET id = 1006 WHERE id = 6; UPDATE h SET id = 6 WHERE id = 5; COMMIT`,
		`BEGIN; DELETE FROM h WHERE id = 7; INSERT INTO h (id, t) VALUES (7, 'reborn'); COMMIT`,
		`BEGIN; INSERT INTO h (id, t) VALUES (500, 'ghost'); DELETE FROM h WHERE id = 500; COMMIT`,
		`BEGIN; `+strings.Join(many, "; ")+`; COMMIT`,
		`INSERT INTO h (id, i, t, arr) SELECT g, g, repeat('y', g % 50), ARRAY[g] FROM generate_series(20000, 29999) g`,
		`INSERT INTO marker VALUES (1)`)
	drain(1)
	before := table()
	compare("after the workload", before)

	testenv.ExecAllPostgres(t, dsn, `TRUNCATE h`, `INSERT INTO h (id, t) VALUES (1, 'after truncate')`, `INSERT INTO marker VALUES (2)`)
	drain(2)
	after := table()
	if len(after) != 1 {
		t.Fatalf("table after TRUNCATE: %d rows", len(after))
	}
	for k, v := range after {
		before[k] = v
	}
	compare("after an ignored TRUNCATE", before)
}
