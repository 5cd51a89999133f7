package pipelines_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/sinks/opensearch/ostest"
)

func dynamoEndpoint() string {
	if v := os.Getenv("BEAMSYNC_TEST_DYNAMODB_ENDPOINT"); v != "" {
		return v
	}
	return "http://127.0.0.1:4567"
}

// demoJob writes a job that maps the demo data into the given sinks.
func demoJob(t *testing.T, sinks string) string {
	t.Helper()
	demo, err := filepath.Abs("../examples/demo")
	if err != nil {
		t.Fatal(err)
	}
	data, err := filepath.Abs("../testdata/files/demo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range []string{"customers.yaml", "open_orders.yaml"} {
		b, err := os.ReadFile(filepath.Join(demo, f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = string(b)
	}
	return writeJob(t, `
name: demo-sinks
source:
  kind: files
  files:
    - {path: `+data+`/customers.jsonl, table: customers, key: [id]}
    - {path: `+data+`/orders.jsonl, table: orders, key: [order_id]}
views: [customers.yaml, open_orders.yaml]
sinks:
  - {name: views, kind: file, dir: out}
`+sinks, m)
}

// fileView reads a file view into key -> row.
func fileView(t *testing.T, path, key string) map[string]map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]any
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		d.UseNumber()
		if err := d.Decode(&row); err != nil {
			t.Fatal(err)
		}
		out[string(row[key].(json.Number))] = row
	}
	return out
}

// attrString returns a string attribute's value, or nil for NULL.
func attrString(a types.AttributeValue) any {
	if s, ok := a.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return nil
}

func TestDemoIntoDynamoDBMatchesTheFileView(t *testing.T) {
	prefix := testenv.UniqueName("demo") + "_"
	path := demoJob(t, `  - name: readmodel
    kind: dynamodb
    dynamodb: {endpoint: `+dynamoEndpoint()+`, region: us-east-1, table_prefix: `+prefix+`}
`)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			sum := runJob(t, path, runner)
			if sum.DeadLetters != 0 {
				t.Fatalf("%d dead letters", sum.DeadLetters)
			}
			want := fileView(t, filepath.Join(filepath.Dir(path), "out", "open_orders.jsonl"), "order_id")
			client := dynamodb.New(dynamodb.Options{
				BaseEndpoint: aws.String(dynamoEndpoint()), Region: "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			})
			var items []map[string]types.AttributeValue
			pages := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(prefix + "open_orders")})
			for pages.HasMorePages() {
				page, err := pages.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, page.Items...)
			}
			if len(items) != len(want) || len(want) != 173 {
				t.Fatalf("%d items in DynamoDB, %d rows in the file view (want 173)", len(items), len(want))
			}
			for _, it := range items {
				id := it["order_id"].(*types.AttributeValueMemberN).Value
				row, ok := want[id]
				if !ok {
					t.Fatalf("order %s is in DynamoDB but not in the file view", id)
				}
				// DynamoDB keeps numbers by value (49.00 is stored as 49).
				got, _ := new(big.Rat).SetString(it["total"].(*types.AttributeValueMemberN).Value)
				want, _ := new(big.Rat).SetString(string(row["total"].(json.Number)))
				if got.Cmp(want) != 0 {
					t.Errorf("order %s: total %s in DynamoDB, %s in the file view", id, got, want)
				}
				if got := attrString(it["status"]); got != row["status"] {
					t.Errorf("order %s: status %v, want %v", id, got, row["status"])
				}
				ship := it["shipping"].(*types.AttributeValueMemberM).Value
				if got := attrString(ship["city"]); got != row["shipping"].(map[string]any)["city"] {
					t.Errorf("order %s: shipping city %v, want %v", id, got, row["shipping"].(map[string]any)["city"])
				}
			}
		})
	}
}

// openSearchURL is a real OpenSearch when OPENSEARCH_URL is set, else the
// strict in-process test server.
func openSearchURL(t *testing.T) string {
	if u := os.Getenv("OPENSEARCH_URL"); u != "" {
		return u
	}
	return ostest.NewServer(t).URL
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(into); err != nil {
		t.Fatal(err)
	}
}

func TestDemoIntoOpenSearchMatchesTheFileView(t *testing.T) {
	url := openSearchURL(t)
	alias := testenv.UniqueName("demo")
	path := demoJob(t, `  - name: search
    kind: opensearch
    opensearch: {addresses: [`+url+`], index: "`+alias+`_{view}", mode: replace}
`)
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			sum := runJob(t, path, runner)
			if sum.DeadLetters != 0 {
				t.Fatalf("%d dead letters", sum.DeadLetters)
			}
			want := fileView(t, filepath.Join(filepath.Dir(path), "out", "open_orders.jsonl"), "order_id")
			getJSON(t, url+"/"+alias+"_open_orders/_refresh", &map[string]any{})
			var count struct{ Count int }
			getJSON(t, url+"/"+alias+"_open_orders/_count", &count)
			if count.Count != len(want) || count.Count != 173 {
				t.Fatalf("%d documents behind the alias, %d rows in the file view (want 173)", count.Count, len(want))
			}
			for id, row := range want {
				var doc struct {
					Source map[string]any `json:"_source"`
				}
				getJSON(t, url+"/"+alias+"_open_orders/_doc/"+id, &doc)
				for k := range doc.Source {
					if strings.HasPrefix(k, "_beamsync_") {
						delete(doc.Source, k)
					}
				}
				got, _ := json.Marshal(doc.Source)
				exp, _ := json.Marshal(row)
				if string(got) != string(exp) {
					t.Fatalf("order %s:\n opensearch: %s\n file view:  %s", id, got, exp)
				}
			}
		})
	}
}
