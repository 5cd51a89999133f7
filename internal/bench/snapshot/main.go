// Command snapshot is beamsync's snapshot benchmark (make bench). It builds a
// PostgreSQL table of N rows (about 10 columns: numeric, timestamptz, jsonb,
// ~100 bytes of text), then, in one run, measures rows/s and peak RSS of:
//
//	(a) a plain-Go baseline: one pgx streaming SELECT written as JSON lines
//	(b) beamsync: snapshot -> file view, identity mapping
//	(c) beamsync: snapshot -> file view, an 8-field mapping
//
// and the peak RSS of (b) at N and 3N rows. Each measurement runs in its own
// process so that peak RSS is its own.
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/beamsync/beamsync/internal/bench/benchenv"
	"github.com/jackc/pgx/v5"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "baseline" || os.Args[1] == "baseline-typical") {
		run := baseline
		if os.Args[1] == "baseline-typical" {
			run = baselineTypical
		}
		if err := run(os.Getenv("BENCH_DSN"), os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	rows := flag.Int("rows", 1_000_000, "rows in the benchmark table")
	runner := flag.String("runner", "bin/runner", "the beamsync runner binary")
	dsn := flag.String("dsn", os.Getenv("BEAMSYNC_TEST_PG_DSN"), "PostgreSQL admin DSN")
	work := flag.String("work", "out/bench", "work directory")
	repeat := flag.Int("repeat", 5, "runs of each measurement, interleaved; the median is reported")
	flag.Parse()
	if err := benchenv.CheckAdminDSN(*dsn); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(*dsn, *runner, *work, *rows, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	name    string
	rows    int
	elapsed time.Duration
	maxRSS  int64 // bytes
}

func (r result) rate() float64 { return float64(r.rows) / r.elapsed.Seconds() }

func run(adminDSN, runner, work string, n, repeat int) error {
	ctx := context.Background()
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	work, _ = filepath.Abs(work)
	runner, _ = filepath.Abs(runner)
	self, _ := os.Executable()

	db1, err := makeTable(ctx, adminDSN, "bench_1x", n)
	if err != nil {
		return err
	}
	db3, err := makeTable(ctx, adminDSN, "bench_3x", 3*n)
	if err != nil {
		return err
	}
	if err := writeJobs(work); err != nil {
		return err
	}
	measure := func(name string, rows int, dsn string, cmd string, args ...string) (result, error) {
		c := exec.Command(cmd, args...)
		c.Env = append(os.Environ(), "BENCH_DSN="+dsn)
		c.Stderr = os.Stderr
		// Each run starts with no dirty pages of the one before it: the
		// kernel's writeback of a finished run's output would otherwise
		// compete with the next run for the disk.
		syscall.Sync()
		start := time.Now()
		out, err := c.Output()
		el := time.Since(start)
		if err != nil {
			return result{}, fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		ru := c.ProcessState.SysUsage().(*syscall.Rusage)
		return result{name: name, rows: rows, elapsed: el, maxRSS: ru.Maxrss * 1024}, nil
	}
	type measurement struct {
		name string
		dsn  string
		rows int
		cmd  string
		args []string
	}
	ms := []measurement{
		{"(a) plain Go: pgx SELECT -> JSON lines (raw text values)", db1, n, self, []string{"baseline", "bench", filepath.Join(work, "baseline.jsonl")}},
		{"(b) beamsync snapshot -> file view, identity mapping", db1, n, runner, []string{"run", "--job", filepath.Join(work, "identity.yaml"), "--progress", "off"}},
		{"(c) beamsync snapshot -> file view, 8-field mapping", db1, n, runner, []string{"run", "--job", filepath.Join(work, "eight.yaml"), "--progress", "off"}},
		{"(b) at 3x rows", db3, 3 * n, runner, []string{"run", "--job", filepath.Join(work, "identity.yaml"), "--progress", "off"}},
		{"(a') plain Go, typical: pgx Values() + encoding/json", db1, n, self, []string{"baseline-typical", "bench", filepath.Join(work, "baseline-typical.jsonl")}},
	}
	// Interleaved rounds, so that drift in the machine's load hits every
	// measurement alike; the median run of each is reported. The run at 3x
	// rows has rounds of its own, after the others: its table does not fit
	// the server's buffer pool next to the 1M-row one, and reading it
	// between them would leave each 1M run a different pool.
	runs := make([][]result, len(ms))
	const threeX = 3
	for _, group := range [][]int{{0, 1, 2, 4}, {threeX}} {
		for round := 0; round < max(1, repeat); round++ {
			for _, i := range group {
				m := ms[i]
				r, err := measure(m.name, m.rows, m.dsn, m.cmd, m.args...)
				if err != nil {
					return err
				}
				runs[i] = append(runs[i], r)
			}
		}
	}
	// Each round's ratios, before the medians reorder the runs.
	var rounds []string
	for k := range runs[0] {
		rounds = append(rounds, fmt.Sprintf("%.2fx/%.2fx", runs[1][k].rate()/runs[0][k].rate(), runs[2][k].rate()/runs[0][k].rate()))
	}
	res := make([]result, len(ms))
	for i, rs := range runs {
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.elapsed, b.elapsed) })
		res[i] = rs[len(rs)/2]
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "snapshot benchmark, %d rows, median of %d interleaved runs\t\t\t\t\n", n, max(1, repeat))
	fmt.Fprintln(tw, "run\trows\trows/s\tvs (a)\tpeak RSS\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2fx\t%d MiB\t\n", r.name, r.rows, r.rate(), r.rate()/res[0].rate(), r.maxRSS>>20)
	}
	tw.Flush()
	fmt.Printf("\nRSS at %d rows / RSS at %d rows = %.2f (target <= 1.30)\n", 3*n, n, float64(res[3].maxRSS)/float64(res[1].maxRSS))
	fmt.Printf("targets: (b) >= 0.70x (a): %.2fx; (c) >= 0.60x (a): %.2fx\n", res[1].rate()/res[0].rate(), res[2].rate()/res[0].rate())
	fmt.Printf("each round's (b)/(a) and (c)/(a): %s\n", strings.Join(rounds, ", "))
	return nil
}

// makeTable creates (once) a database holding table bench of n rows.
func makeTable(ctx context.Context, adminDSN, name string, n int) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w (start the test servers: scripts/testenv.sh start)", adminDSN, err)
	}
	defer conn.Close(ctx)
	name = fmt.Sprintf("%s_%d", name, n)
	dsn := strings.Replace(adminDSN, "/postgres?", "/"+name+"?", 1)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return dsn, nil
	}
	fmt.Fprintf(os.Stderr, "bench: building %s (%d rows)...\n", name, n)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	c2, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer c2.Close(ctx)
	_, err = c2.Exec(ctx, fmt.Sprintf(`
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
FROM generate_series(1, %d) g;
ANALYZE bench;`, n))
	return dsn, err
}

func writeJobs(work string) error {
	files := map[string]string{
		"identity.yaml": `name: bench-identity
source: {kind: postgres, dsn_env: BENCH_DSN, tables: [public.bench], parallelism: 4}
views: [identity_view.yaml]
sinks: [{name: out, kind: file, dir: views}]
state_dir: state
`,
		"eight.yaml": `name: bench-eight
source: {kind: postgres, dsn_env: BENCH_DSN, tables: [public.bench], parallelism: 4}
views: [eight_view.yaml]
sinks: [{name: out, kind: file, dir: views}]
state_dir: state
`,
		"identity_view.yaml": `view: bench_identity
source: public.bench
all_columns: true
`,
		"eight_view.yaml": `view: bench_eight
source: public.bench
key: [id]
fields:
  id: id
  customer: customer_id
  amount: amount
  status: upper(status)
  created_day: date_of(created_at)
  note_length: len(note)
  sku: json_get(attrs, "sku")
  active: active
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// baseline is the plain-Go loop the figures are compared with, as fast as a
// hand-written loop gets: one streaming SELECT with every column in text
// format, each row written as a JSON object line straight from the raw bytes
// (numbers and JSON as they come, everything else as a JSON string), no
// decoding into Go values.
func baseline(dsn, table, out string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rows, err := conn.Query(ctx, "SELECT * FROM "+pgx.Identifier{table}.Sanitize(), pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return err
	}
	fields := rows.FieldDescriptions()
	names := make([][]byte, len(fields))
	raw := make([]bool, len(fields))
	for i, fd := range fields {
		names[i], _ = json.Marshal(fd.Name)
		switch fd.DataTypeOID {
		case 20, 21, 23, 700, 701, 1700, 114, 3802: // ints, floats, numeric, json, jsonb
			raw[i] = true
		}
	}
	var buf []byte
	for rows.Next() {
		buf = append(buf[:0], '{')
		for i, v := range rows.RawValues() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, names[i]...)
			buf = append(buf, ':')
			switch {
			case v == nil:
				buf = append(buf, "null"...)
			case raw[i]:
				buf = append(buf, v...)
			case fields[i].DataTypeOID == 16: // bool
				if v[0] == 't' {
					buf = append(buf, "true"...)
				} else {
					buf = append(buf, "false"...)
				}
			default:
				buf = strconv.AppendQuote(buf, string(v))
			}
		}
		buf = append(buf, '}', '\n')
		w.Write(buf)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// baselineTypical is the loop most code would be: pgx's decoded Values()
// written with encoding/json.
func baselineTypical(dsn, table, out string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rows, err := conn.Query(ctx, "SELECT * FROM "+pgx.Identifier{table}.Sanitize())
	if err != nil {
		return err
	}
	fields := rows.FieldDescriptions()
	names := make([][]byte, len(fields))
	for i, fd := range fields {
		names[i], _ = json.Marshal(fd.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		w.WriteByte('{')
		for i, v := range vals {
			if i > 0 {
				w.WriteByte(',')
			}
			w.Write(names[i])
			w.WriteByte(':')
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			w.Write(b)
		}
		w.WriteString("}\n")
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}
