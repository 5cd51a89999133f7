package file

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func writeDeadLetters(t *testing.T, cfg Config, dls ...change.DeadLetter) Stats {
	t.Helper()
	w := NewDeadLetterWriter(cfg)
	for _, d := range dls {
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := w.Flush()
	if err != nil {
		t.Fatal(err)
	}
	st, err := CommitDeadLetters(cfg, runs)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDeadLetterFile(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SpillRows: 2}
	dls := []change.DeadLetter{
		{View: "orders", Stage: change.StageMap, Table: "public.orders", Key: change.JSON(`[ 2 ]`), Position: 7,
			SourcePos: "0/16B3748", Reason: "total: not a number", Row: change.JSON(`{"id": 2, "total": "x<y>"}`)},
		{Stage: change.StageDecode, Position: 3, SourcePos: "orders.jsonl:3", Reason: "bad JSON", Row: change.JSON(`{"id":`)},
		{View: "orders", Sink: "file", Stage: change.StageWrite, Key: change.JSON(`[1]`), Position: 7, Reason: "too large"},
		{View: "customers", Stage: change.StageMap, Position: 9, Reason: "b"},
		{View: "customers", Stage: change.StageMap, Position: 9, Reason: "a"},
	}
	st := writeDeadLetters(t, cfg, dls...)
	want := lines(
		`{"stage":"decode","position":3,"source_position":"orders.jsonl:3","reason":"bad JSON","row":"{\"id\":"}`,
		`{"view":"customers","stage":"map","position":9,"reason":"a"}`,
		`{"view":"customers","stage":"map","position":9,"reason":"b"}`,
		`{"view":"orders","sink":"file","stage":"write","key":[1],"position":7,"reason":"too large"}`,
		`{"view":"orders","stage":"map","table":"public.orders","key":[2],"position":7,"source_position":"0/16B3748","reason":"total: not a number","row":{"id":2,"total":"x<y>"}}`,
	)
	p := filepath.Join(cfg.Dir, DeadLetterFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	if st.Rows != 5 || st.Bytes != int64(len(want)) || st.Path != p {
		t.Errorf("stats %+v", st)
	}
	// Every line decodes back into a change.DeadLetter-shaped object.
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d struct {
			change.DeadLetter
			Key json.RawMessage `json:"key"`
			Row json.RawMessage `json:"row"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}

	// Upsert appends and keeps the file sorted; a replayed dead letter is
	// written once.
	up := Config{Dir: cfg.Dir, Mode: ModeUpsert}
	st = writeDeadLetters(t, up, change.DeadLetter{View: "customers", Stage: change.StageMap, Position: 1, Reason: "new"}, dls[3])
	b, _ = os.ReadFile(p)
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(got) != 6 || got[1] != `{"view":"customers","stage":"map","position":1,"reason":"new"}` {
		t.Fatalf("after upsert:\n%s", b)
	}
	if st.Rows != 6 || st.SkippedOlder != 1 {
		t.Errorf("stats %+v", st)
	}

	// Replace mode replaces the file.
	writeDeadLetters(t, Config{Dir: cfg.Dir}, dls[1])
	b, _ = os.ReadFile(p)
	if string(b) != lines(`{"stage":"decode","position":3,"source_position":"orders.jsonl:3","reason":"bad JSON","row":"{\"id\":"}`) {
		t.Fatalf("after replace:\n%s", b)
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.Dir, ".runs", "_dead_letters"))
	if len(entries) != 0 {
		t.Errorf("%d dead-letter runs left", len(entries))
	}
}

func TestDeadLettersManyRuns(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SpillRows: 1}
	var dls []change.DeadLetter
	for i := range 150 {
		dls = append(dls, change.DeadLetter{View: "v", Stage: "map", Position: change.Position(150 - i), Reason: "r"})
	}
	dls = append(dls, dls[:10]...) // replays
	st := writeDeadLetters(t, cfg, dls...)
	if st.Rows != 150 || st.SkippedOlder != 10 {
		t.Fatalf("stats %+v", st)
	}
	b, _ := os.ReadFile(filepath.Join(cfg.Dir, DeadLetterFile))
	first, _, _ := strings.Cut(string(b), "\n")
	if first != `{"view":"v","stage":"map","position":1,"reason":"r"}` {
		t.Fatalf("first line %s", first)
	}
}

func TestDeadLetterFileEditedOutOfOrder(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	p := filepath.Join(cfg.Dir, DeadLetterFile)
	os.WriteFile(p, []byte(lines(`{"stage":"map","position":5,"reason":"x"}`, `{"stage":"map","position":1,"reason":"x"}`)), 0o644)
	w := NewDeadLetterWriter(cfg)
	w.Add(change.DeadLetter{Stage: "map", Position: 3, Reason: "y"})
	runs, _ := w.Flush()
	if _, err := CommitDeadLetters(cfg, runs); err == nil || !strings.Contains(err.Error(), "not sorted") {
		t.Fatalf("err = %v", err)
	}
}
