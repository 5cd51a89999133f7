package file

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

// The test binary runs runCompactChild instead of the tests when
// compactChildEnv names a directory (TestMain, write_test.go).
const (
	compactChildEnv     = "BEAMSYNC_FILE_COMPACT_CHILD_DIR"
	compactChildStepEnv = "BEAMSYNC_FILE_COMPACT_CHILD_STEP"
)

// runCompactChild compacts the log of view "v" in dir. With a step, it
// stops there (commitHook), says so on stdout and waits to be killed;
// without, it says "compacting" and compacts.
func runCompactChild(dir, step string) int {
	if step != "" {
		commitHook = func(s string) error {
			if s == step {
				fmt.Println("at", s)
				select {} // killed here
			}
			return nil
		}
	} else {
		fmt.Println("compacting")
	}
	if _, err := CompactLog(streamCfg(dir), "v"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// killBase and killBundles make a view large enough that its compaction
// takes a while, and a log that updates, deletes and inserts.
func killRecords() (base []change.Record, bundles [][]change.Record) {
	const n = 30000
	for i := range int64(n) {
		base = append(base, row(i, uint64(i+1), fmt.Sprintf("base-%d", i)))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pos := uint64(n + 1)
	for range 8 {
		var b []change.Record
		for range 500 {
			pos++
			id := rng.Int64N(n + 2000)
			if rng.IntN(5) == 0 {
				b = append(b, del(id, pos))
			} else {
				b = append(b, row(id, pos, fmt.Sprintf("upd-%d", pos)))
			}
		}
		bundles = append(bundles, b)
	}
	return base, bundles
}

// TestCompactionSurvivesKill9 kills a process compacting a view's log with
// SIGKILL — at each step of the view's installation and at random moments
// of the merge — and checks that the view file is the old view or the
// compacted one (never a mix), that its versions sidecar still lets an
// upsert open it, and that the next compaction yields exactly the view a
// commit per bundle would have.
func TestCompactionSurvivesKill9(t *testing.T) {
	base, bundles := killRecords()
	wantView, wantVersions := reference(t, "v", base, bundles...)
	steps := []string{"written", "staged", "renamed", "installed", "", "", "", ""}
	for i, step := range steps {
		name := step
		if name == "" {
			name = fmt.Sprintf("random-%d", i)
		}
		t.Run(name, func(t *testing.T) {
			cfg := streamCfg(t.TempDir())
			write(t, cfg, "v", base...)
			appendBundles(t, cfg, "v", bundles...)
			oldView := read(t, cfg, "v")

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), compactChildEnv+"="+cfg.Dir, compactChildStepEnv+"="+step)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("child said nothing: %v", err)
			}
			if step != "" && strings.TrimSpace(line) != "at "+step {
				t.Fatalf("child said %q, want %q", line, "at "+step)
			}
			if step == "" {
				time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()

			got := read(t, cfg, "v")
			if got != oldView && got != wantView {
				t.Fatalf("after SIGKILL the view file is neither the old view nor the compacted one (%d bytes)", len(got))
			}
			// The next start compacts what the killed one left.
			if _, err := CompactLog(cfg, "v"); err != nil {
				t.Fatalf("compacting after SIGKILL: %v", err)
			}
			if read(t, cfg, "v") != wantView {
				t.Fatal("the view compacted after SIGKILL differs from a commit per bundle's")
			}
			if readVersions(t, cfg, "v") != wantVersions {
				t.Fatal("the versions sidecar compacted after SIGKILL differs from a commit per bundle's")
			}
			if segs, _, _ := logSegments(cfg, "v"); len(segs) != 0 {
				t.Fatalf("%d segments left after the recovery compaction", len(segs))
			}
		})
	}
}
