package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/pipelines"
)

// serveMetrics serves h at addr/metrics until the returned func is called.
func serveMetrics(addr string, h http.Handler, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { _ = srv.Close() }, nil
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "run --job FILE [flags]\n\nRuns a job: reads its source (a consistent snapshot), maps every view and writes\nthe sinks. Exits 0 only when every view was written.", stderr)
	job := fs.String("job", "", "the job file (YAML) `FILE`")
	runner := fs.String("runner", "direct", "the Beam runner: direct (fastest for batch) or prism")
	mode := fs.String("mode", "batch", "batch: one snapshot of the source into the views; stream: follow the source's changes until SIGINT/SIGTERM (on prism)")
	snapshot := fs.String("snapshot", pipelines.SnapshotInitial, "stream mode: initial (a snapshot when there is no checkpoint yet), never, or always")
	fromPosition := fs.String("from-position", "", "stream mode: replay from this source `CHECKPOINT` (as in the checkpoint file) instead of the saved one")
	progress := fs.String("progress", "auto", "progress display: auto (a status line on a terminal, log lines otherwise), line, log or off")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	verbose := fs.Bool("verbose", false, "log debug detail, including the runner's own log and full error chains")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "stream mode: serve Prometheus metrics on `ADDR` at /metrics (off to disable)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (for performance work)")
	reportPath := fs.String("report", "", "write a JSON run report (per table, view and sink: read, written, skipped as older, dead-lettered, duration) to `FILE`")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if *job == "" {
		fmt.Fprintln(stderr, "runner run: --job is required (the job file to run)")
		return exitUsage
	}
	switch {
	case *mode != "batch" && *mode != "stream":
		fmt.Fprintf(stderr, "runner run: --mode %q is not a mode: use batch or stream\n", *mode)
		return exitUsage
	case *mode == "stream" && *runner == pipelines.RunnerDirect && flagSet(fs, "runner"):
		fmt.Fprintln(stderr, "runner run: --mode stream runs on prism (the direct runner cannot run unbounded reads)")
		return exitUsage
	case *mode == "batch" && (flagSet(fs, "snapshot") || flagSet(fs, "from-position")):
		fmt.Fprintln(stderr, "runner run: --snapshot and --from-position apply to --mode stream")
		return exitUsage
	case *snapshot != pipelines.SnapshotInitial && *snapshot != pipelines.SnapshotNever && *snapshot != pipelines.SnapshotAlways:
		fmt.Fprintf(stderr, "runner run: --snapshot %q: use initial, never or always\n", *snapshot)
		return exitUsage
	case *progress != "auto" && *progress != "line" && *progress != "log" && *progress != "off":
		fmt.Fprintf(stderr, "runner run: --progress %q: use auto, line, log or off\n", *progress)
		return exitUsage
	}
	if *mode == "stream" {
		*runner = pipelines.RunnerPrism
	}
	if *runner != pipelines.RunnerDirect && *runner != pipelines.RunnerPrism {
		fmt.Fprintf(stderr, "runner run: --runner %q is not a runner: use direct or prism\n", *runner)
		return exitUsage
	}
	logger := newLogger(stderr, *logFormat, *verbose)
	quietBeam(logger, runnerLogLevel(*verbose))

	j, err := pipelines.Load(*job)
	if err != nil {
		fmt.Fprintf(stderr, "runner: invalid job:\n%v\n", err)
		return exitFail
	}
	plan, err := pipelines.Prepare(ctx, j)
	if err != nil {
		fmt.Fprintf(stderr, "runner: cannot run job %s:\n%v\n", j.Name, err)
		return exitFail
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "runner: %v\n", err)
			return exitFail
		}
		defer stop()
	}
	logger.Info("running job", "job", j.Name, "runner", *runner, "tables", len(plan.Tables), "views", len(plan.Views))
	var sum *pipelines.Summary
	started := time.Now()
	if *mode == "stream" {
		if *metricsAddr != "off" {
			stopMetrics, err := serveMetrics(*metricsAddr, pipelines.MetricsHandler(j), logger)
			if err != nil {
				fmt.Fprintf(stderr, "runner: --metrics-addr %s: %v (choose a free address, or off)\n", *metricsAddr, err)
				return exitFail
			}
			defer stopMetrics()
		}
		stopStatus := startStreamStatus(stderr, logger, *progress, j.Name)
		sum, err = pipelines.RunStream(ctx, plan, pipelines.StreamOptions{Snapshot: *snapshot, From: change.Checkpoint(*fromPosition)})
		stopStatus()
		if err == nil {
			ctx = context.Background() // a stop by signal is the way a stream ends
		}
	} else {
		stopProgress := startProgress(ctx, stderr, logger, *progress)
		sum, err = pipelines.RunBatch(ctx, plan, *runner)
		stopProgress()
	}
	if sum != nil {
		switch {
		case err != nil && ctx.Err() != nil:
			sum.Failure = "interrupted"
		case err != nil:
			sum.Failure = err.Error()
		}
		sum.Print(stdout)
	}
	if *reportPath != "" {
		if werr := newRunReport(plan, *mode, *runner, started, sum, err).write(*reportPath); werr != nil {
			fmt.Fprintf(stderr, "runner: %v\n", werr)
			return exitFail
		}
	}
	if err != nil {
		if *verbose {
			var re *pipelines.RunError
			if ok := asRunError(err, &re); ok {
				fmt.Fprintf(stderr, "\nrunner error chain:\n%v\n", re.Err)
			}
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "runner: job %s interrupted\n", j.Name)
		} else {
			fmt.Fprintf(stderr, "runner: job %s failed: %v\n", j.Name, err)
		}
		return exitFail
	}
	return exitOK
}

// quietBeam sends the Beam runner's own chatty logs to our logger at debug
// level (shown with --verbose); its errors stay errors.
// Prism logs through slog's default logger, which Beam re-installs at
// beamlog.LogLevel when a job starts.
func quietBeam(logger *slog.Logger, level slog.Level) {
	beamlog.SetLogger(beamLogger{logger})
	beamlog.LogLevel = strings.ToLower(level.String())
	log.SetOutput(io.Discard)
}

func runnerLogLevel(verbose bool) slog.Level {
	if verbose {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

type beamLogger struct{ l *slog.Logger }

func (b beamLogger) Log(ctx context.Context, sev beamlog.Severity, _ int, msg string) {
	level := slog.LevelDebug
	if sev >= beamlog.SevError {
		level = slog.LevelError
	}
	b.l.Log(ctx, level, msg, "component", "beam")
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
