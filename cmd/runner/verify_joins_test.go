package main

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/beamsync/beamsync/internal/testenv"
)

// TestVerifyJoinedView verifies a view that joins tables of two services'
// databases: it computes the join from the sources itself, so a change on
// the joined side shows as changed rows.
func TestVerifyJoinedView(t *testing.T) {
	shop, crm := testenv.NewPostgresDB(t), testenv.NewMySQLDB(t)
	testenv.ExecAllPostgres(t, shop,
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint, status text NOT NULL)",
		"CREATE TABLE order_lines (id int PRIMARY KEY, order_id int NOT NULL, qty int NOT NULL)",
		"INSERT INTO orders SELECT i, 1 + i % 3, 'paid' FROM generate_series(1, 30) i",
		"INSERT INTO order_lines SELECT i, 1 + i % 30, i FROM generate_series(1, 90) i")
	testenv.ExecAllMySQL(t, crm,
		"CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(40) NOT NULL)",
		"INSERT INTO customers VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	t.Setenv("VJ_SHOP_DSN", shop)
	t.Setenv("VJ_CRM_DSN", crm)
	dir := writeFiles(t, map[string]string{
		"job.yaml": `name: vj
sources:
  - {name: shop, kind: postgres, dsn_env: VJ_SHOP_DSN, tables: [orders, order_lines]}
  - {name: crm, kind: mysql, dsn_env: VJ_CRM_DSN, tables: [customers]}
views: [docs.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`,
		"docs.yaml": `view: docs
source: shop.orders
joins:
  customer: {table: crm.customers, on: {customer_id: id}}
  lines: {table: shop.order_lines, on: {id: order_id}, many: true}
fields:
  id: id
  who: customer.name
  qty: sum(map(lines, .qty))
`})
	path := filepath.Join(dir, "job.yaml")
	if code, out, errOut := invoke(t, "run", "--job", path, "--progress", "off"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := invoke(t, "verify", "--job", path)
	if code != exitOK {
		t.Fatalf("verify of a fresh joined view: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`docs\s+out \(file\)\s+30\s+30\s+0\s+0\s+0\s+0\s+ok`).MatchString(out) {
		t.Errorf("verify does not report 30 equal rows:\n%s", out)
	}
	// A rename on the joined side changes the rows of that customer's ten
	// orders; a deleted line changes its order's total (order 16, one of them).
	testenv.ExecAllMySQL(t, crm, "UPDATE customers SET name = 'TWO' WHERE id = 2")
	testenv.ExecAllPostgres(t, shop, "DELETE FROM order_lines WHERE id = 45")
	code, out, _ = invoke(t, "verify", "--job", path, "--show", "20")
	if code != exitFail {
		t.Fatalf("verify after changes: exit %d\n%s", code, out)
	}
	if !regexp.MustCompile(`docs\s+out \(file\)\s+30\s+30\s+0\s+0\s+10\s+0\s+DIFFERS`).MatchString(out) {
		t.Errorf("verify does not count 10 changed rows of 30:\n%s", out)
	}
	contains(t, "verify's output", out, `"who":"TWO"`, "changed  key [16]")
}
