package pipelines

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/sinks/bigquery"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/sinks/opensearch"
	"github.com/beamsync/beamsync/sources/mysql"
	"github.com/beamsync/beamsync/sources/postgres"
)

// CursorSpec makes the batch runs of a postgres or mysql job incremental
// (source.cursor). It applies to every table of the source, each of which
// must have the column:
//
//	source: {kind: postgres, dsn_env: PG_DSN, tables: [orders, customers],
//	         cursor: {column: updated_at, lag: 1m}}
//
// A run reads only the rows whose column is at or past the table's
// watermark (`column >= watermark`, in every chunk query). The watermarks
// are kept in <state_dir>/cursor.json, which is written (atomically) only
// after a run has succeeded; a failed or interrupted run leaves it as it
// was, so the next run reads the same rows again. The first run (no
// cursor.json) reads every row.
//
// The next watermark of a table is the largest cursor value in the run's
// snapshot; for a timestamp (or date) column it is held back to the
// snapshot's start minus Lag, so that a row a transaction stamped before
// the snapshot but committed after it is read by the next run. Rows at the
// watermark are read again: every sink write is an idempotent,
// version-guarded upsert.
//
// Deletes are not seen by an incremental run (a deleted row has no cursor
// value to find): use run --mode stream, or a periodic full run (delete
// cursor.json), where deletes matter. For the same reason every sink must
// upsert: a file sink needs mode: upsert, and opensearch and bigquery
// sinks must not be in replace mode.
type CursorSpec struct {
	// Column is the cursor column: an updated_at (timestamp, set on every
	// insert and update) or a monotonic id (integer; sees inserts only).
	Column string `yaml:"column"`
	// Lag is the safety lag of a timestamp cursor (default 1m): how long a
	// writing transaction may run between stamping updated_at (usually
	// now(), its start time) and committing without its row being missed.
	Lag time.Duration `yaml:"lag"`
}

// CursorFile is the name of the cursor state file in a job's state directory.
const CursorFile = "cursor.json"

// cursorState is the content of cursor.json.
type cursorState struct {
	Version    int               `json:"version"`
	Column     string            `json:"column"`
	Watermarks map[string]string `json:"watermarks"` // by table (QualifiedName)
	SavedAt    time.Time         `json:"saved_at"`
}

// CursorPath is the job's cursor state file.
func (j *Job) CursorPath() string { return filepath.Join(j.StatePath(), CursorFile) }

func (j *Job) validateCursor() []error {
	c := j.Source.Cursor
	if c == nil {
		return nil
	}
	var errs []error
	add := func(path, format string, args ...any) { errs = append(errs, j.errAt(path, format, args...)) }
	if j.Source.Kind != SourcePostgres && j.Source.Kind != SourceMySQL {
		add("source.cursor", "only a postgres or mysql source can read incrementally by a cursor column")
	}
	if c.Column == "" {
		add("source.cursor.column", "required: the cursor column, e.g. updated_at or a monotonic id")
	}
	if c.Lag < 0 {
		add("source.cursor.lag", "must not be negative")
	}
	for i, s := range j.Sinks {
		p := fmt.Sprintf("sinks[%d].mode", i)
		switch {
		case s.Kind == SinkFile && s.Mode != file.ModeUpsert:
			add(p, "with source.cursor a run reads only the changed rows: the file sink %s must use mode: upsert (replace would make the view exactly the changed rows)", s.Name)
		case s.Kind == SinkOpenSearch && s.OpenSearch != nil && s.OpenSearch.Mode == opensearch.ModeReplace:
			add("sinks["+fmt.Sprint(i)+"].opensearch.mode", "with source.cursor a run reads only the changed rows: the opensearch sink %s must upsert, not replace", s.Name)
		case s.Kind == SinkBigQuery && (s.BigQuery == nil || s.BigQuery.Mode == "" || s.BigQuery.Mode == bigquery.ModeReplace):
			add("sinks["+fmt.Sprint(i)+"].bigquery.mode", "with source.cursor a run reads only the changed rows: the bigquery sink %s must use mode: upsert (replace, the default, is a full refresh)", s.Name)
		}
	}
	return errs
}

// cursorKinds are the column kinds a cursor can be.
var cursorKinds = []change.Kind{change.KindTimestamp, change.KindDate, change.KindInt, change.KindDecimal}

// checkCursor refuses a cursor column that a table lacks or that cannot
// order its changes.
func checkCursor(j *Job, tables []*change.Table) error {
	c := j.Source.Cursor
	if c == nil {
		return nil
	}
	var errs []error
	for _, t := range tables {
		i := slices.IndexFunc(t.Columns, func(col change.Column) bool { return col.Name == c.Column })
		switch {
		case i < 0:
			errs = append(errs, j.errAt("source.cursor.column", "table %s has no column %q to use as the cursor", t.QualifiedName(), c.Column))
		case !slices.Contains(cursorKinds, t.Columns[i].Kind):
			errs = append(errs, j.errAt("source.cursor.column", "column %s.%s is %s: a cursor must be a timestamp, date, integer or decimal column",
				t.QualifiedName(), c.Column, t.Columns[i].Type))
		case t.Columns[i].Nullable:
			errs = append(errs, j.errAt("source.cursor.column", "column %s.%s is nullable: a row whose cursor is NULL would never be read again; make it NOT NULL (e.g. updated_at timestamptz NOT NULL DEFAULT now())",
				t.QualifiedName(), c.Column))
		}
	}
	return errors.Join(errs...)
}

// loadCursor reads the saved watermarks (none before the first successful
// run).
func (j *Job) loadCursor() (map[string]string, error) {
	data, err := os.ReadFile(j.CursorPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cursor state: %w", err)
	}
	var st cursorState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("reading the cursor state %s: %w (delete it to read every row again)", j.CursorPath(), err)
	}
	if st.Column != j.Source.Cursor.Column {
		return nil, fmt.Errorf("the cursor state %s is for column %q, the job's cursor is %q: delete it to read every row again",
			j.CursorPath(), st.Column, j.Source.Cursor.Column)
	}
	return st.Watermarks, nil
}

// saveCursor writes the watermarks atomically: a temporary file, synced,
// renamed over cursor.json, and the directory synced.
func (j *Job) saveCursor(wm map[string]string) error {
	b, err := json.MarshalIndent(cursorState{Version: 1, Column: j.Source.Cursor.Column, Watermarks: wm, SavedAt: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	dir := j.StatePath()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("saving the cursor: %w", err)
	}
	f, err := os.CreateTemp(dir, CursorFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving the cursor: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.CursorPath())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the cursor: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// prepareCursor loads the saved watermarks into the plan before a run.
func (p *Plan) prepareCursor() error {
	runstats.ResetWatermarks()
	if p.Job.Source.Cursor == nil {
		return nil
	}
	wm, err := p.Job.loadCursor()
	if err != nil {
		return err
	}
	p.cursorFrom = wm
	return nil
}

// commitCursor saves the watermarks the source computed, after a
// successful run. Tables the source gave no watermark keep theirs.
//
// Invariant: cursor.json moves only after every sink has written the run's
// rows (RunBatch calls it last, on success only).
func (p *Plan) commitCursor() error {
	if p.Job.Source.Cursor == nil {
		return nil
	}
	if runstats.Get(runstats.SourceDone, p.Job.Source.Kind) == 0 {
		// The source ran elsewhere: its watermarks are not in this process.
		return errors.New("saving the cursor: the source's watermarks are not in this process (source.cursor needs a local runner: direct or prism)")
	}
	next := runstats.Watermarks()
	wm := map[string]string{}
	for t, v := range p.cursorFrom {
		wm[t] = v
	}
	for t, v := range next {
		wm[t] = v
	}
	return p.Job.saveCursor(wm)
}

// applyCursor sets the cursor of a postgres or mysql source.
func (p *Plan) applyCursor(src source) {
	c := p.Job.Source.Cursor
	if c == nil {
		return
	}
	switch s := src.(type) {
	case *postgresSource:
		s.cfg.Cursor = &postgres.Cursor{Column: c.Column, From: p.cursorFrom, Lag: c.Lag}
	case *mysqlSource:
		s.cfg.Cursor = &mysql.Cursor{Column: c.Column, From: p.cursorFrom, Lag: c.Lag}
	}
}
