package pipelines_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bq "cloud.google.com/go/bigquery"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/beamsync/beamsync/internal/testenv"
)

func bigQueryEmulator() (endpoint, project string) {
	endpoint, project = os.Getenv("BEAMSYNC_TEST_BIGQUERY_ENDPOINT"), os.Getenv("BEAMSYNC_TEST_BIGQUERY_PROJECT")
	if endpoint == "" {
		endpoint = "http://127.0.0.1:9050"
	}
	if project == "" {
		project = "test-proj"
	}
	return endpoint, project
}

// TestAllSinksExample runs examples/all-sinks/job.yaml as shipped, with the
// environment pointing it at the local servers, and checks that every sink
// holds the same rows as the file view.
func TestAllSinksExample(t *testing.T) {
	src, err := os.ReadFile("../examples/all-sinks/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// The job's relative paths are relative to examples/all-sinks; the copy
	// lives in a temporary directory, so its outputs stay out of the tree.
	job := strings.NewReplacer("../../", root+"/", "../demo/", root+"/examples/demo/").Replace(string(src))
	path := writeJob(t, job, nil)

	osURL := openSearchURL(t)
	bqEndpoint, bqProject := bigQueryEmulator()
	prefix := testenv.UniqueName("all") + "_"
	dataset := strings.TrimSuffix(prefix, "_")
	for k, v := range map[string]string{
		"OPENSEARCH_URL": osURL, "OPENSEARCH_USER": "admin", "OPENSEARCH_PASSWORD": "admin",
		"DYNAMODB_ENDPOINT": dynamoEndpoint(), "DEMO_PREFIX": prefix,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"BIGQUERY_PROJECT": bqProject, "BIGQUERY_ENDPOINT": bqEndpoint, "BIGQUERY_DATASET": dataset,
	} {
		t.Setenv(k, v)
	}
	if u := os.Getenv("OPENSEARCH_USERNAME"); u != "" {
		t.Setenv("OPENSEARCH_USER", u)
		t.Setenv("OPENSEARCH_PASSWORD", os.Getenv("OPENSEARCH_PASSWORD"))
	}

	sum := runJob(t, path, "direct")
	if sum.DeadLetters != 0 {
		t.Fatalf("%d dead letters", sum.DeadLetters)
	}
	out := filepath.Join(filepath.Dir(path), "out", "views")
	for _, v := range []struct{ view, key string }{{"customers", "id"}, {"open_orders", "order_id"}} {
		want := fileView(t, filepath.Join(out, v.view+".jsonl"), v.key)
		if len(want) == 0 {
			t.Fatalf("the file view %s is empty", v.view)
		}

		var count struct{ Count int }
		getJSON(t, osURL+"/demo_"+v.view+"/_refresh", &map[string]any{})
		getJSON(t, osURL+"/demo_"+v.view+"/_count", &count)
		if count.Count != len(want) {
			t.Errorf("%s: %d OpenSearch documents, %d file rows", v.view, count.Count, len(want))
		}

		ddb := dynamodb.New(dynamodb.Options{
			BaseEndpoint: aws.String(dynamoEndpoint()), Region: "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		})
		n := 0
		pages := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(prefix + v.view)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Items)
		}
		if n != len(want) {
			t.Errorf("%s: %d DynamoDB items, %d file rows", v.view, n, len(want))
		}

		keys := bigQueryKeys(t, bqEndpoint, bqProject, dataset, v.view, v.key)
		if len(keys) != len(want) {
			t.Errorf("%s: %d BigQuery rows, %d file rows", v.view, len(keys), len(want))
		}
		for k := range want {
			if !keys[k] {
				t.Errorf("%s: key %s is in the file view but not in BigQuery", v.view, k)
				break
			}
		}
	}
}

// bigQueryKeys returns the keys of a BigQuery view table.
func bigQueryKeys(t *testing.T, endpoint, project, dataset, table, key string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	c, err := bq.NewClient(ctx, project, option.WithEndpoint(endpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	it, err := c.Query("SELECT CAST(" + key + " AS STRING) AS k FROM `" + project + "." + dataset + "." + table + "`").Read(ctx)
	if err != nil {
		t.Fatalf("reading BigQuery table %s.%s: %v", dataset, table, err)
	}
	keys := map[string]bool{}
	for {
		var row struct{ K string }
		switch err := it.Next(&row); err {
		case nil:
			keys[row.K] = true
		case iterator.Done:
			return keys
		default:
			t.Fatal(err)
		}
	}
}
