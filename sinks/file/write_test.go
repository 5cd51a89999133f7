package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sinks/file"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(file.CompactChildEnv); dir != "" {
		os.Exit(file.RunCompactChild(dir, os.Getenv(file.CompactChildStepEnv)))
	}
	ptest.Main(m)
}

func doc(id int64, name string) *change.Doc {
	return &change.Doc{Names: []string{"id", "name"}, Values: []any{id, name}}
}

// Through Beam: records of several batches become one sorted view with the
// newest version per key; records that can never be written are dead letters.
func TestWriteThroughBeam(t *testing.T) {
	dir := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	in := beam.Create(s,
		change.RecordBatch{View: "people", Records: []change.Record{
			{Key: []any{int64(2)}, Position: 5, Doc: doc(2, "old")},
			{Key: []any{int64(3)}, Position: 5, Doc: doc(3, "gone")},
			{Key: nil, Position: 6, Doc: doc(9, "no key")},
		}},
		change.RecordBatch{View: "people", Records: []change.Record{
			{Key: []any{int64(1)}, Position: 7, Doc: doc(1, "ada")},
			{Key: []any{int64(2)}, Position: 8, Doc: doc(2, "new")},
			{Key: []any{int64(3)}, Position: 9, Delete: true},
			{Key: []any{int64(4)}, Position: 9},
		}})
	res := file.Write(s, file.Config{Dir: dir}, "out", []string{"people", "empty"}, in)
	passert.Count(s, res.DeadLetters, "dead letters", 2)
	ptest.RunAndValidate(t, p)

	got, err := os.ReadFile(filepath.Join(dir, "people.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"id\":1,\"name\":\"ada\"}\n{\"id\":2,\"name\":\"new\"}\n"; string(got) != want {
		t.Errorf("view:\n%s\nwant:\n%s", got, want)
	}
	if empty, err := os.ReadFile(filepath.Join(dir, "empty.jsonl")); err != nil || len(empty) != 0 {
		t.Errorf("a view without rows is an empty file: %q, %v", empty, err)
	}
}
