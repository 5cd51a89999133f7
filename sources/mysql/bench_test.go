package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

const benchRows = 1000000

var (
	benchOnce sync.Once
	benchDSN  string
	benchDB   string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDB != "" {
		if db, err := sql.Open("mysql", testenv.MySQLDSN()); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + benchDB)
			db.Close()
		}
	}
	os.Exit(code)
}

// benchTable returns the DSN of a database holding `bench`: 1,000,000 rows
// of 10 columns (BIGINT key, INT, DECIMAL, DOUBLE, DATETIME(6), VARCHAR,
// ~100-byte text, JSON, BOOL, TIMESTAMP(6)), made once per test binary.
func benchTable(b *testing.B) string {
	benchOnce.Do(func() {
		start := time.Now()
		admin := testenv.MySQLDSN()
		db, err := sql.Open("mysql", admin)
		if err != nil {
			benchErr = err
			return
		}
		defer db.Close()
		benchDB = testenv.UniqueName("bench")
		stmts := []string{
			"CREATE DATABASE " + benchDB + " CHARACTER SET utf8mb4",
			`CREATE TABLE ` + benchDB + `.bench (
				id BIGINT NOT NULL PRIMARY KEY,
				customer_id INT NOT NULL,
				amount DECIMAL(12,2) NOT NULL,
				rate DOUBLE NOT NULL,
				created_at DATETIME(6) NOT NULL,
				status VARCHAR(16) NOT NULL,
				note VARCHAR(200) NOT NULL,
				attrs JSON,
				flag BOOL NOT NULL,
				updated_at TIMESTAMP(6) NULL)`,
			`INSERT INTO ` + benchDB + `.bench ` + seqCTE + `
				SELECT a.n * 1000 + s.n + 1, (a.n * 7919 + s.n) % 100000, (a.n * 1000 + s.n) / 100, (a.n + s.n) / 7e0,
					TIMESTAMPADD(MICROSECOND, (a.n * 1000 + s.n) * 1234567, '2020-01-01 00:00:00'),
					ELT(1 + s.n % 4, 'new', 'paid', 'shipped', 'cancelled'),
					CONCAT('order ', a.n, '-', s.n, ' for customer ', s.n, ': ', REPEAT('lorem ipsum ', 6)),
					CONCAT('{"source": "web", "items": ', s.n % 10, ', "tags": ["a", "b"], "score": ', a.n / 10, '}'),
					s.n % 2, FROM_UNIXTIME(1600000000 + a.n * 1000 + s.n)
				FROM seq a, seq s`,
			"ANALYZE TABLE " + benchDB + ".bench",
		}
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				benchErr = err
				return
			}
		}
		cfg, _ := driver.ParseDSN(admin)
		cfg.DBName = benchDB
		benchDSN = cfg.FormatDSN()
		b.Logf("made %d rows in %v", benchRows, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDSN
}

// BenchmarkSnapshot1M reads the 1M-row table with Snapshot's defaults
// (4 readers, chunks of 100,000 rows, batches of 1,024). "count" only
// counts the rows; "jsonl" also writes each row as a JSON object line
// (change.AppendJSON into a reused buffer), like BenchmarkPlainSQLLoop.
func BenchmarkSnapshot1M(b *testing.B) {
	dsn := benchTable(b)
	ctx := context.Background()
	cfg := Config{Tables: []string{"bench"}}
	tables, err := Describe(ctx, dsn, cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Each column's `"name":` in JSON, for the JSON lines.
	var names [][]byte
	for i, c := range tables[0].Columns {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		names = append(names, change.AppendJSON([]byte(sep), c.Name))
	}
	for _, mode := range []string{"count", "jsonl"} {
		b.Run(mode, func(b *testing.B) {
			var rows int64
			var line []byte
			start, cpu := time.Now(), cpuTime()
			for b.Loop() {
				_, err := Snapshot(ctx, dsn, cfg, tables, func(bt change.Batch) error {
					rows += int64(len(bt.Changes))
					if mode == "jsonl" {
						for i := range bt.Changes {
							line = line[:0]
							for j, v := range bt.Changes[i].After {
								line = append(append(line, names[j]...), ':')
								line = change.AppendJSON(line, v)
							}
							line = append(line, '}', '\n')
							io.Discard.Write(line)
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if rows != int64(b.N)*benchRows {
				b.Fatalf("%d rows in %d runs", rows, b.N)
			}
			reportRates(b, rows, start, cpu)
		})
	}
}

// reportRates reports rows per second of wall time, and the CPU time this
// process spent per row (the server's is not counted): the machine is
// shared, so wall time varies with its load more than CPU time does.
func reportRates(b *testing.B, rows int64, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(rows), "client-cpu-ns/row")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPlainSQLLoop is the baseline: database/sql, SELECT *, each row
// scanned into []any and written as a JSON line with encoding/json.
func BenchmarkPlainSQLLoop(b *testing.B) {
	dsn := benchTable(b)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		rows, err := db.Query("SELECT * FROM bench")
		if err != nil {
			b.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		enc := json.NewEncoder(io.Discard)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			m := make(map[string]any, len(cols))
			for i, c := range cols {
				if bs, ok := vals[i].([]byte); ok {
					m[c] = string(bs)
				} else {
					m[c] = vals[i]
				}
			}
			if err := enc.Encode(m); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
	reportRates(b, n, start, cpu)
}
