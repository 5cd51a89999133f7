// Command bench-join measures a batch run of a joined view against a
// plain-Go baseline that reads the same tables and hash-joins them in
// memory, in the same run: orders joined to their customers (a lookup) and
// to their lines (nested as an array), written as JSON lines. It reports
// orders/s and peak RSS of both, at the given size and at 3× it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/internal/bench/benchenv"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := baseline(os.Getenv("BENCH_DSN"), os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	orders := flag.Int("orders", 1_000_000, "orders (customers: a tenth; lines: three per order)")
	runner := flag.String("runner", "bin/runner", "the beamsync runner binary")
	dsn := flag.String("dsn", os.Getenv("BEAMSYNC_TEST_PG_DSN"), "PostgreSQL admin DSN")
	work := flag.String("work", "out/bench-join", "work directory")
	flag.Parse()
	if err := benchenv.CheckAdminDSN(*dsn); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(*dsn, *runner, *work, *orders); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const mapping = `view: order_docs
source: orders
joins:
  customer: {table: customers, on: {customer_id: id}}
  lines: {table: order_lines, on: {id: order_id}, many: true}
fields:
  id: id
  status: status
  customer: customer.name
  lines:
    each: lines
    fields:
      sku: sku
      qty: qty
      amount: amount
`

func run(adminDSN, runner, work string, n int) error {
	ctx := context.Background()
	work, _ = filepath.Abs(work)
	runner, _ = filepath.Abs(runner)
	self, _ := os.Executable()
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "order_docs.yaml"), []byte(mapping), 0o644); err != nil {
		return err
	}
	job := "name: bench-join\nsource: {kind: postgres, dsn_env: BENCH_DSN, tables: [orders, customers, order_lines], parallelism: 2}\n" +
		"views: [order_docs.yaml]\nsinks: [{name: out, kind: file, dir: out}]\nstate_dir: state\n"
	if err := os.WriteFile(filepath.Join(work, "job.yaml"), []byte(job), 0o644); err != nil {
		return err
	}
	fmt.Printf("%-48s %10s %12s %9s %12s\n", "run (orders; customers n/10; lines 3n)", "orders", "orders/s", "vs (a)", "peak RSS")
	for _, size := range []int{n, 3 * n} {
		dsn, err := makeTables(ctx, adminDSN, size)
		if err != nil {
			return err
		}
		base, err := measure(dsn, self, "baseline", filepath.Join(work, "baseline.jsonl"))
		if err != nil {
			return err
		}
		bs, err := measure(dsn, runner, "run", "--job", filepath.Join(work, "job.yaml"), "--progress", "off")
		if err != nil {
			return err
		}
		rate := func(d time.Duration) float64 { return float64(size) / d.Seconds() }
		fmt.Printf("%-48s %10d %12.0f %8.2fx %9d MiB\n", "(a) plain Go: pgx reads + in-memory hash join", size, rate(base.el), 1.0, base.rss>>20)
		fmt.Printf("%-48s %10d %12.0f %8.2fx %9d MiB\n", "(b) beamsync joined view -> file view (direct)", size, rate(bs.el), base.el.Seconds()/bs.el.Seconds(), bs.rss>>20)
	}
	return nil
}

type measurement struct {
	el  time.Duration
	rss int64
}

func measure(dsn, cmd string, args ...string) (measurement, error) {
	c := exec.Command(cmd, args...)
	c.Dir = filepath.Dir(args[len(args)-1])
	if args[0] == "run" {
		c.Dir = filepath.Dir(args[2])
	}
	c.Env = append(os.Environ(), "BENCH_DSN="+dsn)
	c.Stderr = os.Stderr
	syscall.Sync()
	start := time.Now()
	out, err := c.Output()
	el := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w\n%s", cmd, strings.Join(args, " "), err, out)
	}
	ru := c.ProcessState.SysUsage().(*syscall.Rusage)
	return measurement{el: el, rss: ru.Maxrss * 1024}, nil
}

func makeTables(ctx context.Context, adminDSN string, n int) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w (start the test servers: scripts/testenv.sh start)", adminDSN, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("bench_join_%d", n)
	dsn := strings.Replace(adminDSN, "/postgres?", "/"+name+"?", 1)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return dsn, nil
	}
	fmt.Fprintf(os.Stderr, "bench: building %s...\n", name)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	c2, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer c2.Close(ctx)
	_, err = c2.Exec(ctx, fmt.Sprintf(`
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);
CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL, sku text NOT NULL, qty int NOT NULL, amount numeric(12,2) NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, %[2]d) g;
INSERT INTO orders SELECT g, 1 + g %% %[2]d, (ARRAY['new','paid','shipped'])[1 + g %% 3] FROM generate_series(1, %[1]d) g;
INSERT INTO order_lines SELECT g, 1 + g %% %[1]d, 'SKU-' || (g %% 5000), 1 + g %% 5, (g %% 10000) / 100.0 FROM generate_series(1, %[3]d) g;
ANALYZE;`, n, max(1, n/10), 3*n))
	return dsn, err
}

// baseline is what a developer would write by hand: read the lookups and
// the lines into maps, stream the orders, write JSON lines.
func baseline(dsn, out string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	customers := map[int64]string{}
	rows, _ := conn.Query(ctx, "SELECT id, name FROM customers")
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		customers[id] = name
	}
	if err := rows.Err(); err != nil {
		return err
	}
	type line struct {
		SKU    string      `json:"sku"`
		Qty    int         `json:"qty"`
		Amount json.Number `json:"amount"`
	}
	lines := map[int64][]line{}
	rows, _ = conn.Query(ctx, "SELECT order_id, sku, qty, amount::text FROM order_lines ORDER BY id")
	for rows.Next() {
		var o int64
		var l line
		var amount string
		if err := rows.Scan(&o, &l.SKU, &l.Qty, &amount); err != nil {
			return err
		}
		l.Amount = json.Number(amount)
		lines[o] = append(lines[o], l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	rows, _ = conn.Query(ctx, "SELECT id, customer_id, status FROM orders ORDER BY id")
	for rows.Next() {
		var id, cust int64
		var status string
		if err := rows.Scan(&id, &cust, &status); err != nil {
			return err
		}
		var who any
		if n, ok := customers[cust]; ok {
			who = n
		}
		ls := lines[id]
		if ls == nil {
			ls = []line{}
		}
		if err := enc.Encode(struct {
			ID       int64  `json:"id"`
			Status   string `json:"status"`
			Customer any    `json:"customer"`
			Lines    []line `json:"lines"`
		}{id, status, who, ls}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
