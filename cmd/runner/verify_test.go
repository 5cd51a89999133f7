package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bq "cloud.google.com/go/bigquery"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"google.golang.org/api/option"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/sinks/opensearch/ostest"
)

// The plants of every sink test: key 3 deleted from the sink (missing), key
// 1000 added (extra), key 7's name changed (changed), key 5 given a version
// far ahead of any snapshot with the same row (stale).
const (
	plantMissing = 3
	plantExtra   = 1000
	plantChanged = 7
	plantStale   = 5
	// aheadBy puts a planted version beyond every snapshot position of
	// the test (positions are PostgreSQL LSNs << 8).
	aheadBy = 1 << 50
)

const verifyMapping = `view: items
source: public.items
key: [id]
fields:
  id: id
  name: name
  price: price
  updated: updated
  tags: tags
`

// verifyJob makes a PostgreSQL table of 40 items and a job mapping it into
// the given sink; it returns the job's path.
func verifyJob(t *testing.T, sink string) string {
	t.Helper()
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		"CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(12,2), updated timestamptz, tags jsonb)",
		`INSERT INTO items SELECT i, 'item ' || i, i * 1.25, timestamptz '2024-03-01 10:00:00.123456+00' + i * interval '1 hour',
		   jsonb_build_object('n', i, 'f', i / 4.0) FROM generate_series(1, 40) i`)
	t.Setenv("VERIFY_TEST_DSN", dsn)
	dir := writeFiles(t, map[string]string{
		"job.yaml":   "name: verify\nsource: {kind: postgres, dsn_env: VERIFY_TEST_DSN, tables: [public.items]}\nviews: [items.yaml]\nsinks:\n" + sink + "state_dir: state\n",
		"items.yaml": verifyMapping,
	})
	path := filepath.Join(dir, "job.yaml")
	if code, out, errOut := invoke(t, "run", "--job", path, "--progress", "off"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	return path
}

// checkVerifyClean runs verify on a freshly written view: nothing differs.
func checkVerifyClean(t *testing.T, path string) {
	t.Helper()
	code, out, errOut := invoke(t, "verify", "--job", path)
	if code != exitOK {
		t.Fatalf("verify of a correct view: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`items\s+\S+ \(\w+\)\s+40\s+40\s+0\s+0\s+0\s+0\s+ok`).MatchString(out) {
		t.Errorf("verify of a correct view does not report 40 equal rows:\n%s", out)
	}
}

// checkVerifyPlanted runs verify after the plants: it must report exactly
// them, with the right keys and values, and exit 1.
func checkVerifyPlanted(t *testing.T, path string) {
	t.Helper()
	code, out, errOut := invoke(t, "verify", "--job", path, "--view", "items")
	if code != exitFail {
		t.Fatalf("verify after the plants: exit %d, want %d\n%s\n%s", code, exitFail, out, errOut)
	}
	if !regexp.MustCompile(`items\s+\S+ \(\w+\)\s+40\s+40\s+1\s+1\s+1\s+1\s+DIFFERS`).MatchString(out) {
		t.Errorf("the table does not count 1 missing, 1 extra, 1 changed, 1 stale of 40/40 rows:\n%s", out)
	}
	contains(t, "verify's output", out, "first 4 of 4 differing keys",
		fmt.Sprintf("missing  key [%d]", plantMissing),
		fmt.Sprintf("extra    key [%d]", plantExtra),
		fmt.Sprintf("changed  key [%d]", plantChanged),
		fmt.Sprintf("stale    key [%d]", plantStale),
		`"name":"item 7"`, `"name":"changed"`, `"name":"ghost"`)
	t.Logf("verify output:\n%s", out)
}

func TestVerifyFileSink(t *testing.T) {
	path := verifyJob(t, "  - {name: out, kind: file, dir: out, mode: upsert}\n")
	checkVerifyClean(t, path)

	cfg := file.Config{Dir: filepath.Join(filepath.Dir(path), "out"), Mode: file.ModeUpsert}
	viewFile := file.ViewPath(cfg, "items")
	// stale: the same row of key 5 committed at a version ahead, through the
	// sink (the sidecar then holds that version).
	var stalePos change.Position
	if err := file.ScanVersions(cfg, "items", func(v file.Version) error {
		if fmt.Sprint(v.Key) == fmt.Sprint([]any{int64(plantStale)}) {
			stalePos = v.Position + aheadBy
		}
		return nil
	}); err != nil || stalePos == 0 {
		t.Fatalf("reading the versions: %v (key 5 found: %v)", err, stalePos != 0)
	}
	lines := readLines(t, viewFile)
	w := file.NewRunWriter(cfg, "items")
	if err := w.Add(change.Record{Key: []any{int64(plantStale)}, Position: stalePos, Doc: docOf(t, lines[plantStale-1])}); err != nil {
		t.Fatal(err)
	}
	runs, err := w.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Commit(cfg, "items", runs); err != nil {
		t.Fatal(err)
	}
	// missing, changed, extra: edits of the view file.
	lines = readLines(t, viewFile)
	var edited []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, fmt.Sprintf(`{"id":%d,`, plantMissing)):
			continue
		case strings.HasPrefix(l, fmt.Sprintf(`{"id":%d,`, plantChanged)):
			l = strings.Replace(l, `"item 7"`, `"changed"`, 1)
		}
		edited = append(edited, l)
	}
	edited = append(edited, `{"id":1000,"name":"ghost","price":1,"updated":null,"tags":null}`)
	if err := os.WriteFile(viewFile, []byte(strings.Join(edited, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkVerifyPlanted(t, path)
}

func TestVerifyOpenSearchSink(t *testing.T) {
	url := os.Getenv("OPENSEARCH_URL")
	if url == "" {
		url = ostest.NewServer(t).URL
	}
	alias := testenv.UniqueName("verify") + "_items"
	path := verifyJob(t, "  - {name: search, kind: opensearch, opensearch: {addresses: ["+url+"], index: \""+strings.TrimSuffix(alias, "_items")+"_{view}\"}}\n")
	checkVerifyClean(t, path)

	get := func(id int) (map[string]any, uint64) {
		var doc struct {
			Source map[string]any `json:"_source"`
		}
		httpJSON(t, "GET", url+"/"+alias+"/_doc/"+fmt.Sprint(id), "", &doc)
		v, _ := doc.Source["_beamsync_version"].(json.Number).Int64()
		return doc.Source, uint64(v)
	}
	index := func(id int, doc map[string]any, version uint64) string {
		doc["_beamsync_version"] = version
		b, _ := json.Marshal(doc)
		return fmt.Sprintf(`{"index":{"_id":"%d","version":%d,"version_type":"external"}}`+"\n%s\n", id, version, b)
	}
	changed, v7 := get(plantChanged)
	changed["name"] = "changed"
	stale, v5 := get(plantStale)
	ghost := map[string]any{"id": plantExtra, "name": "ghost", "price": 1, "updated": nil, "tags": nil}
	body := fmt.Sprintf(`{"delete":{"_id":"%d","version":%d,"version_type":"external"}}`+"\n", plantMissing, aheadBy) +
		index(plantChanged, changed, v7+1) + index(plantStale, stale, v5+aheadBy) + index(plantExtra, ghost, 1)
	var resp struct{ Errors bool }
	httpJSON(t, "POST", url+"/"+alias+"/_bulk?refresh=true", body, &resp)
	if resp.Errors {
		t.Fatalf("planting: the bulk request had errors")
	}
	checkVerifyPlanted(t, path)
}

func TestVerifyDynamoDBSink(t *testing.T) {
	endpoint := os.Getenv("BEAMSYNC_TEST_DYNAMODB_ENDPOINT")
	if endpoint == "" {
		endpoint = "http://127.0.0.1:4567"
	}
	prefix := testenv.UniqueName("verify") + "_"
	path := verifyJob(t, "  - {name: kv, kind: dynamodb, dynamodb: {endpoint: \""+endpoint+"\", table_prefix: "+prefix+"}}\n")
	ctx := context.Background()
	c := awsdynamodb.New(awsdynamodb.Options{BaseEndpoint: aws.String(endpoint), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	table := aws.String(prefix + "items")
	t.Cleanup(func() { _, _ = c.DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: table}) })
	checkVerifyClean(t, path)

	key := func(id int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: fmt.Sprint(id)}}
	}
	item := func(id int) map[string]types.AttributeValue {
		out, err := c.GetItem(ctx, &awsdynamodb.GetItemInput{TableName: table, Key: key(id), ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			t.Fatalf("reading item %d: %v", id, err)
		}
		return out.Item
	}
	put := func(it map[string]types.AttributeValue) {
		if _, err := c.PutItem(ctx, &awsdynamodb.PutItemInput{TableName: table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteItem(ctx, &awsdynamodb.DeleteItemInput{TableName: table, Key: key(plantMissing)}); err != nil {
		t.Fatal(err)
	}
	changed := item(plantChanged)
	changed["name"] = &types.AttributeValueMemberS{Value: "changed"}
	put(changed)
	stale := item(plantStale)
	var v uint64
	fmt.Sscan(stale["_version"].(*types.AttributeValueMemberN).Value, &v)
	stale["_version"] = &types.AttributeValueMemberN{Value: fmt.Sprint(v + aheadBy)}
	put(stale)
	put(map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: fmt.Sprint(plantExtra)},
		"name": &types.AttributeValueMemberS{Value: "ghost"}, "price": &types.AttributeValueMemberN{Value: "1"},
		"updated": &types.AttributeValueMemberNULL{Value: true}, "tags": &types.AttributeValueMemberNULL{Value: true},
		"_version": &types.AttributeValueMemberN{Value: "1"}})
	checkVerifyPlanted(t, path)
}

func TestVerifyBigQuerySink(t *testing.T) {
	endpoint, project := os.Getenv("BEAMSYNC_TEST_BIGQUERY_ENDPOINT"), os.Getenv("BEAMSYNC_TEST_BIGQUERY_PROJECT")
	if endpoint == "" {
		endpoint = "http://127.0.0.1:9050"
	}
	if project == "" {
		project = "test-proj"
	}
	dataset := testenv.UniqueName("verify")
	ctx := context.Background()
	c, err := bq.NewClient(ctx, project, option.WithEndpoint(endpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Dataset(dataset).DeleteWithContents(context.Background())
		c.Close()
	})
	path := verifyJob(t, fmt.Sprintf("  - {name: warehouse, kind: bigquery, bigquery: {project: %s, dataset: %s, endpoint: \"%s\"}}\n", project, dataset, endpoint))
	checkVerifyClean(t, path)

	table := fmt.Sprintf("`%s.%s.items`", project, dataset)
	for _, q := range []string{
		fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, plantMissing),
		fmt.Sprintf("UPDATE %s SET name = 'changed' WHERE id = %d", table, plantChanged),
		fmt.Sprintf("UPDATE %s SET _beamsync_version = _beamsync_version + %d WHERE id = %d", table, aheadBy, plantStale),
		fmt.Sprintf("INSERT INTO %s (id, name, price, updated, tags, _beamsync_version) VALUES (%d, 'ghost', 1, NULL, NULL, 1)", table, plantExtra),
	} {
		job, err := c.Query(q).Run(ctx)
		if err == nil {
			var st *bq.JobStatus
			st, err = job.Wait(ctx)
			if err == nil {
				err = st.Err()
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	checkVerifyPlanted(t, path)
}

func TestVerifyUsage(t *testing.T) {
	if code, _, errOut := invoke(t, "verify"); code != exitUsage || !strings.Contains(errOut, "--job is required") {
		t.Errorf("verify without --job: exit %d, %s", code, errOut)
	}
	if code, out, _ := invoke(t, "verify", "--help"); code != exitOK || !strings.Contains(out, "Usage") {
		t.Errorf("verify --help: exit %d\n%s", code, out)
	}
}

func TestVerifyUnreachableSinkIsAnError(t *testing.T) {
	path := verifyJob(t, "  - {name: out, kind: file, dir: out}\n")
	job, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A second sink that nothing listens on.
	text := strings.Replace(string(job), "state_dir:", "  - {name: kv, kind: dynamodb, dynamodb: {endpoint: \"http://127.0.0.1:1\"}}\nstate_dir:", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := invoke(t, "verify", "--job", path, "--view", "nope"); code != exitUsage || !strings.Contains(errOut, `no view "nope"`) {
		t.Errorf("unknown view: exit %d, %s", code, errOut)
	}
	code, out, errOut := invoke(t, "verify", "--job", path)
	if code != exitFail {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	contains(t, "verify's output", out, "kv (dynamodb)", "error", "reading sink kv", "127.0.0.1:1")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// docOf makes a row from a line of the file view, keeping its field order
// and its values' JSON text.
func docOf(t *testing.T, line string) *change.Doc {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	doc := &change.Doc{}
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	for d.More() {
		name, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		doc.Names = append(doc.Names, name.(string))
		doc.Values = append(doc.Values, change.JSON(raw))
	}
	return doc
}

func httpJSON(t *testing.T, method, url, body string, into any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if resp.StatusCode >= 300 {
		var e any
		_ = d.Decode(&e)
		t.Fatalf("%s %s: %s %v", method, url, resp.Status, e)
	}
	if err := d.Decode(into); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFilesSource reads a files source afresh: a row the mapping
// refuses (dead-lettered by the run) is not expected in the view, and a
// source row changed after the run shows as changed.
func TestVerifyFilesSource(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"job.yaml":     filesJob,
		"people.yaml":  "view: people\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n  age: int(age)\n",
		"people.jsonl": peopleRows,
	})
	path := filepath.Join(dir, "job.yaml")
	if code, out, errOut := invoke(t, "run", "--job", path, "--progress", "off"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := invoke(t, "verify", "--job", path)
	if code != exitOK {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	contains(t, "verify's errors", errOut, "1 source row(s) the mapping refuses")
	changed := strings.Replace(peopleRows, `"Linus"`, `"Linus T."`, 1)
	if err := os.WriteFile(filepath.Join(dir, "people.jsonl"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = invoke(t, "verify", "--job", path)
	if code != exitFail {
		t.Fatalf("verify after a source change: exit %d\n%s", code, out)
	}
	contains(t, "verify's output", out, "changed  key [3]", `"name":"Linus T."`, `"name":"Linus"`)
}

// TestVerifyMySQLSource verifies a view of a MariaDB table: equal after the
// run; a row deleted at the source afterwards is extra in the view, and a
// row updated is changed.
func TestVerifyMySQLSource(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn,
		"CREATE TABLE t (id int PRIMARY KEY, name varchar(40), amount decimal(10,3), at datetime(6))",
		"INSERT INTO t VALUES (1, 'one', 1.5, '2024-01-01 00:00:00.5'), (2, 'two', 2.25, NULL), (3, 'three', NULL, '2024-01-03 00:00:00')")
	t.Setenv("CLI_TEST_DSN", dsn)
	dir := writeFiles(t, map[string]string{
		"job.yaml": strings.Replace(pgJob("t"), "kind: postgres", "kind: mysql", 1),
		"v.yaml":   "view: v\nsource: t\nall_columns: true\n",
	})
	path := filepath.Join(dir, "job.yaml")
	if code, out, errOut := invoke(t, "run", "--job", path, "--progress", "off"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := invoke(t, "verify", "--job", path); code != exitOK {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}
	testenv.ExecAllMySQL(t, dsn, "DELETE FROM t WHERE id = 2", "UPDATE t SET name = 'THREE' WHERE id = 3")
	code, out, _ := invoke(t, "verify", "--job", path)
	if code != exitFail {
		t.Fatalf("verify after source changes: exit %d\n%s", code, out)
	}
	contains(t, "verify's output", out, "extra    key [2]", "changed  key [3]", `"name":"THREE"`)
	if !regexp.MustCompile(`v\s+out \(file\)\s+2\s+3\s+0\s+1\s+1\s+0\s+DIFFERS`).MatchString(out) {
		t.Errorf("the table does not count 2 source rows, 3 sink rows, 1 extra, 1 changed:\n%s", out)
	}
}
