package file

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

// commitBatches writes each batch with one writer (a Flush after each, as
// bundles do), commits all the runs and returns the view file, the
// versions sidecar and the stats. buffered forces the general path
// (buffer, sort, spill, merge).
func commitBatches(t *testing.T, cfg Config, buffered bool, batches ...[]change.Record) (view, versions []byte, st Stats) {
	t.Helper()
	var runs []string
	w := NewRunWriter(cfg, "v")
	w.noStream = buffered
	for _, b := range batches {
		for _, r := range b {
			if err := w.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := w.Flush()
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, rs...)
	}
	st, err := Commit(cfg, "v", runs)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(runDir(cfg, "v")); len(entries) != 0 {
		t.Errorf("%d run files left behind", len(entries))
	}
	view, err = os.ReadFile(viewPath(cfg, "v"))
	if err != nil {
		t.Fatal(err)
	}
	versions, err = os.ReadFile(versionsPath(cfg, "v"))
	if err != nil {
		t.Fatal(err)
	}
	return view, versions, st
}

func ids(from, to int64, pos uint64) []change.Record {
	var recs []change.Record
	for id := from; id < to; id++ {
		recs = append(recs, row(id, pos, strings.Repeat("n", int(id%4))))
	}
	return recs
}

// Records arriving in key order are streamed to view runs; whatever the
// runs look like, the view, its versions sidecar and the stats are
// byte-identical to those of the general path.
func TestSortedInputGivesTheSameFiles(t *testing.T) {
	withDeletes := ids(0, 50, 1)
	for i := 3; i < len(withDeletes); i += 7 {
		withDeletes[i] = del(withDeletes[i].Key[0].(int64), 1)
	}
	cases := map[string][][]change.Record{
		"one sorted run":             {ids(0, 100, 1)},
		"sorted with deletes":        {withDeletes},
		"only deletes":               {{del(1, 1), del(2, 1)}},
		"disjoint runs":              {ids(0, 30, 1), ids(30, 60, 2), ids(60, 61, 3)},
		"disjoint runs out of order": {ids(60, 90, 1), ids(0, 30, 2)},
		"overlapping runs":           {ids(0, 40, 1), ids(20, 60, 2), ids(10, 30, 1)},
		"runs with deletes":          {ids(0, 40, 5), {del(3, 6), del(7, 4), del(100, 1)}, withDeletes},
		// Equal keys and positions across runs: the delete wins, then
		// the greater JSON.
		"ties across runs": {
			{row(1, 5, "b"), row(2, 5, "a"), row(3, 5, "x")},
			{row(1, 5, "a"), del(2, 5), row(3, 5, "y")},
		},
		// A key repeated within a bundle ends the view run there.
		"repeated key":         {{row(1, 1, "a"), row(2, 1, "b"), row(2, 2, "c"), row(3, 1, "d")}},
		"key going back":       {append(ids(0, 20, 1), ids(5, 25, 2)...)},
		"sorted then shuffled": {append(ids(0, 20, 1), randomRecords(90, 3)...)},
		"values-form keys": {{
			{Key: []any{change.Decimal("1.5")}, Position: 1, Doc: &change.Doc{Names: []string{"k"}, Values: []any{"a"}}},
			{Key: []any{change.Decimal("2.5")}, Position: 1, Doc: &change.Doc{Names: []string{"k"}, Values: []any{"b"}}},
		}},
		"composite and text keys": {{
			{Key: []any{"a", int64(1)}, Position: 1, Doc: &change.Doc{Names: []string{"k"}, Values: []any{"a1"}}},
			{Key: []any{"a", int64(2)}, Position: 1, Doc: &change.Doc{Names: []string{"k"}, Values: []any{"a2"}}},
			{Key: []any{"a\x00", int64(0)}, Position: 1, Doc: &change.Doc{Names: []string{"k"}, Values: []any{"a0"}}},
			{Key: []any{"b"}, Position: 1, Delete: true},
		}},
	}
	for name, batches := range cases {
		for _, mode := range []string{ModeReplace, ModeUpsert} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				for _, spill := range []int{0, 7} {
					// Upsert: the runs are merged into an existing view.
					base := [][]change.Record{ids(0, 10, 3), {del(11, 9), row(12, 1, "old")}}
					gen := Config{Dir: t.TempDir(), Mode: mode, SpillRows: spill}
					str := Config{Dir: t.TempDir(), Mode: mode, SpillRows: spill}
					if mode == ModeUpsert {
						commitBatches(t, gen, true, base...)
						commitBatches(t, str, false, base...)
					}
					wantView, wantVersions, wantSt := commitBatches(t, gen, true, batches...)
					view, versions, st := commitBatches(t, str, false, batches...)
					if !bytes.Equal(view, wantView) {
						t.Fatalf("spill %d: view\n%s\nwant\n%s", spill, view, wantView)
					}
					if !bytes.Equal(versions, wantVersions) {
						t.Fatalf("spill %d: versions sidecar differs", spill)
					}
					st.Path, wantSt.Path = "", ""
					if st != wantSt {
						t.Fatalf("spill %d: stats %+v, want %+v", spill, st, wantSt)
					}
				}
			})
		}
	}
}

func TestSortedRecordsStreamToOneViewRun(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), SpillRows: 3}
	w := NewRunWriter(cfg, "v")
	for _, r := range ids(0, 100, 1) {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.ents) != 0 {
		t.Fatalf("%d sorted records buffered", len(w.ents))
	}
	runs, err := w.Flush()
	if err != nil || len(runs) != 1 {
		t.Fatal(runs, err)
	}
	if _, err := os.Stat(runs[0] + viewRunLines); err != nil {
		t.Fatal("not a view run:", err)
	}
	st, err := Commit(cfg, "v", runs)
	if err != nil || st.Rows != 100 {
		t.Fatal(st, err)
	}
	// Out of order after the first record: one view run of one record,
	// then buffered runs of SpillRows records.
	w.Add(row(5, 1, "a"))
	w.Add(row(4, 1, "b"))
	if w.stream != nil || !w.unsorted || len(w.ents) != 1 || len(w.runs) != 1 {
		t.Fatalf("stream %v unsorted %v buffered %d runs %d", w.stream != nil, w.unsorted, len(w.ents), len(w.runs))
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(runDir(cfg, "v")); len(entries) != 0 {
		t.Fatalf("Abort left %d files", len(entries))
	}
}

// A view run whose lines file was cut short is refused, whether it is
// installed as is or merged with other runs.
func TestTruncatedViewRunIsRefused(t *testing.T) {
	for _, other := range []bool{false, true} {
		cfg := Config{Dir: t.TempDir()}
		w := NewRunWriter(cfg, "v")
		for _, r := range ids(0, 10, 1) {
			w.Add(r)
		}
		runs, _ := w.Flush()
		if other {
			w.Add(row(3, 2, "newer"))
			more, _ := w.Flush()
			runs = append(runs, more...)
		}
		lines := runs[0] + viewRunLines
		b, _ := os.ReadFile(lines)
		os.WriteFile(lines, b[:len(b)-3], 0o644)
		_, err := Commit(cfg, "v", runs)
		if err == nil || !strings.Contains(err.Error(), ".run") {
			t.Fatalf("other runs %v: err = %v", other, err)
		}
		if _, err := os.Stat(viewPath(cfg, "v")); !os.IsNotExist(err) {
			t.Fatalf("other runs %v: a view was written from a truncated run", other)
		}
	}
}

// A commit interrupted after it linked a view run into place can be
// retried with the same run.
func TestInstalledViewRunCanBeRetried(t *testing.T) {
	defer func() { commitHook = nil }()
	for _, step := range []string{"written", "staged", "renamed"} {
		cfg := Config{Dir: t.TempDir()}
		w := NewRunWriter(cfg, "v")
		for _, r := range ids(0, 5, 1) {
			w.Add(r)
		}
		runs, _ := w.Flush()
		commitHook = func(s string) error {
			if s == step {
				return os.ErrDeadlineExceeded
			}
			return nil
		}
		if _, err := Commit(cfg, "v", runs); err == nil {
			t.Fatalf("%s: no error", step)
		}
		commitHook = nil
		st, err := Commit(cfg, "v", runs)
		if err != nil || st.Rows != 5 {
			t.Fatalf("%s: retry: %v, %+v", step, err, st)
		}
		want, _, _ := commitBatches(t, Config{Dir: t.TempDir()}, true, ids(0, 5, 1))
		if got, _ := os.ReadFile(viewPath(cfg, "v")); !bytes.Equal(got, want) {
			t.Fatalf("%s: view %s", step, got)
		}
		for _, dir := range []string{cfg.Dir, stateDir(cfg)} {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if n := e.Name(); strings.HasSuffix(n, ".tmp") || strings.HasSuffix(n, ".next") {
					t.Errorf("%s: left behind: %s", step, filepath.Join(dir, n))
				}
			}
		}
		if slices.ContainsFunc(runs, func(p string) bool { _, err := os.Stat(p); return err == nil }) {
			t.Errorf("%s: runs not removed", step)
		}
	}
}
