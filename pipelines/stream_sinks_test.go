package pipelines_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

func person(op change.Op, id int64, name string, pos change.Position) change.Change {
	row := []any{id, name}
	c := change.Change{Op: op, Key: []any{id}, Position: pos, SourcePos: "pos " + pos.String()}
	if op == change.OpDelete {
		c.Before = row
	} else {
		c.After = row
	}
	return c
}

// TestStreamIntoDatabaseSinks streams a snapshot and changes (an update, a
// delete, an insert, an update older than the row) into DynamoDB,
// OpenSearch and BigQuery at once, and checks each holds the same rows.
func TestStreamIntoDatabaseSinks(t *testing.T) {
	osURL := openSearchURL(t)
	bqEndpoint, bqProject := bigQueryEmulator()
	prefix := testenv.UniqueName("st") + "_"
	dataset := strings.TrimSuffix(prefix, "_")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	path := writeJob(t, `
name: stream-sinks
source:
  kind: files
  files: [{path: people.jsonl, table: people, key: [id]}]
views: [names.yaml]
sinks:
  - {name: ddb, kind: dynamodb, dynamodb: {endpoint: `+dynamoEndpoint()+`, region: us-east-1, table_prefix: `+prefix+`}}
  - {name: search, kind: opensearch, opensearch: {addresses: [`+osURL+`], index: "`+prefix+`{view}"}}
  - {name: warehouse, kind: bigquery, bigquery: {project: `+bqProject+`, dataset: `+dataset+`, endpoint: `+bqEndpoint+`, merge_interval: 1ms}}
`, map[string]string{
		"people.jsonl": `{"id": 1, "name": "x"}` + "\n",
		"names.yaml":   "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: upper(name)\n",
	})
	j, err := pipelines.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	table := plan.Tables[0]
	txns := [][]change.Change{
		{person(change.OpUpdate, 1, "ada", 10)},
		{person(change.OpDelete, 2, "", 11), person(change.OpCreate, 4, "dan", 11)},
		{person(change.OpUpdate, 3, "cy", 13)},
		{person(change.OpUpdate, 1, "stale", 5)},
	}
	transforms.RegisterStreamSource("sinks-script", func(_ context.Context, _ string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error) {
		if snapshot != nil {
			for id := int64(1); id <= 3; id++ {
				if err := snapshot(change.Batch{Table: table, Changes: []change.Change{person(change.OpRead, id, "snap", 1)}}); err != nil {
					return nil, err
				}
			}
		}
		return pipelines.NewScriptStream(table, txns, 0), nil
	})
	defer pipelines.UseStreamSource("sinks-script")()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stop, stopStream := context.WithCancel(ctx)
	go func() {
		for stop.Err() == nil {
			if ls := transforms.Live(j.Name); ls != nil && ls.Acked() == change.Checkpoint(strconv.Itoa(len(txns))) {
				stopStream()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := pipelines.RunStream(stop, plan, pipelines.StreamOptions{}); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the stream never acknowledged its last transaction")
	}
	want := map[string]string{"1": "ADA", "3": "CY", "4": "DAN"}

	// DynamoDB
	ddb := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(dynamoEndpoint()), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	out, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(prefix + "names")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range out.Items {
		if d, ok := it["_deleted"].(*types.AttributeValueMemberBOOL); ok && d.Value {
			continue // a tombstone
		}
		got[it["id"].(*types.AttributeValueMemberN).Value] = attrString(it["name"]).(string)
	}
	if !equalMaps(got, want) {
		t.Errorf("DynamoDB holds %v, want %v", got, want)
	}

	// OpenSearch (the alias hides tombstones)
	getJSON(t, osURL+"/"+prefix+"names/_refresh", &map[string]any{})
	var search struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			}
		}
	}
	getJSON(t, osURL+"/"+prefix+"names/_search?size=100", &search)
	got = map[string]string{}
	for _, h := range search.Hits.Hits {
		got[h.ID], _ = h.Source["name"].(string)
	}
	if !equalMaps(got, want) {
		t.Errorf("OpenSearch holds %v, want %v", got, want)
	}

	// BigQuery
	keys := bigQueryKeys(t, bqEndpoint, bqProject, dataset, "names", "id")
	if len(keys) != 3 || !keys["1"] || !keys["3"] || !keys["4"] {
		t.Errorf("BigQuery holds keys %v, want 1, 3 and 4", keys)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
