package dynamodb

import (
	"context"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
	"github.com/beamsync/beamsync/internal/testenv"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "direct") }

// DefaultTestEndpoint is where scripts/testenv.sh starts dynalite.
const defaultTestEndpoint = "http://127.0.0.1:4567"

// dynalite returns the test DynamoDB endpoint, failing the test when no
// server answers there.
func dynalite(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("BEAMSYNC_TEST_DYNAMODB_ENDPOINT")
	if ep == "" {
		ep = defaultTestEndpoint
	}
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatalf("parsing BEAMSYNC_TEST_DYNAMODB_ENDPOINT %q: %v", ep, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Fatalf("DynamoDB test server (dynalite) not reachable at %s: %v\nstart it with: scripts/testenv.sh start", ep, err)
	}
	c.Close()
	return ep
}

// testConfig is a configuration for one test table with fast retries.
func testConfig(endpoint, table string) Config {
	return Config{
		Table:    table,
		Endpoint: endpoint,
		Retry:    retry.Policy{Initial: 2 * time.Millisecond, Max: 50 * time.Millisecond, Attempts: 30, Elapsed: time.Minute},
	}
}

func testClient(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	c, err := NewClient(context.Background(), Config{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniqueTable returns a table name unique to this test, deleted when the
// test ends.
func uniqueTable(t testing.TB, endpoint, prefix string) string {
	t.Helper()
	name := testenv.UniqueName(prefix)
	c := testClient(t, endpoint)
	t.Cleanup(func() { deleteTable(c, name) })
	return name
}

func deleteTable(c *dynamodb.Client, name string) {
	_, _ = c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
}

var ordersView = change.ViewSchema{
	Name: "orders",
	Key:  []string{"id"},
	Fields: []change.Field{
		{Name: "id", Kind: change.KindInt},
		{Name: "name", Kind: change.KindString, Nullable: true},
		{Name: "amount", Kind: change.KindDecimal, Nullable: true},
	},
}

func order(id int64, pos change.Position, name string) change.Record {
	return change.Record{
		Key:       []any{id},
		Position:  pos,
		SourcePos: "test@" + pos.String(),
		Doc: &change.Doc{
			Names:  []string{"id", "name", "amount"},
			Values: []any{id, name, change.Decimal("12.50")},
		},
	}
}

func deleteOf(id int64, pos change.Position) change.Record {
	return change.Record{Key: []any{id}, Delete: true, Position: pos}
}

// newWriter makes a writer and collects its dead letters.
func newWriter(t testing.TB, cfg Config, view change.ViewSchema, opts ...Option) (*Writer, *[]change.DeadLetter) {
	t.Helper()
	var dead []change.DeadLetter
	opts = append([]Option{WithDeadLetter(func(d change.DeadLetter) { dead = append(dead, d) }), WithSinkName("ddb")}, opts...)
	w, err := NewWriter(context.Background(), cfg, view, opts...)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	return w, &dead
}

func addAll(t testing.TB, w *Writer, recs ...change.Record) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := w.Add(ctx, r); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// scanAll reads every item of a table, by the text of its "id" attribute.
func scanAll(t testing.TB, c *dynamodb.Client, table string) map[string]map[string]types.AttributeValue {
	t.Helper()
	items := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scanning %s: %v", table, err)
		}
		for _, it := range out.Items {
			items[attrText(it["id"])] = it
		}
	}
	return items
}

func getItem(t testing.TB, c *dynamodb.Client, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item
}

func attrText(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return x.Value
	case *types.AttributeValueMemberBOOL:
		if x.Value {
			return "true"
		}
		return "false"
	case nil:
		return "<missing>"
	}
	return "<other>"
}

func idKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: id}}
}

// countingAPI counts the write calls that pass through it.
type countingAPI struct {
	API
	puts, deletes, batchWrites atomic.Int64
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.API.PutItem(ctx, in, o...)
}

func (c *countingAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.deletes.Add(1)
	return c.API.DeleteItem(ctx, in, o...)
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.batchWrites.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}
