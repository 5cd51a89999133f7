package pipelines_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/internal/testenv"
)

// A schema of three services: orders and their lines in one PostgreSQL
// database, customers and countries in a MariaDB database, products in a
// second PostgreSQL database.
const (
	joinShopSchema = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text NOT NULL);
CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL, product_id bigint, line_no int NOT NULL,
  qty int NOT NULL, amount numeric(10,2) NOT NULL);`
	joinCatalogSchema = `CREATE TABLE products (id bigint PRIMARY KEY, title text NOT NULL);`
	joinCRMSchema     = `
CREATE TABLE countries (code char(2) PRIMARY KEY, name varchar(40) NOT NULL);
CREATE TABLE customers (id decimal(20,0) PRIMARY KEY, name varchar(40) NOT NULL, country_code char(2));`

	joinJob = `
name: joined
sources:
  - {name: shop, kind: postgres, dsn_env: JOIN_SHOP_DSN, tables: [orders, order_lines], chunk_size: 37, parallelism: 3}
  - {name: crm, kind: mysql, dsn_env: JOIN_CRM_DSN, tables: [customers, countries], chunk_size: 11}
  - {name: catalog, kind: postgres, dsn_env: JOIN_CATALOG_DSN, tables: [products]}
views: [order_docs.yaml, paid_by_known.yaml]
sinks: [{name: out, kind: file, dir: out}]
`
	orderDocs = `view: order_docs
source: shop.orders
key: [order_id]
joins:
  customer: {table: crm.customers, on: {customer_id: id}}
  country: {table: crm.countries, parent: customer, on: {country_code: code}}
  lines: {table: shop.order_lines, on: {id: order_id}, many: true, order_by: [line_no]}
  product: {table: catalog.products, parent: lines, on: {product_id: id}}
fields:
  order_id: id
  status: status
  customer: customer.name
  country: customer.country.name
  n_lines: len(lines)
  qty: sum(map(lines, .qty))
  items:
    each: lines
    fields:
      no: line_no
      qty: qty
      amount: amount
      title: product.title
`
	paidByKnown = `view: paid_by_known
source: shop.public.orders
where: status == "paid"
joins:
  customer: {table: crm.customers, on: {customer_id: id}, type: inner}
  top: {table: shop.order_lines, on: {id: order_id}, many: true, order_by: ["amount desc"], limit: 2}
fields:
  id: id
  who: customer.name
  top_amounts: map(top, .amount)
`
)

type joinData struct {
	countries map[string]string
	customers map[int64][2]any // name, country code (or nil)
	products  map[int64]string
	orders    map[int64][2]any // customer id (or nil), status
	lines     []joinLine
}

type joinLine struct {
	id, order int64
	product   any // int64 or nil
	no, qty   int64
	amount    string
}

func genJoinData(seed int64) joinData {
	r := rand.New(rand.NewSource(seed))
	d := joinData{countries: map[string]string{"JP": "Japan", "FR": "France", "BR": "Brazil"},
		customers: map[int64][2]any{}, products: map[int64]string{}, orders: map[int64][2]any{}}
	codes := []any{"JP", "FR", "BR", "XX", nil}
	for i := int64(1); i <= 40; i++ {
		d.customers[i*10] = [2]any{fmt.Sprintf("customer %d 'é'", i), codes[r.Intn(len(codes))]}
	}
	for i := int64(1); i <= 30; i++ {
		d.products[i] = fmt.Sprintf("product %d", i)
	}
	statuses := []string{"paid", "draft", "shipped"}
	lineID := int64(1000)
	for o := int64(1); o <= 150+int64(r.Intn(50)); o++ {
		var cust any = int64(10 * (1 + r.Intn(45))) // some refer to no customer
		if r.Intn(10) == 0 {
			cust = nil
		}
		d.orders[o] = [2]any{cust, statuses[r.Intn(3)]}
		for n := r.Intn(6); n > 0; n-- {
			lineID++
			var prod any = int64(1 + r.Intn(35))
			d.lines = append(d.lines, joinLine{id: lineID, order: o, product: prod, no: int64(r.Intn(20)),
				qty: int64(1 + r.Intn(9)), amount: fmt.Sprintf("%d.%02d", r.Intn(500), r.Intn(100))})
		}
	}
	return d
}

// expectedJoins computes both views from the data, independently of
// beamsync: JSON lines sorted by key.
func (d joinData) expectedJoins() (orderDocs, paid []string) {
	linesOf := map[int64][]joinLine{}
	for _, l := range d.lines {
		linesOf[l.order] = append(linesOf[l.order], l)
	}
	ids := make([]int64, 0, len(d.orders))
	for id := range d.orders {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		o := d.orders[id]
		ls := append([]joinLine(nil), linesOf[id]...)
		sort.SliceStable(ls, func(i, j int) bool {
			if ls[i].no != ls[j].no {
				return ls[i].no < ls[j].no
			}
			return ls[i].id < ls[j].id
		})
		var customer, country any
		c, hasCustomer := [2]any{}, false
		if o[0] != nil {
			c, hasCustomer = d.customers[o[0].(int64)]
		}
		if hasCustomer {
			customer = c[0]
			if c[1] != nil {
				if n, ok := d.countries[c[1].(string)]; ok {
					country = n
				}
			}
		}
		items := []any{}
		var qty int64
		for _, l := range ls {
			var title any
			if t, ok := d.products[l.product.(int64)]; ok {
				title = t
			}
			items = append(items, map[string]any{"no": l.no, "qty": l.qty, "amount": json.Number(l.amount), "title": title})
			qty += l.qty
		}
		orderDocs = append(orderDocs, jsonLine(map[string]any{"order_id": id, "status": o[1], "customer": customer,
			"country": country, "n_lines": len(ls), "qty": qty, "items": items}))
		if o[1] == "paid" && hasCustomer {
			byAmount := append([]joinLine(nil), linesOf[id]...)
			sort.SliceStable(byAmount, func(i, j int) bool {
				a, b := amountCents(byAmount[i].amount), amountCents(byAmount[j].amount)
				if a != b {
					return a > b
				}
				return byAmount[i].id < byAmount[j].id
			})
			top := []any{}
			for k := 0; k < len(byAmount) && k < 2; k++ {
				top = append(top, json.Number(byAmount[k].amount))
			}
			paid = append(paid, jsonLine(map[string]any{"id": id, "who": c[0], "top_amounts": top}))
		}
	}
	return orderDocs, paid
}

func amountCents(s string) int64 {
	var a, b int64
	fmt.Sscanf(s, "%d.%d", &a, &b)
	return a*100 + b
}

func jsonLine(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (d joinData) load(t *testing.T, shop, catalog, crm string) {
	t.Helper()
	ctx := context.Background()
	copyPG := func(dsn, table string, cols []string, rows [][]any) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
			t.Fatalf("loading %s: %v", table, err)
		}
	}
	var orders, lines, products [][]any
	for id, o := range d.orders {
		orders = append(orders, []any{id, o[0], o[1]})
	}
	for _, l := range d.lines {
		lines = append(lines, []any{l.id, l.order, l.product, l.no, l.qty, l.amount})
	}
	for id, title := range d.products {
		products = append(products, []any{id, title})
	}
	copyPG(shop, "orders", []string{"id", "customer_id", "status"}, orders)
	copyPG(shop, "order_lines", []string{"id", "order_id", "product_id", "line_no", "qty", "amount"}, lines)
	copyPG(catalog, "products", []string{"id", "title"}, products)
	db, err := sql.Open("mysql", crm)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for code, name := range d.countries {
		if _, err := db.Exec("INSERT INTO countries VALUES (?, ?)", code, name); err != nil {
			t.Fatal(err)
		}
	}
	for id, c := range d.customers {
		if _, err := db.Exec("INSERT INTO customers VALUES (?, ?, ?)", id, c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJoinedViewsAcrossServices builds views that join tables of three
// services' databases (two PostgreSQL, one MariaDB) on both local runners
// and compares them with the same joins computed in the test.
func TestJoinedViewsAcrossServices(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			shop, catalog, crm := testenv.NewPostgresDB(t), testenv.NewPostgresDB(t), testenv.NewMySQLDB(t)
			testenv.ExecAllPostgres(t, shop, joinShopSchema)
			testenv.ExecAllPostgres(t, catalog, joinCatalogSchema)
			testenv.ExecAllMySQL(t, crm, joinCRMSchema)
			data := genJoinData(seed)
			data.load(t, shop, catalog, crm)
			t.Setenv("JOIN_SHOP_DSN", shop)
			t.Setenv("JOIN_CATALOG_DSN", catalog)
			t.Setenv("JOIN_CRM_DSN", crm)
			wantDocs, wantPaid := data.expectedJoins()
			for _, runner := range runners {
				t.Run(runner, func(t *testing.T) {
					path := writeJob(t, joinJob, map[string]string{"order_docs.yaml": orderDocs, "paid_by_known.yaml": paidByKnown})
					sum := runJob(t, path, runner)
					if sum.DeadLetters != 0 {
						t.Errorf("dead letters: %d", sum.DeadLetters)
					}
					out := filepath.Join(filepath.Dir(path), "out")
					compareJSONLines(t, filepath.Join(out, "order_docs.jsonl"), wantDocs)
					compareJSONLines(t, filepath.Join(out, "paid_by_known.jsonl"), wantPaid)
					if _, err := os.Stat(filepath.Join(filepath.Dir(path), ".beamsync", "joined", "joins", "batch")); !os.IsNotExist(err) {
						t.Errorf("the run left its join store behind (%v)", err)
					}
				})
			}
		})
	}
}

// compareJSONLines compares a view file with the expected lines by meaning
// (numbers by their text).
func compareJSONLines(t *testing.T, path string, want []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		got = nil
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", filepath.Base(path), len(got), len(want))
	}
	bad := 0
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := decodeNumbers(t, got[i]), decodeNumbers(t, want[i])
		if !reflect.DeepEqual(g, w) {
			bad++
			if bad <= 3 {
				t.Errorf("%s row %d:\n got %s\nwant %s", filepath.Base(path), i, got[i], want[i])
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d rows differ", filepath.Base(path), bad)
	}
}

func decodeNumbers(t *testing.T, line string) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(line)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", line, err)
	}
	return v
}

// TestExampleTwoServices runs examples/two-services on its fixtures.
func TestExampleTwoServices(t *testing.T) {
	shop, crm := testenv.NewPostgresDB(t), testenv.NewMySQLDB(t)
	for db, file := range map[string]string{shop: "shop.sql", crm: "crm.sql"} {
		text, err := os.ReadFile(filepath.Join("..", "examples", "two-services", file))
		if err != nil {
			t.Fatal(err)
		}
		if db == shop {
			testenv.ExecAllPostgres(t, db, string(text))
		} else {
			testenv.ExecAllMySQL(t, db, string(text))
		}
	}
	t.Setenv("SHOP_DSN", shop)
	t.Setenv("CRM_DSN", crm)
	dir := t.TempDir()
	for _, f := range []string{"job.yaml", "order_docs.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "two-services", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := runJob(t, filepath.Join(dir, "job.yaml"), "direct")
	if sum.DeadLetters != 0 {
		t.Errorf("dead letters: %d", sum.DeadLetters)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", "views", "order_docs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, got, "two_services_order_docs.jsonl")
}
