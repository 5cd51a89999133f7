package file

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// row returns an upsert record of key id with a small document.
func row(id int64, pos uint64, name string) change.Record {
	return change.Record{
		Key:      []any{id},
		Position: change.Position(pos),
		Doc:      &change.Doc{Names: []string{"id", "name", "v"}, Values: []any{id, name, int64(pos)}},
	}
}

func del(id int64, pos uint64) change.Record {
	return change.Record{Key: []any{id}, Position: change.Position(pos), Delete: true}
}

// write adds the records with a fresh writer and commits them.
func write(t *testing.T, cfg Config, view string, recs ...change.Record) Stats {
	t.Helper()
	w := NewRunWriter(cfg, view)
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := w.Flush()
	if err != nil {
		t.Fatal(err)
	}
	st, err := Commit(cfg, view, runs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range runs {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("run %s not removed by Commit", p)
		}
	}
	return st
}

func read(t *testing.T, cfg Config, view string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.Dir, view+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

func TestSameBatchTwiceGivesSameFile(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), Mode: mode}
			batch := []change.Record{row(3, 30, "c"), row(1, 10, "a"), row(2, 20, "b"), del(4, 40)}
			write(t, cfg, "v", batch...)
			first := read(t, cfg, "v")
			st := write(t, cfg, "v", batch...)
			if got := read(t, cfg, "v"); got != first {
				t.Fatalf("second write changed the file:\n%s\nvs\n%s", got, first)
			}
			want := lines(`{"id":1,"name":"a","v":10}`, `{"id":2,"name":"b","v":20}`, `{"id":3,"name":"c","v":30}`)
			if first != want {
				t.Fatalf("got\n%s\nwant\n%s", first, want)
			}
			if st.Rows != 3 || st.Bytes != int64(len(want)) || st.Path != filepath.Join(cfg.Dir, "v.jsonl") {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestNewestPositionWins(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	// Within one commit, in either arrival order.
	st := write(t, cfg, "v", row(1, 20, "new"), row(1, 10, "old"), row(2, 5, "x"), row(2, 6, "y"))
	want := lines(`{"id":1,"name":"new","v":20}`, `{"id":2,"name":"y","v":6}`)
	if got := read(t, cfg, "v"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if st.SkippedOlder != 2 {
		t.Errorf("SkippedOlder = %d, want 2", st.SkippedOlder)
	}
	// Across commits: an older update never overwrites a newer row.
	st = write(t, cfg, "v", row(1, 15, "stale"), row(2, 7, "newer"))
	want = lines(`{"id":1,"name":"new","v":20}`, `{"id":2,"name":"newer","v":7}`)
	if got := read(t, cfg, "v"); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if st.SkippedOlder != 1 || st.Rows != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeleteThenOlderUpdateStaysDeleted(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	write(t, cfg, "v", row(1, 5, "a"), row(2, 5, "b"))
	st := write(t, cfg, "v", del(1, 10))
	if st.Deleted != 1 || st.Rows != 1 {
		t.Errorf("stats %+v", st)
	}
	if got, want := read(t, cfg, "v"), lines(`{"id":2,"name":"b","v":5}`); got != want {
		t.Fatalf("after delete: got\n%s", got)
	}
	// An update older than the delete arrives late: the row stays deleted.
	st = write(t, cfg, "v", row(1, 7, "late"))
	if got, want := read(t, cfg, "v"), lines(`{"id":2,"name":"b","v":5}`); got != want {
		t.Fatalf("late update resurrected the row: got\n%s", got)
	}
	if st.SkippedOlder != 1 {
		t.Errorf("stats %+v", st)
	}
	// A delete of a key never seen, then an older create of it.
	write(t, cfg, "v", del(9, 100))
	write(t, cfg, "v", row(9, 50, "ghost"))
	if got := read(t, cfg, "v"); strings.Contains(got, "ghost") {
		t.Fatalf("older create after a tombstone was written: %s", got)
	}
	// A newer update after the delete brings it back.
	write(t, cfg, "v", row(1, 11, "back"))
	if got, want := read(t, cfg, "v"), lines(`{"id":1,"name":"back","v":11}`, `{"id":2,"name":"b","v":5}`); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestReplaceModeLeavesNoOldRows(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	write(t, cfg, "v", row(1, 1, "a"), row(2, 1, "b"), row(3, 1, "c"))
	write(t, cfg, "v", row(2, 2, "B"))
	if got, want := read(t, cfg, "v"), lines(`{"id":2,"name":"B","v":2}`); got != want {
		t.Fatalf("got\n%s", got)
	}
	// An empty replace empties the view.
	write(t, cfg, "v")
	if got := read(t, cfg, "v"); got != "" {
		t.Fatalf("got %q", got)
	}
	// Replace keeps this run's tombstones: a later upsert of an older
	// version does not bring the key back.
	write(t, cfg, "v", del(5, 10))
	write(t, Config{Dir: cfg.Dir, Mode: ModeUpsert}, "v", row(5, 9, "old"))
	if got := read(t, cfg, "v"); got != "" {
		t.Fatalf("got %q", got)
	}
}

// randomRecords returns n records over n/3 keys with updates and deletes,
// in random order.
func randomRecords(n int, seed uint64) []change.Record {
	r := rand.New(rand.NewPCG(seed, 1))
	recs := make([]change.Record, 0, n)
	for i := range n {
		id := int64(r.IntN(n/3 + 1))
		pos := uint64(i + 1)
		if r.IntN(10) == 0 {
			recs = append(recs, del(id, pos))
		} else {
			recs = append(recs, row(id, pos, strings.Repeat("x", r.IntN(5))))
		}
	}
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	return recs
}

func TestSpillingGivesTheSameFile(t *testing.T) {
	recs := randomRecords(300, 7)
	var want string
	for _, spill := range []int{0, 100, 7, 2} { // 2: 150 runs, beyond the merge fan-in
		cfg := Config{Dir: t.TempDir(), SpillRows: spill}
		write(t, cfg, "v", recs...)
		got := read(t, cfg, "v")
		if want == "" {
			want = got
			if strings.Count(want, "\n") < 50 {
				t.Fatalf("suspiciously small view:\n%s", want)
			}
			continue
		}
		if got != want {
			t.Fatalf("spill_rows %d gives a different file", spill)
		}
		entries, _ := os.ReadDir(filepath.Join(cfg.Dir, ".runs", "v"))
		if len(entries) != 0 {
			t.Errorf("spill_rows %d left %d runs behind", spill, len(entries))
		}
	}
}

func TestOrderDoesNotDependOnArrival(t *testing.T) {
	recs := []change.Record{
		row(2, 5, "b"), row(1, 5, "a"), row(10, 1, "j"), row(-3, 1, "neg"),
		// Equal positions for one key: the delete wins.
		row(7, 9, "seven"), del(7, 9),
		// Equal positions, both upserts: the greater JSON wins.
		row(8, 4, "aaa"), row(8, 4, "zzz"),
	}
	var want string
	for seed := range uint64(8) {
		shuffled := slices.Clone(recs)
		r := rand.New(rand.NewPCG(seed, 2))
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, spill := range []int{2, 3, 100} {
			cfg := Config{Dir: t.TempDir(), SpillRows: spill}
			write(t, cfg, "v", shuffled...)
			got := read(t, cfg, "v")
			if want == "" {
				want = got
			} else if got != want {
				t.Fatalf("seed %d spill %d: got\n%s\nwant\n%s", seed, spill, got, want)
			}
		}
	}
	exp := lines(`{"id":-3,"name":"neg","v":1}`, `{"id":1,"name":"a","v":5}`, `{"id":2,"name":"b","v":5}`,
		`{"id":8,"name":"zzz","v":4}`, `{"id":10,"name":"j","v":1}`)
	if want != exp {
		t.Fatalf("got\n%s\nwant\n%s", want, exp)
	}
}

func TestKeysSortLikeCompareKeys(t *testing.T) {
	ts := time.Date(2024, 5, 1, 10, 0, 0, 5, time.UTC)
	keys := [][]any{
		{int64(3)}, {change.Decimal("2.5")}, {2.0}, {int64(-1)}, {"b"}, {"a\x00"}, {"a"}, {""},
		{nil}, {false}, {true}, {ts}, {ts.Add(-time.Second)}, {[]byte{1, 0}}, {[]byte{1}},
		{"a", int64(2)}, {"a", int64(1)}, {change.Date("2024-01-01")}, {uint64(1 << 63)},
		{change.JSON(`{"x":1}`)}, {int64(1 << 62)}, {change.Decimal("1e30")},
	}
	var recs []change.Record
	for i, k := range keys {
		recs = append(recs, change.Record{Key: k, Position: 1, Doc: &change.Doc{Names: []string{"i"}, Values: []any{int64(i)}}})
	}
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert, SpillRows: 4}
	write(t, cfg, "v", recs...)
	sorted := slices.Clone(keys)
	slices.SortStableFunc(sorted, change.CompareKeys)
	var want []string
	for _, k := range sorted {
		i := slices.IndexFunc(keys, func(x []any) bool { return change.CompareKeys(x, k) == 0 })
		want = append(want, `{"i":`+itoa(i)+`}`)
	}
	if got := read(t, cfg, "v"); got != lines(want...) {
		t.Fatalf("got\n%s\nwant\n%s", got, lines(want...))
	}
	// The mixed keys also survive the versions sidecar: upserting the same
	// records again changes nothing.
	write(t, cfg, "v", recs...)
	if got := read(t, cfg, "v"); got != lines(want...) {
		t.Fatalf("after second upsert got\n%s", got)
	}
}

func itoa(i int) string { return string(change.AppendJSON(nil, int64(i))) }

func TestSortKeyRoundTrip(t *testing.T) {
	key := []any{nil, true, false, int64(-5), "a\x00b", []byte{0, 0xFF}, time.Unix(-5, 7).UTC()}
	b, ok := appendSortKey(nil, key)
	if !ok {
		t.Fatal("not sortable")
	}
	got, err := decodeSortKey(b)
	if err != nil || change.CompareKeys(got, key) != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestCrashSafety(t *testing.T) {
	defer func() { commitHook = nil }()
	crash := errors.New("simulated crash")
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	write(t, cfg, "v", row(1, 1, "old"))
	old := read(t, cfg, "v")

	for _, step := range []string{"written", "staged"} {
		commitHook = func(s string) error {
			if s == step {
				return crash
			}
			return nil
		}
		w := NewRunWriter(cfg, "v")
		w.Add(row(1, 2, "new"))
		runs, _ := w.Flush()
		if _, err := Commit(cfg, "v", runs); !errors.Is(err, crash) {
			t.Fatalf("step %s: err = %v", step, err)
		}
		commitHook = nil
		if got := read(t, cfg, "v"); got != old {
			t.Fatalf("crash at %s changed the view: %s", step, got)
		}
		// The interrupted commit's runs are still there; committing them
		// again succeeds.
		if _, err := Commit(cfg, "v", runs); err != nil {
			t.Fatalf("step %s: retry: %v", step, err)
		}
		if got := read(t, cfg, "v"); got != lines(`{"id":1,"name":"new","v":2}`) {
			t.Fatalf("step %s: retry gave %s", step, got)
		}
		write(t, Config{Dir: cfg.Dir}, "v", row(1, 1, "old")) // reset
	}

	// Crash after the view was renamed, before the versions were installed:
	// the view is the new one, and the next commit finds the versions that
	// belong to it (the stale update below must lose to position 3).
	commitHook = func(s string) error {
		if s == "renamed" {
			return crash
		}
		return nil
	}
	w := NewRunWriter(cfg, "v")
	w.Add(row(1, 3, "new"))
	runs, _ := w.Flush()
	if _, err := Commit(cfg, "v", runs); !errors.Is(err, crash) {
		t.Fatalf("err = %v", err)
	}
	commitHook = nil
	if got := read(t, cfg, "v"); got != lines(`{"id":1,"name":"new","v":3}`) {
		t.Fatalf("got %s", got)
	}
	// Temporary files a real crash would leave are removed by the next
	// commit of their view (and only of their view).
	stale := filepath.Join(cfg.Dir, ".v.jsonl.0123456789abcdef01234567.tmp")
	other := filepath.Join(cfg.Dir, ".v.jsonl.jsonl.0123456789abcdef01234567.tmp")
	os.WriteFile(stale, []byte("x"), 0o644)
	os.WriteFile(other, []byte("x"), 0o644)
	write(t, cfg, "v", row(1, 2, "stale"))
	if got := read(t, cfg, "v"); got != lines(`{"id":1,"name":"new","v":3}`) {
		t.Fatalf("got %s", got)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale temporary file not removed")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another view's temporary file removed")
	}
	os.Remove(other)
	// No temporary files are left behind.
	for _, dir := range []string{cfg.Dir, filepath.Join(cfg.Dir, ".state")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") || strings.HasSuffix(e.Name(), ".next") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	}
}

func TestOutOfSyncViewIsRefused(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	write(t, cfg, "v", row(1, 1, "a"), row(2, 1, "b"))
	p := filepath.Join(cfg.Dir, "v.jsonl")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(`"a"`), []byte(`"A"`), 1), 0o644) // same size
	w := NewRunWriter(cfg, "v")
	w.Add(row(3, 1, "c"))
	runs, _ := w.Flush()
	if _, err := Commit(cfg, "v", runs); err == nil || !strings.Contains(err.Error(), "does not match its versions sidecar") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, append(b, b...), 0o644)
	if _, err := Commit(cfg, "v", runs); err == nil || !strings.Contains(err.Error(), "out of sync") {
		t.Fatalf("err = %v", err)
	}
	os.Remove(filepath.Join(cfg.Dir, ".state", "v.versions"))
	if _, err := Commit(cfg, "v", runs); err == nil || !strings.Contains(err.Error(), "versions sidecar") {
		t.Fatalf("err = %v", err)
	}
	// Replace mode rebuilds the state.
	if _, err := Commit(Config{Dir: cfg.Dir}, "v", runs); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedRunIsRefused(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	w := NewRunWriter(cfg, "v")
	w.Add(row(1, 1, "a"))
	w.Add(row(2, 1, "b"))
	runs, err := w.Flush()
	if err != nil || len(runs) != 1 {
		t.Fatal(runs, err)
	}
	b, _ := os.ReadFile(runs[0])
	os.WriteFile(runs[0], b[:len(b)-5], 0o644)
	if _, err := Commit(cfg, "v", runs); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "v.jsonl")); !os.IsNotExist(err) {
		t.Fatal("a view was written from a truncated run")
	}
}

func TestRunWriterErrors(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	w := NewRunWriter(cfg, "v")
	if err := w.Add(change.Record{Position: 1, Doc: &change.Doc{}}); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("err = %v", err)
	}
	if err := w.Add(change.Record{Key: []any{int64(1)}}); !errors.Is(err, ErrNoDoc) {
		t.Errorf("err = %v", err)
	}
	for _, view := range []string{"", "../x", ".hidden", "_dead_letters", "a/b"} {
		if err := NewRunWriter(cfg, view).Add(row(1, 1, "a")); err == nil {
			t.Errorf("view %q accepted", view)
		}
		if _, err := Commit(cfg, view, nil); err == nil {
			t.Errorf("view %q accepted by Commit", view)
		}
	}
	if err := NewRunWriter(Config{}, "v").Add(row(1, 1, "a")); err == nil {
		t.Error("empty config accepted")
	}
	// Abort removes the runs not yet flushed.
	w = NewRunWriter(Config{Dir: cfg.Dir, SpillRows: 1}, "v")
	w.Add(row(1, 1, "a"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.Dir, ".runs", "v"))
	if len(entries) != 0 {
		t.Errorf("Abort left %d runs", len(entries))
	}
}

func TestValidate(t *testing.T) {
	c := Config{Mode: "merge", SpillRows: -1}
	err := c.Validate()
	for _, field := range []string{"dir", "mode", "spill_rows"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
	if err := (&Config{Dir: "x"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestDuplicateRunPathsAreMergedOnce(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	w := NewRunWriter(cfg, "v")
	w.Add(row(1, 1, "a"))
	runs, _ := w.Flush()
	st, err := Commit(cfg, "v", append(runs, runs...))
	if err != nil || st.Rows != 1 || st.SkippedOlder != 0 {
		t.Fatal(st, err)
	}
}
