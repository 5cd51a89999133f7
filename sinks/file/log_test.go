package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// streamCfg is a stream sink's configuration.
func streamCfg(dir string) Config { return Config{Dir: dir, Mode: ModeUpsert} }

// appendBundles appends each bundle to the view's log as the stream writer
// does (sorted runs, fsynced, renamed into the log), without a compactor:
// the tests compact explicitly.
func appendBundles(t *testing.T, cfg Config, view string, bundles ...[]change.Record) {
	t.Helper()
	w := NewRunWriter(cfg, view)
	w.noStream = true
	for _, b := range bundles {
		for _, r := range b {
			if err := w.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		runs, err := w.Flush()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := appendLog(cfg, view, runs); err != nil {
			t.Fatal(err)
		}
	}
}

// reference commits base and then every bundle's records, each as an
// upsert commit of its own (what the stream sink did before it had a log),
// into a fresh directory and returns the view and versions files.
func reference(t *testing.T, view string, base []change.Record, bundles ...[]change.Record) (string, string) {
	t.Helper()
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert}
	write(t, cfg, view, base...)
	for _, b := range bundles {
		write(t, cfg, view, b...)
	}
	v, err := os.ReadFile(versionsPath(cfg, view))
	if err != nil {
		t.Fatal(err)
	}
	return read(t, cfg, view), string(v)
}

func readVersions(t *testing.T, cfg Config, view string) string {
	t.Helper()
	b, err := os.ReadFile(versionsPath(cfg, view))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The bundles of the log tests: updates older than a tombstone of the view
// (key 3) or of the log (key 2), and older than a newer log record (key 1),
// must all lose.
var (
	logBase    = []change.Record{row(1, 10, "a"), row(2, 20, "b"), del(3, 30), row(5, 5, "e")}
	logBundles = [][]change.Record{
		{row(1, 15, "a2"), row(3, 25, "stale"), del(2, 40)},
		{row(1, 12, "older"), row(4, 50, "d"), row(2, 35, "stale")},
		{del(5, 60), row(6, 61, "f")},
	}
)

func TestStreamLogTrailsThenCompactsIntoTheView(t *testing.T) {
	cfg := streamCfg(t.TempDir())
	write(t, cfg, "v", logBase...)
	before := read(t, cfg, "v")
	appendBundles(t, cfg, "v", logBundles...)

	if got := read(t, cfg, "v"); got != before {
		t.Fatalf("appending to the log changed the view file:\n%s", got)
	}
	segs, _, err := logSegments(cfg, "v")
	if err != nil || len(segs) != len(logBundles) {
		t.Fatalf("log holds %d segments (%v), want %d", len(segs), err, len(logBundles))
	}
	if err := CompactLogs(cfg); err != nil {
		t.Fatal(err)
	}
	wantView, wantVersions := reference(t, "v", logBase, logBundles...)
	if got := read(t, cfg, "v"); got != wantView {
		t.Fatalf("compacted view:\n%s\nwant (a commit per bundle):\n%s", got, wantView)
	}
	if readVersions(t, cfg, "v") != wantVersions {
		t.Fatal("compacted versions sidecar differs from a commit per bundle's")
	}
	if strings.Contains(wantView, "stale") || strings.Contains(wantView, "older") {
		t.Fatalf("reference view holds a stale row:\n%s", wantView)
	}
	if segs, _, _ := logSegments(cfg, "v"); len(segs) != 0 {
		t.Fatalf("compaction left %d segments", len(segs))
	}
	// Tombstones survive the compaction: a stale update of a deleted key
	// appended later loses too.
	appendBundles(t, cfg, "v", []change.Record{row(2, 39, "stale"), row(5, 59, "stale")})
	if err := CompactLogs(cfg); err != nil {
		t.Fatal(err)
	}
	if got := read(t, cfg, "v"); got != wantView {
		t.Fatalf("a stale update after compaction changed the view:\n%s", got)
	}
}

func TestStreamLogSegmentsMergeIntoOne(t *testing.T) {
	cfg := streamCfg(t.TempDir())
	write(t, cfg, "v", logBase...)
	appendBundles(t, cfg, "v", logBundles...)
	segs, _, err := logSegments(cfg, "v")
	if err != nil {
		t.Fatal(err)
	}
	if err := mergeSegments(cfg, "v", segs); err != nil {
		t.Fatal(err)
	}
	if segs, _, _ = logSegments(cfg, "v"); len(segs) != 1 {
		t.Fatalf("merging left %d segments, want 1", len(segs))
	}
	if _, err := CompactLog(cfg, "v"); err != nil {
		t.Fatal(err)
	}
	wantView, _ := reference(t, "v", logBase, logBundles...)
	if got := read(t, cfg, "v"); got != wantView {
		t.Fatalf("view after merged segments:\n%s\nwant:\n%s", got, wantView)
	}
}

func TestStreamCompactorRunsInTheBackground(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeUpsert, CompactInterval: 50 * time.Millisecond, CompactSegments: 2}
	defer stopCompactors(cfg.Dir)
	w, err := NewStreamWriter(cfg, "s")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range logBundles {
		for _, r := range b {
			if err := w.Add("v", r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := reference(t, "v", nil, logBundles...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(viewPath(cfg, "v"))
		segs, _, _ := logSegments(cfg, "v")
		if string(b) == want && len(segs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the view is %q with %d segments left, want %q and none", b, len(segs), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplaceCommitDropsAStreamsLog(t *testing.T) {
	cfg := streamCfg(t.TempDir())
	appendBundles(t, cfg, "v", []change.Record{row(7, 70, "gone")})
	rcfg := cfg
	rcfg.Mode = ModeReplace
	write(t, rcfg, "v", row(1, 10, "a"))
	if _, err := os.Stat(logDir(cfg, "v")); !os.IsNotExist(err) {
		t.Fatalf("replace commit kept the stream's log (%v)", err)
	}
	if _, err := CompactLog(cfg, "v"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, cfg, "v"); strings.Contains(got, "gone") {
		t.Fatalf("the replaced view's log was replayed into the new view:\n%s", got)
	}
}

func TestCompactLogWithoutALogChangesNothing(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Mode: ModeReplace}
	write(t, cfg, "v", row(1, 10, "a"))
	if _, err := CompactLog(cfg, "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, ".log")); !os.IsNotExist(err) {
		t.Fatalf("CompactLog of a batch view created a log directory (%v)", err)
	}
}
