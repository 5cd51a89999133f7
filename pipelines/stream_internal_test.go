package pipelines

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/transforms"
)

// scriptStream plays a fixed list of transactions on the table "people"
// (id, name); checkpoint i is "after transaction i".
type scriptStream struct {
	table *change.Table
	txns  [][]change.Change
	next  int // index of the next transaction
	mu    sync.Mutex
	acked []change.Checkpoint
}

func (s *scriptStream) Next(ctx context.Context) (change.Progress, error) {
	if s.next >= len(s.txns) {
		select {
		case <-ctx.Done():
			return change.Progress{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
			return change.Progress{Checkpoint: change.Checkpoint(strconv.Itoa(s.next))}, nil
		}
	}
	t := s.txns[s.next]
	s.next++
	p := change.Progress{Checkpoint: change.Checkpoint(strconv.Itoa(s.next))}
	if t == nil { // an event the source cannot decode
		p.DeadLetters = []change.DeadLetter{{Stage: change.StageDecode, Table: "people", Position: change.Position(100 + s.next), SourcePos: "txn " + strconv.Itoa(s.next), Reason: "undecodable event"}}
		return p, nil
	}
	p.Batches = []change.Batch{{Table: s.table, Changes: t}}
	return p, nil
}

func (s *scriptStream) Ack(_ context.Context, cp change.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, cp)
	return nil
}

func (s *scriptStream) Close() error { return nil }

type scriptSource struct{ kind string }

func (s scriptSource) streamKind() string                           { return s.kind }
func (s scriptSource) streamSpec(_ []*change.Table) (string, error) { return "{}", nil }

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

// TestRunStreamWritesAcknowledgesAndResumes streams a snapshot and changes
// into a file view, stops on a signal, and resumes from the checkpoint file
// with the changes that came after it.
func TestRunStreamWritesAcknowledgesAndResumes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "people.jsonl"), []byte(`{"id": 1, "name": "x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("names.yaml", "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: upper(name)\n")
	writeFile("job.yaml", `
name: stream-test
source:
  kind: files
  files: [{path: people.jsonl, table: people, key: [id]}]
views: [names.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`)
	j, err := Load(filepath.Join(dir, "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Prepare(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	table := plan.Tables[0]
	txns := [][]change.Change{
		{person(change.OpUpdate, 1, "ada", 10)},
		{person(change.OpDelete, 2, "", 11), person(change.OpCreate, 4, "dan", 11)},
		nil, // undecodable
		{person(change.OpUpdate, 3, "cy", 13)},
		// after the first run stops:
		{person(change.OpUpdate, 4, "dora", 20)},
		{person(change.OpUpdate, 1, "old", 5)}, // older than the row: skipped
	}
	var mu sync.Mutex
	var opened []string
	var current *scriptStream
	limit := 4 // transactions the first run plays
	transforms.RegisterStreamSource("script", func(_ context.Context, _ string, from change.Checkpoint, snapshot func(change.Batch) error) (change.Stream, error) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, string(from)+"|"+strconv.FormatBool(snapshot != nil))
		s := &scriptStream{table: table, txns: txns[:limit]}
		if from != "" {
			s.next, _ = strconv.Atoi(string(from))
			s.txns = txns
		}
		if snapshot != nil {
			for id := int64(1); id <= 3; id++ {
				if err := snapshot(change.Batch{Table: table, Changes: []change.Change{person(change.OpRead, id, "snap"+strconv.FormatInt(id, 10), 1)}}); err != nil {
					return nil, err
				}
			}
		}
		current = s
		return s, nil
	})
	streamSourceOverride = scriptSource{kind: "script"}
	defer func() { streamSourceOverride = nil }()

	var metrics string
	run := func(want change.Checkpoint) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { // the "signal": once everything is acknowledged
			for ctx.Err() == nil {
				if ls := transforms.Live(j.Name); ls != nil && ls.Acked() == want {
					rec := httptest.NewRecorder()
					MetricsHandler(j).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
					metrics = rec.Body.String()
					cancel()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		done := make(chan struct{})
		var sum *Summary
		go func() {
			defer close(done)
			sum, err = RunStream(ctx, plan, StreamOptions{Snapshot: SnapshotInitial})
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("the stream did not stop")
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		cp, err := LoadCheckpoint(j)
		if err != nil || cp == nil || cp.Checkpoint != want {
			t.Fatalf("checkpoint file: %+v, %v; want %s", cp, err, want)
		}
		_ = sum
	}
	run("4")
	for _, want := range []string{
		`beamsync_rows_read_total{job="stream-test",table="people"} 7`, // 3 snapshot rows, 4 changes
		`beamsync_stream_units_in_flight{job="stream-test"} 0`,
		`beamsync_sink_records_total{job="stream-test",outcome="written",sink="out",view="names"}`,
		`beamsync_stream_lag_seconds{job="stream-test"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	view, err := os.ReadFile(filepath.Join(dir, "out", "names.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(view), `{"id":1,"name":"ADA"}`+"\n"+`{"id":3,"name":"CY"}`+"\n"+`{"id":4,"name":"DAN"}`+"\n"; got != want {
		t.Fatalf("view after the first run:\n%s\nwant:\n%s", got, want)
	}
	dl, err := os.ReadFile(filepath.Join(dir, "state", "dead_letters", "_dead_letters.stream.jsonl"))
	if err != nil || strings.Count(string(dl), "\n") != 1 || !strings.Contains(string(dl), "undecodable event") {
		t.Fatalf("dead letters: %q, %v", dl, err)
	}

	limit = len(txns)
	run("6")
	view, _ = os.ReadFile(filepath.Join(dir, "out", "names.jsonl"))
	if got, want := string(view), `{"id":1,"name":"ADA"}`+"\n"+`{"id":3,"name":"CY"}`+"\n"+`{"id":4,"name":"DORA"}`+"\n"; got != want {
		t.Fatalf("view after the resumed run:\n%s\nwant:\n%s", got, want)
	}
	if want := []string{"|true", "4|false"}; strings.Join(opened, ",") != strings.Join(want, ",") {
		t.Fatalf("the stream was opened as %v, want %v (snapshot first, then from the checkpoint)", opened, want)
	}
	var acked []change.Checkpoint
	current.mu.Lock()
	acked = append(acked, current.acked...)
	current.mu.Unlock()
	if len(acked) == 0 || acked[len(acked)-1] != "6" {
		t.Fatalf("the resumed stream saw acknowledgements %v, want them to end at 6", acked)
	}
}
