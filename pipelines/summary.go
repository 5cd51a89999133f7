package pipelines

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beamsync/beamsync/internal/runstats"
)

// Summary is what a run did, per table, view and sink.
type Summary struct {
	Job            string         `json:"job"`
	Duration       time.Duration  `json:"duration_ns"`
	Tables         []TableSummary `json:"tables"`
	Views          []ViewSummary  `json:"views"`
	DeadLetters    int64          `json:"dead_letters"`
	DeadLetterFile string         `json:"dead_letter_file"`
	// Messages counts the logical decoding messages (Debezium op m)
	// skipped; TruncatesIgnored the truncates skipped under
	// source.stream.truncate: ignore.
	Messages         int64 `json:"messages_skipped,omitempty"`
	TruncatesIgnored int64 `json:"truncates_ignored,omitempty"`
	// Failure, when set, is why the run failed (or "interrupted"): the
	// summary then says so instead of "finished".
	Failure string `json:"failure,omitempty"`
}

// TableSummary counts the rows read from one table.
type TableSummary struct {
	Table string `json:"table"`
	Read  int64  `json:"read"`
	// DeadLetters counts the table's rows the source could not decode, or
	// sent to the dead letters by policy (mysql zero_dates: dead_letter).
	DeadLetters int64 `json:"dead_letters"`
	// ZeroDatesNulled counts the zero or invalid dates the source made
	// null (mysql zero_dates: null).
	ZeroDatesNulled int64 `json:"zero_dates_nulled,omitempty"`
}

// ViewSummary counts one view's records.
type ViewSummary struct {
	View        string        `json:"view"`
	Mapped      int64         `json:"mapped"`
	Filtered    int64         `json:"filtered"`
	DeadLetters int64         `json:"dead_letters"`
	Sinks       []SinkSummary `json:"sinks"`
}

// SinkSummary counts what one sink wrote of one view.
type SinkSummary struct {
	Sink    string `json:"sink"`
	Written int64  `json:"written"`
	Deleted int64  `json:"deleted"`
	Older   int64  `json:"skipped_older"`
	Dead    int64  `json:"dead_letters"`
	// InfinityClamped and InfinityNulled count the infinite timestamps and
	// dates the sink's infinity policy clamped or wrote as null.
	InfinityClamped int64  `json:"infinity_clamped,omitempty"`
	InfinityNulled  int64  `json:"infinity_nulled,omitempty"`
	Where           string `json:"where,omitempty"`
}

// Summarize reads the run's counters.
func Summarize(p *Plan, d time.Duration) *Summary {
	s := &Summary{Job: p.Job.Name, Duration: d, DeadLetterFile: filepath.Join(p.Job.DeadLetterPath(), "_dead_letters.jsonl")}
	for _, t := range p.Tables {
		q := t.QualifiedName()
		s.Tables = append(s.Tables, TableSummary{Table: q, Read: runstats.Get(runstats.Read, q),
			DeadLetters: runstats.Get(runstats.Dead, q), ZeroDatesNulled: runstats.Get(runstats.ZeroNulled, q)})
	}
	for _, v := range p.Views {
		vs := ViewSummary{
			View:        v.Name,
			Mapped:      runstats.Get(runstats.Mapped, v.Name),
			Filtered:    runstats.Get(runstats.Filtered, v.Name),
			DeadLetters: runstats.Get(runstats.Dead, v.Name),
		}
		for _, sk := range v.Sinks {
			subj := v.Name + "@" + sk.Name
			ss := SinkSummary{
				Sink:    sk.Name,
				Written: runstats.Get(runstats.Written, subj),
				Deleted: runstats.Get(runstats.Deleted, subj),
				Older:   runstats.Get(runstats.Older, subj),
				Dead:    runstats.Get(runstats.Dead, subj),

				InfinityClamped: runstats.Get(runstats.InfinityClamped, subj),
				InfinityNulled:  runstats.Get(runstats.InfinityNulled, subj),
			}
			vs.DeadLetters += ss.Dead
			ss.Where = sinkKinds[sk.Kind].where(p.Job, sk, v.Name)
			vs.Sinks = append(vs.Sinks, ss)
		}
		s.Views = append(s.Views, vs)
	}
	s.DeadLetters = runstats.Sum(runstats.Dead)
	s.Messages = runstats.Sum(runstats.Messages)
	s.TruncatesIgnored = runstats.Sum(runstats.Truncates)
	return s
}

// Print writes the one-screen summary of a run.
func (s *Summary) Print(w io.Writer) {
	switch {
	case s.Failure == "interrupted":
		fmt.Fprintf(w, "job %s was interrupted after %s: what it did so far\n\n", s.Job, s.Duration.Round(time.Millisecond))
	case s.Failure != "":
		fmt.Fprintf(w, "job %s FAILED after %s: %s\n\n", s.Job, s.Duration.Round(time.Millisecond), s.Failure)
	default:
		fmt.Fprintf(w, "job %s finished in %s\n\n", s.Job, s.Duration.Round(time.Millisecond))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS READ\tDEAD-LETTERED\tZERO DATES NULLED\t")
	for _, t := range s.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", t.Table, t.Read, t.DeadLetters, t.ZeroDatesNulled)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VIEW\tMAPPED\tFILTERED\tDEAD-LETTERED\tSINK\tWRITTEN\tDELETED\tWHERE\t")
	for _, v := range s.Views {
		for i, sk := range v.Sinks {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t", v.View, v.Mapped, v.Filtered, v.DeadLetters)
			} else {
				fmt.Fprint(tw, "\t\t\t\t")
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", sk.Sink, sk.Written, sk.Deleted, sk.Where)
		}
	}
	tw.Flush()
	for _, v := range s.Views {
		for _, sk := range v.Sinks {
			if sk.InfinityClamped > 0 || sk.InfinityNulled > 0 {
				fmt.Fprintf(w, "\n%s@%s: infinite timestamps/dates the sink cannot hold: %d clamped, %d written as null (infinity policy)\n",
					v.View, sk.Sink, sk.InfinityClamped, sk.InfinityNulled)
			}
		}
	}
	if s.Messages > 0 {
		fmt.Fprintf(w, "\n%d logical decoding messages (op m) skipped: they change no table\n", s.Messages)
	}
	if s.TruncatesIgnored > 0 {
		fmt.Fprintf(w, "\n%d truncates ignored (source.stream.truncate: ignore): the views keep the truncated rows\n", s.TruncatesIgnored)
	}
	if s.DeadLetters > 0 {
		fmt.Fprintf(w, "\n%d dead letters (rows that could not be decoded, mapped or written): %s\n", s.DeadLetters, s.DeadLetterFile)
	}
}

var dofnFailedRE = regexp.MustCompile(`^DoFn\[.*\] failed:\s*`)

// cleanRunError extracts the user-level cause from a runner's error chain,
// which wraps it in layers of plan and bundle context: the text after the
// last "caused by:", without the "DoFn[...] failed:" line that heads it.
func cleanRunError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "caused by:"); i >= 0 {
		msg = msg[i+len("caused by:"):]
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		l = strings.TrimSpace(dofnFailedRE.ReplaceAllString(strings.TrimSpace(l), ""))
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return &RunError{Msg: firstLine(err.Error()), Err: err}
	}
	return &RunError{Msg: strings.Join(lines, "\n"), Err: err}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// RunError is a failed run: Msg is the cause a user can act on, Err the
// runner's full error (for --verbose).
type RunError struct {
	Msg string
	Err error
}

func (e *RunError) Error() string { return e.Msg }
func (e *RunError) Unwrap() error { return e.Err }

// IsRunError reports whether err is a RunError.
func IsRunError(err error) bool {
	var re *RunError
	return errors.As(err, &re)
}
