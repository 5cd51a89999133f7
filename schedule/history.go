package schedule

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Outcomes of a history entry.
const (
	OutcomeSuccess     = "success"     // the run finished without error
	OutcomeFailed      = "failed"      // the run returned an error
	OutcomeInterrupted = "interrupted" // the scheduler was stopped during the run
	OutcomeSkipped     = "skipped"     // a tick came while the previous run was still running
)

// HistoryFile is the name of the history file in a job's state directory.
const HistoryFile = "schedule_history.jsonl"

// Entry is one line of the run history: a run, or a tick that was skipped.
type Entry struct {
	// Scheduled is the cron tick the entry stands for.
	Scheduled time.Time `json:"scheduled"`
	// CatchUp marks the run made at start-up for ticks missed while the
	// scheduler was down; Missed is how many ticks that run stands for.
	CatchUp bool `json:"catch_up,omitempty"`
	Missed  int  `json:"missed,omitempty"`
	// Start and End of the run (Start only, for a skipped tick: when it
	// was skipped).
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
	// Counts of the run (rows read, written, ...) and its full summary.
	Counts  Counts          `json:"counts,omitzero"`
	Summary json.RawMessage `json:"summary,omitempty"`
}

// Counts are the totals of one run.
type Counts struct {
	Read        int64 `json:"read"`
	Written     int64 `json:"written"`
	Deleted     int64 `json:"deleted"`
	DeadLetters int64 `json:"dead_letters"`
}

// History is an append-only JSON-lines file of entries. Each entry is
// written with one write call and synced, so a crash leaves at most a torn
// last line, which Read ignores.
type History struct {
	Path string
}

// NewHistory is the history of a job whose state directory is dir.
func NewHistory(dir string) *History { return &History{Path: filepath.Join(dir, HistoryFile)} }

// Append adds an entry.
func (h *History) Append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding a history entry: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the run history: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the run history: %w", err)
	}
	return nil
}

// Read returns every entry, oldest first (none when there is no file yet).
func (h *History) Read() ([]Entry, error) {
	f, err := os.Open(h.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the run history: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a torn last line after a crash
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the run history: %w", err)
	}
	return out, nil
}

// LastScheduled is the latest tick the history accounts for (run or
// skipped), or the zero time.
func (h *History) LastScheduled() (time.Time, error) {
	es, err := h.Read()
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, e := range es {
		if e.Scheduled.After(last) {
			last = e.Scheduled
		}
	}
	return last, nil
}
