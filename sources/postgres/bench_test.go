package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/jackc/pgx/v5"
)

const benchRows = 1_000_000

var bench struct {
	once sync.Once
	name string // database, dropped by TestMain
	dsn  string
	err  error
}

// benchDB builds, once per test binary run, a database with table bench of
// 1M rows shaped like the project's snapshot benchmark (about 10 columns:
// numeric, timestamptz, jsonb, ~100 bytes of text).
func benchDB(b *testing.B) string {
	b.Helper()
	bench.once.Do(func() {
		ctx := context.Background()
		admin := testenv.PostgresDSN()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			bench.err = fmt.Errorf("connecting to %s: %w (start the servers: scripts/testenv.sh start)", admin, err)
			return
		}
		defer conn.Close(ctx)
		name := testenv.UniqueName("bench_pgsrc")
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			bench.err = err
			return
		}
		bench.name = name
		u, _ := url.Parse(admin)
		u.Path = "/" + name
		bench.dsn = u.String()
		c2, err := pgx.Connect(ctx, bench.dsn)
		if err != nil {
			bench.err = err
			return
		}
		defer c2.Close(ctx)
		start := time.Now()
		_, bench.err = c2.Exec(ctx, fmt.Sprintf(`
CREATE TABLE bench (
  id bigint PRIMARY KEY,
  customer_id integer NOT NULL,
  amount numeric(12,2) NOT NULL,
  price numeric(20,6),
  created_at timestamptz NOT NULL,
  updated_at timestamptz,
  status text NOT NULL,
  note text,
  attrs jsonb,
  active boolean NOT NULL
);
INSERT INTO bench
SELECT g, g %% 10007, (g %% 100000) / 100.0, g * 1.000123, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       CASE WHEN g %% 10 = 0 THEN NULL ELSE timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' END,
       (ARRAY['new','paid','shipped','cancelled'])[1 + g %% 4],
       repeat(md5(g::text), 3),
       jsonb_build_object('sku', 'SKU-' || (g %% 5000), 'qty', g %% 7, 'tags', jsonb_build_array('a', 'b')),
       g %% 3 <> 0
FROM generate_series(1, %d) g`, benchRows))
		if bench.err == nil {
			_, bench.err = c2.Exec(ctx, "VACUUM ANALYZE bench")
		}
		fmt.Printf("bench: built %d rows in %v\n", benchRows, time.Since(start).Round(time.Millisecond))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.dsn
}

func dropBenchDB() {
	if bench.name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, testenv.PostgresDSN()); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+bench.name+" WITH (FORCE)")
		_ = conn.Close(ctx)
	}
}

// BenchmarkSnapshot1M snapshots the 1M-row table with the default
// configuration and an emit that only counts rows.
func BenchmarkSnapshot1M(b *testing.B) {
	dsn := benchDB(b)
	ctx := context.Background()
	cfg := Config{Tables: []string{"bench"}}
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var rows int64
	start := time.Now()
	for range b.N {
		_, err := Snapshot(ctx, dsn, cfg, tables, func(bt change.Batch) error {
			rows += int64(len(bt.Changes))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	if rows != int64(b.N)*benchRows {
		b.Fatalf("read %d rows, want %d", rows, int64(b.N)*benchRows)
	}
	b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
}

// BenchmarkPlainPgxLoop is the baseline: one streaming SELECT * decoded
// with rows.Values() and written as JSON lines with encoding/json.
func BenchmarkPlainPgxLoop(b *testing.B) {
	dsn := benchDB(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	start := time.Now()
	for range b.N {
		rows, err := conn.Query(ctx, "SELECT * FROM bench")
		if err != nil {
			b.Fatal(err)
		}
		enc := json.NewEncoder(io.Discard)
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				b.Fatal(err)
			}
			if err := enc.Encode(vals); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
}
