package pipelines_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/transforms"
)

// debeziumFilesJob writes a files job over one Debezium file of
// public.orders events and a view of it.
func debeziumFilesJob(t *testing.T, source string, events ...string) string {
	t.Helper()
	return writeJob(t, `
name: dbz-files
source:
  kind: files
  files:
    - {path: `+"{dir}"+`/orders.jsonl, format: debezium`+source+`}
views: [orders.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
`, map[string]string{
		"orders.jsonl": strings.Join(events, "\n") + "\n",
		"orders.yaml":  "view: orders\nsource: public.orders\nkey: [id]\nfields:\n  id: id\n  status: status\n",
	})
}

// fixDir replaces {dir} in a job file by the job's directory.
func fixDir(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "{dir}", filepath.Dir(path))), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readView(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Debezium's documentation stamps a create and the update after it with
// one source.lsn: the update, later in the file, wins whatever its text.
func TestDebeziumFilesEqualPositionsLaterWins(t *testing.T) {
	path := fixDir(t, debeziumFilesJob(t, "",
		orderEvent("c", 1, "paid", 24023128), // "paid" sorts after "new": a tie broken by bytes keeps it
		orderEvent("u", 1, "new", 24023128),
		orderEvent("c", 2, "zz", 24023130),
		orderEvent("u", 2, "aa", 24023130),
		orderEvent("u", 2, "bb", 24023130),
	))
	runJob(t, path, "direct")
	got := readView(t, filepath.Join(filepath.Dir(path), "out/orders.jsonl"))
	if want := `{"id":1,"status":"new"}` + "\n" + `{"id":2,"status":"bb"}` + "\n"; got != want {
		t.Errorf("orders view:\n%s\nwant:\n%s", got, want)
	}
}

// runKafkaUntil runs the stream job until its acknowledged checkpoint is
// want, and returns the saved checkpoint.
func runKafkaUntil(t *testing.T, j *pipelines.Job, want string) string {
	t.Helper()
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if ls := transforms.Live(j.Name); ls != nil && strings.HasPrefix(string(ls.Acked()), want) {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := pipelines.RunStream(ctx, plan, pipelines.StreamOptions{}); err != nil {
		t.Fatalf("stream: %v", err)
	}
	cp, err := pipelines.LoadCheckpoint(j)
	if err != nil || cp == nil {
		t.Fatalf("checkpoint %+v (%v)", cp, err)
	}
	return string(cp.Checkpoint)
}

// Two events of a key with one source.lsn, the second read after a
// restart of the stream: the checkpoint carries the partition's position
// run, so the later event still ranks after the first and wins.
func TestStreamKafkaEqualPositionsAcrossRestart(t *testing.T) {
	const orders = "dbserver1.public.orders"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, orders))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	dir := t.TempDir()
	files := map[string]string{
		"orders.yaml": "view: orders\nsource: public.orders\nkey: [id]\nfields:\n  id: id\n  status: status\n",
		"job.yaml": fmt.Sprintf(`name: kafka-ties
source:
  kind: kafka
  kafka:
    brokers: [%s]
    topics: [%s]
    timeout: 5s
views: [orders.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`, strings.Join(brokers, ", "), orders),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j, err := pipelines.Load(filepath.Join(dir, "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	produceAll(t, brokers, []kafkaRecord{
		{orders, 0, `{"id": 1}`, orderEvent("c", 1, "paid", 500)},
		{orders, 0, `{"id": 1}`, orderEvent("u", 1, "new", 500)},
	})
	if cp := runKafkaUntil(t, j, orders+":0@2"); cp != orders+":0@2~500.1" {
		t.Fatalf("checkpoint %s", cp)
	}
	view := filepath.Join(dir, "out/orders.jsonl")
	if got := readView(t, view); got != `{"id":1,"status":"new"}`+"\n" {
		t.Fatalf("orders view after the first run:\n%s", got)
	}
	produceAll(t, brokers, []kafkaRecord{{orders, 0, `{"id": 1}`, orderEvent("u", 1, "a", 500)}})
	if cp := runKafkaUntil(t, j, orders+":0@3"); cp != orders+":0@3~500.2" {
		t.Fatalf("checkpoint after the restart %s", cp)
	}
	if got := readView(t, view); got != `{"id":1,"status":"a"}`+"\n" {
		t.Errorf("orders view after the restart:\n%s", got)
	}
}

// A truncate in a Debezium file fails the job by default, naming the
// table and the fix; with source.stream.truncate: ignore it is counted in
// the summary, as are the logical decoding messages, which are skipped.
func TestDebeziumFilesTruncateAndMessages(t *testing.T) {
	events := []string{
		orderEvent("c", 1, "new", 10),
		`{"op": "m", "ts_ms": 1, "source": {"db": "shop", "lsn": 11}, "message": {"prefix": "audit", "content": "aGk="}}`,
		`{"op": "t", "before": null, "after": null, "source": {"db": "shop", "schema": "public", "table": "orders", "lsn": 12}}`,
		orderEvent("u", 1, "paid", 13),
	}
	path := fixDir(t, debeziumFilesJob(t, "", events...))
	j, err := pipelines.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipelines.Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipelines.RunBatch(context.Background(), plan, "direct"); err == nil ||
		!strings.Contains(err.Error(), "table public.orders was truncated") || !strings.Contains(err.Error(), "source.stream.truncate: ignore") {
		t.Fatalf("run: %v, want the truncate to fail it", err)
	}

	path = fixDir(t, debeziumFilesJob(t, "", events...))
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "views:", "  stream: {truncate: ignore}\nviews:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := runJob(t, path, "direct")
	if sum.Messages != 1 || sum.TruncatesIgnored != 1 || sum.DeadLetters != 0 {
		t.Errorf("summary: messages %d, truncates %d, dead letters %d", sum.Messages, sum.TruncatesIgnored, sum.DeadLetters)
	}
	var out strings.Builder
	sum.Print(&out)
	if !strings.Contains(out.String(), "1 logical decoding messages (op m) skipped") || !strings.Contains(out.String(), "1 truncates ignored") {
		t.Errorf("summary print:\n%s", out.String())
	}
	if got := readView(t, filepath.Join(filepath.Dir(path), "out/orders.jsonl")); got != `{"id":1,"status":"paid"}`+"\n" {
		t.Errorf("orders view:\n%s", got)
	}
}
