package pipelines_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/beamsync/beamsync/internal/testenv"
)

// TestJoinedViewSkew builds joined views over skewed data: one order with
// 100,000 lines (one view row holding them all), and 100,000 orders of one
// customer (one joined row attached to every view row).
func TestJoinedViewSkew(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 200,000 rows; runs without -short")
	}
	const n = 100_000
	shop, crm := testenv.NewPostgresDB(t), testenv.NewMySQLDB(t)
	testenv.ExecAllPostgres(t, shop, joinShopSchema,
		fmt.Sprintf(`INSERT INTO orders SELECT g, CASE WHEN g = 0 THEN 20 ELSE 10 END, 'paid' FROM generate_series(0, %d) g`, n),
		fmt.Sprintf(`INSERT INTO order_lines SELECT g, 0, NULL, %d - g, 1 + g %% 3, (g %% 1000) / 100.0 FROM generate_series(1, %d) g`, n, n))
	testenv.ExecAllMySQL(t, crm, joinCRMSchema,
		`INSERT INTO customers VALUES (10, 'many orders', NULL), (20, 'many lines', NULL)`)
	t.Setenv("SKEW_SHOP_DSN", shop)
	t.Setenv("SKEW_CRM_DSN", crm)
	path := writeJob(t, `
name: skew
sources:
  - {name: shop, kind: postgres, dsn_env: SKEW_SHOP_DSN, tables: [orders, order_lines], parallelism: 2}
  - {name: crm, kind: mysql, dsn_env: SKEW_CRM_DSN, tables: [customers]}
views: [docs.yaml]
sinks: [{name: out, kind: file, dir: out}]
`, map[string]string{"docs.yaml": `view: docs
source: shop.orders
joins:
  customer: {table: crm.customers, on: {customer_id: id}, type: inner}
  lines: {table: shop.order_lines, on: {id: order_id}, many: true, order_by: [line_no]}
fields:
  id: id
  who: customer.name
  n: len(lines)
  qty: sum(map(lines, .qty))
  first: map(lines, .id)[:3]
`})
	sum := runJob(t, path, "direct")
	if sum.DeadLetters != 0 {
		t.Errorf("dead letters: %d", sum.DeadLetters)
	}
	f, err := os.Open(filepath.Join(filepath.Dir(path), "out", "docs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	rows := 0
	var wantQty int64
	for g := int64(1); g <= n; g++ {
		wantQty += 1 + g%3
	}
	for sc.Scan() {
		var doc struct {
			ID    int64
			Who   string
			N     int64
			Qty   int64
			First []int64
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("row %d: %v", rows, err)
		}
		want := fmt.Sprintf("{ID:%d Who:many orders N:0 Qty:0 First:[]}", doc.ID)
		if doc.ID == 0 {
			want = fmt.Sprintf("{ID:0 Who:many lines N:%d Qty:%d First:[%d %d %d]}", n, wantQty, n, n-1, n-2)
		}
		if got := fmt.Sprintf("%+v", doc); got != want {
			t.Fatalf("row %d: got %s, want %s", rows, got, want)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != n+1 {
		t.Errorf("%d rows, want %d", rows, n+1)
	}
}
