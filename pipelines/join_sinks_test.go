package pipelines_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/sinks/bigquery"
	ddbsink "github.com/beamsync/beamsync/sinks/dynamodb"
)

// orderTrees is a joined view with a lookup object (customer, with its
// country inside), an array of the joined rows as they are (lines, each
// with its product inside) and an array built with each: (items).
const orderTrees = `view: order_trees
source: shop.orders
key: [order_id]
joins:
  customer: {table: crm.customers, on: {customer_id: id}}
  country: {table: crm.countries, parent: customer, on: {country_code: code}}
  lines: {table: shop.order_lines, on: {id: order_id}, many: true, order_by: [line_no, id]}
  product: {table: catalog.products, parent: lines, on: {product_id: id}}
fields:
  order_id: id
  status: status
  customer: customer
  lines: lines
  items:
    each: lines
    fields:
      no: line_no
      qty: qty
      amount: amount
      title: product.title
`

// firstOrders keeps the first n orders and their lines.
func (d joinData) firstOrders(n int64) joinData {
	out := d
	out.orders = map[int64][2]any{}
	for id, o := range d.orders {
		if id <= n {
			out.orders[id] = o
		}
	}
	out.lines = nil
	for _, l := range d.lines {
		if l.order <= n {
			out.lines = append(out.lines, l)
		}
	}
	return out
}

// TestJoinedViewIntoEverySink writes a joined view with nested objects and
// arrays of objects into a file, DynamoDB, OpenSearch and BigQuery at once,
// and checks that each sink holds the file view's rows.
func TestJoinedViewIntoEverySink(t *testing.T) {
	shop, catalog, crm := testenv.NewPostgresDB(t), testenv.NewPostgresDB(t), testenv.NewMySQLDB(t)
	testenv.ExecAllPostgres(t, shop, joinShopSchema)
	testenv.ExecAllPostgres(t, catalog, joinCatalogSchema)
	testenv.ExecAllMySQL(t, crm, joinCRMSchema)
	genJoinData(4).firstOrders(36).load(t, shop, catalog, crm)
	osURL := openSearchURL(t)
	bqEndpoint, bqProject := bigQueryEmulator()
	prefix := testenv.UniqueName("js") + "_"
	dataset := strings.TrimSuffix(prefix, "_")
	for k, v := range map[string]string{"JOIN_SHOP_DSN": shop, "JOIN_CATALOG_DSN": catalog, "JOIN_CRM_DSN": crm,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"} {
		t.Setenv(k, v)
	}
	path := writeJob(t, `
name: joined-sinks
sources:
  - {name: shop, kind: postgres, dsn_env: JOIN_SHOP_DSN, tables: [orders, order_lines]}
  - {name: crm, kind: mysql, dsn_env: JOIN_CRM_DSN, tables: [customers, countries]}
  - {name: catalog, kind: postgres, dsn_env: JOIN_CATALOG_DSN, tables: [products]}
views: [order_trees.yaml]
sinks:
  - {name: out, kind: file, dir: out}
  - {name: ddb, kind: dynamodb, dynamodb: {endpoint: `+dynamoEndpoint()+`, region: us-east-1, table_prefix: `+prefix+`}}
  - {name: search, kind: opensearch, opensearch: {addresses: [`+osURL+`], index: "`+prefix+`{view}"}}
  - {name: warehouse, kind: bigquery, bigquery: {project: `+bqProject+`, dataset: `+dataset+`, endpoint: `+bqEndpoint+`}}
`, map[string]string{"order_trees.yaml": orderTrees})
	sum := runJob(t, path, "direct")
	if sum.DeadLetters != 0 {
		t.Errorf("%d dead letters", sum.DeadLetters)
	}
	file := fileView(t, filepath.Join(filepath.Dir(path), "out", "order_trees.jsonl"), "order_id")
	if len(file) != 36 {
		t.Fatalf("the file view holds %d orders, want 36", len(file))
	}
	want := map[string]any{}
	nested := 0
	for k, row := range file {
		want[k] = meaning(row)
		if items, _ := row["items"].([]any); len(items) > 0 && row["customer"] != nil {
			nested++
		}
	}
	if nested == 0 {
		t.Fatal("no order has both a customer and lines: the test data proves nothing")
	}

	compareSink(t, "DynamoDB", want, dynamoRows(t, prefix+"order_trees"))
	compareSink(t, "OpenSearch", want, openSearchRows(t, osURL, prefix+"order_trees"))
	compareSink(t, "BigQuery", want, bigQueryRows(t, bqEndpoint, bqProject, dataset, "order_trees"))
}

// meaning normalises a value read from any sink: numbers by their exact
// value; null fields (which some sinks leave out), empty arrays (BigQuery
// reads a null array as an empty one and cannot tell them apart) and
// OpenSearch's and BigQuery's own _beamsync_ fields dropped.
func meaning(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if l, ok := e.([]any); e == nil || ok && len(l) == 0 || strings.HasPrefix(k, "_beamsync_") {
				continue
			}
			out[k] = meaning(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = meaning(e)
		}
		return out
	case json.Number:
		return number(string(x))
	case int64:
		return number(fmt.Sprint(x))
	case float64:
		return number(fmt.Sprint(x))
	case *big.Rat:
		return "n:" + x.RatString()
	}
	return v
}

func number(s string) any {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return "n:" + r.RatString()
}

func compareSink(t *testing.T, sink string, want, got map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s holds %d rows, the file view %d", sink, len(got), len(want))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, want[k]) {
			bad++
			if bad <= 2 {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(want[k])
				t.Errorf("%s order %s:\n got  %s\n file %s", sink, k, gj, wj)
			}
		}
	}
	if bad > 2 {
		t.Errorf("%s: %d rows differ from the file view", sink, bad)
	}
}

func dynamoRows(t *testing.T, table string) map[string]any {
	t.Helper()
	client := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(dynamoEndpoint()), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	out := map[string]any{}
	pages := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if d, ok := it[ddbsink.DeletedAttribute].(*types.AttributeValueMemberBOOL); ok && d.Value {
				continue // a tombstone
			}
			delete(it, ddbsink.DefaultVersionAttribute)
			row := attrAny(&types.AttributeValueMemberM{Value: it}).(map[string]any)
			out[strings.TrimPrefix(row["order_id"].(string), "n:")] = meaning(row)
		}
	}
	return out
}

// attrAny converts an attribute value to plain values (numbers as "n:" text).
func attrAny(a types.AttributeValue) any {
	switch x := a.(type) {
	case *types.AttributeValueMemberN:
		return number(x.Value)
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = attrAny(e)
		}
		return l
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range x.Value {
			m[k] = attrAny(e)
		}
		return m
	}
	return fmt.Sprintf("unexpected attribute %T", a)
}

func openSearchRows(t *testing.T, url, alias string) map[string]any {
	t.Helper()
	getJSON(t, url+"/"+alias+"/_refresh", &map[string]any{})
	var search struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	getJSON(t, url+"/"+alias+"/_search?size=1000", &search)
	out := map[string]any{}
	for _, h := range search.Hits.Hits {
		out[h.ID] = meaning(h.Source)
	}
	return out
}

// bigQueryRows reads a view's table the way verify does.
func bigQueryRows(t *testing.T, endpoint, project, dataset, view string) map[string]any {
	t.Helper()
	rows, err := bigquery.ScanView(context.Background(), bigquery.Config{Project: project, Dataset: dataset, Endpoint: endpoint}, view)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, r := range rows {
		out[fmt.Sprint(r.Fields["order_id"])] = meaning(r.Fields)
	}
	return out
}
