package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beamsync/beamsync/pipelines"
)

// A test binary started with BEAMSYNC_RUNNER_CHILD=1 is the runner itself
// (so the crash tests can kill -9 a real runner process).
func TestMain(m *testing.M) {
	if os.Getenv("BEAMSYNC_RUNNER_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// runnerProcess is a runner started as a child process.
type runnerProcess struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

func startRunner(t *testing.T, env []string, args ...string) *runnerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "BEAMSYNC_RUNNER_CHILD=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &runnerProcess{cmd: cmd, out: &out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *runnerProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("runner after SIGTERM: %v\n%s", err, p.out)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("runner did not stop within 2 minutes of SIGTERM:\n%s", p.out)
	}
}

// kill9 kills the runner without warning.
func (p *runnerProcess) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

func (p *runnerProcess) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// cdcSource is a database a crash test writes to and reads back.
type cdcSource struct {
	kind, dsnEnv, dsn string
	// writer opens a connection for one writer: exec runs a statement
	// (a deadlock, which rolls the statement back, is no error).
	writer func(t *testing.T) (exec func(stmt string) error, close func())
	// rows returns the table as the view should show it: id → JSON doc.
	rows func(t *testing.T) map[int64]string
	// caughtUp reports whether a checkpoint covers everything written so
	// far (taken after the writers stopped).
	caughtUp func(t *testing.T) func(cp string) bool
	// stmt returns the SQL of a random write (seq numbers the writer's
	// statements).
	stmt func(r *rand.Rand, w, seq int) string
}

const accountsMapping = `view: accounts
source: accounts
key: [id]
fields:
  id: id
  owner: owner
  balance: balance
`

// crashTrials runs writers against the source while a stream runner is
// killed with SIGKILL at random moments, then lets a last runner catch up
// and checks that the view equals the table.
func crashTrials(t *testing.T, src cdcSource, trials int, streamCfg string) {
	dir := writeFiles(t, map[string]string{
		"accounts.yaml": accountsMapping,
		"job.yaml": fmt.Sprintf(`name: crash
source:
  kind: %s
  dsn_env: %s
  tables: [accounts]
  chunk_size: 500
  stream: {%s}
views: [accounts.yaml]
sinks: [{name: out, kind: file, dir: out, mode: upsert}]
state_dir: state
`, src.kind, src.dsnEnv, streamCfg),
	})
	job := filepath.Join(dir, "job.yaml")
	env := []string{src.dsnEnv + "=" + src.dsn}
	args := []string{"run", "--mode", "stream", "--job", job, "--metrics-addr", "off", "--progress", "off"}

	ctx, stopWriters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	writes := 0
	for w := range 2 {
		wg.Add(1)
		exec, closeWriter := src.writer(t)
		go func() {
			defer wg.Done()
			defer closeWriter()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for seq := 0; ctx.Err() == nil; seq++ {
				if err := exec(src.stmt(r, w, seq)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				writes++
				mu.Unlock()
				time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
			}
		}()
	}
	defer func() { stopWriters(); wg.Wait() }()

	r := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))
	for trial := range trials {
		p := startRunner(t, env, args...)
		wait := time.Duration(1500+r.IntN(6000)) * time.Millisecond
		time.Sleep(wait)
		if p.exited() {
			t.Fatalf("trial %d: the runner exited on its own:\n%s", trial, p.out)
		}
		p.kill9()
		cp, _ := os.ReadFile(filepath.Join(dir, "state", "checkpoint.json"))
		var c pipelines.Checkpoint
		_ = json.Unmarshal(cp, &c)
		t.Logf("trial %d: killed after %v; checkpoint %q", trial, wait, c.Checkpoint)
	}
	stopWriters()
	wg.Wait()
	t.Logf("%d writes during the trials", writes)

	// A last run catches up and stops cleanly.
	covered := src.caughtUp(t)
	p := startRunner(t, env, args...)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var c pipelines.Checkpoint
		if b, err := os.ReadFile(filepath.Join(dir, "state", "checkpoint.json")); err == nil && json.Unmarshal(b, &c) == nil && covered(string(c.Checkpoint)) {
			break
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("the last run did not catch up:\n%s", p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t)

	want := src.rows(t)
	got := readView(t, filepath.Join(dir, "out", "accounts.jsonl"))
	for id, doc := range want {
		if got[id] != doc {
			t.Errorf("row %d: view %s, table %s", id, got[id], doc)
		}
	}
	for id, doc := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("row %d in the view but deleted from the table: %s", id, doc)
		}
	}
	t.Logf("view equals the table: %d rows", len(want))
}

func readView(t *testing.T, path string) map[int64]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var doc struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("view line %q: %v", sc.Text(), err)
		}
		out[doc.ID] = sc.Text()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// accountDoc is the view document of an accounts row.
func accountDoc(id int64, owner string, balance int64) string {
	b, _ := json.Marshal(struct {
		ID      int64  `json:"id"`
		Owner   string `json:"owner"`
		Balance int64  `json:"balance"`
	}{id, owner, balance})
	return string(b)
}

// randomAccountWrite is a random insert, update, key change or delete on
// accounts (ids 1..3000; a key change moves a row to a key of its own,
// above them), in the SQL both databases speak. seq numbers the writer's
// statements.
func randomAccountWrite(r *rand.Rand, w, seq int, upsert string) string {
	id := 1 + r.IntN(3000)
	switch r.IntN(10) {
	case 0, 1:
		return fmt.Sprintf("DELETE FROM accounts WHERE id = %d", id)
	case 2:
		return fmt.Sprintf("UPDATE accounts SET id = %d WHERE id = %d", 1_000_000*(w+1)+seq, id)
	case 3, 4:
		return fmt.Sprintf("INSERT INTO accounts (id, owner, balance) VALUES (%d, 'w%d', %d) %s", id, w, r.IntN(1000), strings.ReplaceAll(upsert, "$W", fmt.Sprint(w)))
	}
	return fmt.Sprintf("UPDATE accounts SET balance = balance + %d, owner = 'w%d' WHERE id = %d", 1+r.IntN(50), w, id)
}
