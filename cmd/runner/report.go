package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/pipelines"
)

// report is the JSON run report that --report writes, for run and submit.
//
// For run it holds what the run did per table, view and sink. Views and
// sinks run concurrently in one pipeline, so each one's duration is the
// pipeline's: no stage has a wall time of its own.
//
// For submit it holds what is known when the command returns: the Dataflow
// job's id and state (the state right after submission, or the final one
// with --wait, which adds the job's Beam counters), or the template's
// location, or dry_run.
type report struct {
	Kind       string    `json:"kind"` // run or submit
	Job        string    `json:"job"`
	Mode       string    `json:"mode"`
	Runner     string    `json:"runner"`
	Started    time.Time `json:"started_at"`
	Finished   time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`

	Tables         []pipelines.TableSummary `json:"tables,omitempty"`
	Views          []reportView             `json:"views,omitempty"`
	DeadLetters    int64                    `json:"dead_letters"`
	DeadLetterFile string                   `json:"dead_letter_file,omitempty"`

	Dataflow *dataflowReport `json:"dataflow,omitempty"`
	// Counters are Beam counters by namespace/name (submit --wait).
	Counters map[string]int64 `json:"counters,omitempty"`
}

// reportView is one view of a run report.
type reportView struct {
	View  string `json:"view"`
	Table string `json:"table"`
	// Read counts the rows read from the view's source table.
	Read         int64        `json:"read"`
	Mapped       int64        `json:"mapped"`
	Filtered     int64        `json:"filtered"`
	DeadLettered int64        `json:"dead_lettered"`
	DurationMS   int64        `json:"duration_ms"`
	Sinks        []reportSink `json:"sinks"`
}

// reportSink is what one sink did with one view.
type reportSink struct {
	Sink         string `json:"sink"`
	Written      int64  `json:"written"`
	Deleted      int64  `json:"deleted"`
	SkippedOlder int64  `json:"skipped_older"`
	DeadLettered int64  `json:"dead_lettered"`
	// InfinityClamped and InfinityNulled count the infinite timestamps and
	// dates the sink's infinity policy changed (a sink that cannot hold
	// them).
	InfinityClamped int64  `json:"infinity_clamped"`
	InfinityNulled  int64  `json:"infinity_nulled"`
	DurationMS      int64  `json:"duration_ms"`
	Where           string `json:"where,omitempty"`
}

// dataflowReport is what submit knows of its Dataflow job.
type dataflowReport struct {
	Project    string `json:"project"`
	Region     string `json:"region"`
	JobName    string `json:"job_name"`
	JobID      string `json:"job_id,omitempty"`
	State      string `json:"state,omitempty"`
	ConsoleURL string `json:"console_url,omitempty"`
	Staging    string `json:"staging"`
	Template   string `json:"template,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
}

// newRunReport makes the report of a local run from its plan and summary
// (sum may be nil when the run failed before it started).
func newRunReport(plan *pipelines.Plan, mode, runner string, started time.Time, sum *pipelines.Summary, runErr error) *report {
	r := &report{Kind: "run", Job: plan.Job.Name, Mode: mode, Runner: runner, Started: started.UTC()}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	r.finish(runErr == nil, r.Error)
	if sum == nil {
		return r
	}
	d := sum.Duration.Milliseconds()
	r.DurationMS = d
	r.Tables, r.DeadLetters, r.DeadLetterFile = sum.Tables, sum.DeadLetters, sum.DeadLetterFile
	read := map[string]int64{}
	for _, t := range sum.Tables {
		read[t.Table] = t.Read
	}
	tables := map[string]string{}
	for _, v := range plan.Views {
		tables[v.Name] = v.View.Table.QualifiedName()
	}
	for _, v := range sum.Views {
		rv := reportView{View: v.View, Table: tables[v.View], Read: read[tables[v.View]], Mapped: v.Mapped,
			Filtered: v.Filtered, DeadLettered: v.DeadLetters, DurationMS: d, Sinks: []reportSink{}}
		for _, s := range v.Sinks {
			rv.Sinks = append(rv.Sinks, reportSink{Sink: s.Sink, Written: s.Written, Deleted: s.Deleted,
				SkippedOlder: s.Older, DeadLettered: s.Dead, InfinityClamped: s.InfinityClamped, InfinityNulled: s.InfinityNulled,
				DurationMS: d, Where: s.Where})
		}
		r.Views = append(r.Views, rv)
	}
	return r
}

// finish stamps the end of what the report covers.
func (r *report) finish(ok bool, errMsg string) {
	r.Finished = time.Now().UTC()
	if r.DurationMS == 0 {
		r.DurationMS = r.Finished.Sub(r.Started).Milliseconds()
	}
	r.OK, r.Error = ok, errMsg
}

// write writes the report to path, replacing it atomically.
func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// beamCounters reads a finished job's Beam counters, by "namespace/name"
// summed over steps.
func beamCounters(res beam.PipelineResult) map[string]int64 {
	out := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		out[c.Namespace()+"/"+c.Name()] += c.Result()
	}
	return out
}

// printCounters prints Beam counters sorted by name.
func printCounters(w io.Writer, counters map[string]int64) {
	if len(counters) == 0 {
		return
	}
	names := make([]string, 0, len(counters))
	for n := range counters {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nBeam counters:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%d\t\n", strings.TrimPrefix(n, "beamsync/"), counters[n])
	}
	tw.Flush()
}
