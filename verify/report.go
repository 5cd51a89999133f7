package verify

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// ViewResult is the comparison of one view with one sink, for the report.
type ViewResult struct {
	View, Sink string
	Result     Result
	// Err is set when the sink could not be read; Result is then empty.
	Err error
}

// PrintTable writes the summary table: one line per view and sink.
func PrintTable(w io.Writer, results []ViewResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VIEW\tSINK\tSOURCE ROWS\tSINK ROWS\tMISSING\tEXTRA\tCHANGED\tSTALE\tRESULT")
	for _, v := range results {
		if v.Err != nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\terror\n", v.View, v.Sink)
			continue
		}
		r := v.Result
		verdict := "ok"
		if !r.Equal() {
			verdict = "DIFFERS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", v.View, v.Sink, r.SourceRows, r.SinkRows,
			r.Missing, r.Extra, r.Changed, r.Stale, verdict)
	}
	return tw.Flush()
}

// PrintDiffs writes up to show differing keys of a view with both sides'
// values (and versions, for stale rows).
func PrintDiffs(w io.Writer, v ViewResult, show int) {
	if v.Err != nil {
		fmt.Fprintf(w, "\n%s -> %s: %v\n", v.View, v.Sink, v.Err)
		return
	}
	r := v.Result
	if r.Equal() || show <= 0 {
		return
	}
	n := min(show, len(r.Diffs))
	fmt.Fprintf(w, "\n%s -> %s: first %d of %d differing keys\n", v.View, v.Sink, n, len(r.Diffs))
	for _, d := range r.Diffs[:n] {
		fmt.Fprintf(w, "  %-8s key %s\n", d.Kind, d.Key)
		fmt.Fprintf(w, "    source: %s\n", side(d.Source))
		fmt.Fprintf(w, "    sink:   %s\n", side(d.Sink))
	}
}

func side(r *Row) string {
	if r == nil {
		return "(absent)"
	}
	v := "no version"
	if r.HasVersion {
		v = fmt.Sprintf("version %d", r.Version)
	}
	return fmt.Sprintf("%s  (%s)", r.Doc, v)
}
