package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/beamsync/beamsync/pipelines"
)

func validateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "validate --job FILE [--offline]\n\nChecks a job file and its mappings: the YAML, every field, every expression\n(compiled and type-checked against the source tables). Connects to the source\nto read the table schemas unless --offline.", stderr)
	job := fs.String("job", "", "the job file (YAML) `FILE`")
	offline := fs.Bool("offline", false, "check files only; do not connect to the source (expressions are not type-checked)")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *job == "" {
		fmt.Fprintln(stderr, "runner validate: --job is required (the job file to check)")
		return exitUsage
	}
	j, err := pipelines.Load(*job)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		fmt.Fprintf(stderr, "\n%s is not valid (%d problem%s)\n", *job, countErrs(err), plural(countErrs(err)))
		return exitFail
	}
	if *offline {
		fmt.Fprintf(stdout, "%s is valid (offline: files only)\n", *job)
		return exitOK
	}
	plan, err := pipelines.Prepare(ctx, j)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		fmt.Fprintf(stderr, "\n%s is not valid (%d problem%s)\n", *job, countErrs(err), plural(countErrs(err)))
		return exitFail
	}
	fmt.Fprintf(stdout, "%s is valid: %d table(s), %d view(s)\n", *job, len(plan.Tables), len(plan.Views))
	for _, v := range plan.Views {
		fmt.Fprintf(stdout, "  view %-24s from %-28s key %v\n", v.Name, v.View.Table.QualifiedName(), v.Mapping.KeyFields())
	}
	return exitOK
}

func countErrs(err error) int {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range j.Unwrap() {
			n += countErrs(e)
		}
		return n
	}
	return 1
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func asRunError(err error, target **pipelines.RunError) bool { return errors.As(err, target) }
