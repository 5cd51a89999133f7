package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/beamsync/beamsync/pipelines"
	"github.com/beamsync/beamsync/schedule"
)

// scheduleClock is the scheduler's clock (tests set a fake one).
var scheduleClock schedule.Clock = schedule.RealClock{}

type scheduleOpts struct {
	job, cron, tz, runner, print string
	logFormat                    string
	verbose                      bool
	// --print options
	bin, template, project, region, serviceAccount, image string
}

func scheduleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("schedule", `schedule --job FILE --cron "0 2 * * *" [--tz Asia/Tokyo] [flags]
       schedule --job FILE --cron EXPR [--tz ZONE] --print cron|cloud-scheduler|kubernetes [flags]

Runs a batch job at the times of a cron expression (minute hour day-of-month
month day-of-week), in this process, until SIGINT/SIGTERM: one run at a time
(a tick that comes while a run is still going is skipped and recorded), one
catch-up run at start-up when ticks were missed while no scheduler ran, and
a run history (start, end, outcome, counts) in the job's state directory
(`+schedule.HistoryFile+`). A signal cancels the running run, records it as
interrupted and exits 0. With source.cursor in the job, every run reads only
the rows changed since the last successful one.

--print writes what an external scheduler needs to launch the same job
instead: a crontab entry (runner run --job), a Cloud Scheduler job that
launches the Dataflow template staged by 'runner submit --template gs://…',
or a Kubernetes CronJob.`, stderr)
	var o scheduleOpts
	fs.StringVar(&o.job, "job", "", "the job file (YAML) `FILE`")
	fs.StringVar(&o.cron, "cron", "", "when to run: a 5-field cron `EXPR`, e.g. \"0 2 * * *\" (02:00 every day)")
	fs.StringVar(&o.tz, "tz", "UTC", "the time `ZONE` the cron expression is read in, e.g. Asia/Tokyo (daylight-saving changes follow the wall clock)")
	fs.StringVar(&o.runner, "runner", pipelines.RunnerDirect, "the Beam runner of each run: direct or prism")
	fs.StringVar(&o.print, "print", "", "print the schedule for an external scheduler instead of running: cron, cloud-scheduler or kubernetes")
	fs.StringVar(&o.bin, "bin", "runner", "--print cron: the runner `PATH` the crontab entry runs")
	fs.StringVar(&o.template, "template", "", "--print cloud-scheduler: the template `gs://BUCKET/PATH` staged by runner submit --template")
	fs.StringVar(&o.project, "project", "", "--print cloud-scheduler: the Google Cloud `PROJECT`")
	fs.StringVar(&o.region, "region", "", "--print cloud-scheduler: the Dataflow and Cloud Scheduler `REGION`")
	fs.StringVar(&o.serviceAccount, "service-account", "", "--print cloud-scheduler: the `EMAIL` Cloud Scheduler calls Dataflow as (needs roles/dataflow.developer)")
	fs.StringVar(&o.image, "image", "", "--print kubernetes: the container `IMAGE` holding the runner and the job files")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&o.verbose, "verbose", false, "log debug detail, including the runner's own log")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if msg := o.check(); msg != "" {
		fmt.Fprintf(stderr, "runner schedule: %s\n", msg)
		return exitUsage
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		fmt.Fprintf(stderr, "runner schedule: --tz %q is not a time zone: use an IANA name such as Asia/Tokyo or UTC\n", o.tz)
		return exitUsage
	}
	cr, err := schedule.ParseCron(o.cron, loc)
	if err != nil {
		fmt.Fprintf(stderr, "runner schedule: --%v\n", err)
		return exitUsage
	}
	j, err := pipelines.Load(o.job)
	if err != nil {
		fmt.Fprintf(stderr, "runner: invalid job:\n%v\n", err)
		return exitFail
	}
	if o.print != "" {
		if err := printSchedule(stdout, o, j, cr); err != nil {
			fmt.Fprintf(stderr, "runner schedule: %v\n", err)
			return exitUsage
		}
		return exitOK
	}

	logger := newLogger(stderr, o.logFormat, o.verbose).With("job", j.Name)
	quietBeam(logger, runnerLogLevel(o.verbose))
	unlock, err := lockState(j.StatePath())
	if err != nil {
		fmt.Fprintf(stderr, "runner schedule: %v\n", err)
		return exitFail
	}
	defer unlock()
	s := &schedule.Scheduler{
		Cron:    cr,
		History: schedule.NewHistory(j.StatePath()),
		Clock:   scheduleClock,
		Logger:  logger,
		Run:     scheduledRun(o.job, o.runner, logger),
	}
	logger.Info("scheduler started", "cron", cr.String(), "tz", loc.String(), "next", cr.Next(scheduleClock.Now()),
		"history", s.History.Path)
	if err := s.Loop(ctx); err != nil {
		fmt.Fprintf(stderr, "runner schedule: %v\n", err)
		return exitFail
	}
	logger.Info("scheduler stopped")
	return exitOK
}

func (o *scheduleOpts) check() string {
	switch {
	case o.job == "":
		return "--job is required (the job file to run)"
	case o.cron == "":
		return `--cron is required, e.g. --cron "0 2 * * *"`
	case o.runner != pipelines.RunnerDirect && o.runner != pipelines.RunnerPrism:
		return fmt.Sprintf("--runner %q is not a runner: use direct or prism", o.runner)
	}
	switch o.print {
	case "", "cron", "kubernetes":
	case "cloud-scheduler":
		var missing []string
		for _, f := range []struct{ name, v string }{{"--template", o.template}, {"--project", o.project},
			{"--region", o.region}, {"--service-account", o.serviceAccount}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return "--print cloud-scheduler needs " + strings.Join(missing, ", ") + " (the template is staged with runner submit --job FILE --template gs://BUCKET/PATH)"
		}
		if !strings.HasPrefix(o.template, "gs://") {
			return fmt.Sprintf("--template %q: a Cloud Storage location gs://BUCKET/PATH", o.template)
		}
	default:
		return fmt.Sprintf("--print %q: use cron, cloud-scheduler or kubernetes", o.print)
	}
	if o.print == "kubernetes" && o.image == "" {
		return "--print kubernetes needs --image (a container image holding the runner and the job files)"
	}
	return ""
}

// scheduledRun runs the job once, as runner run does (Load, Prepare,
// RunBatch), and reports the summary's counts. The job file is read again
// for every run, so edits take effect at the next tick.
func scheduledRun(jobPath, runner string, logger *slog.Logger) schedule.RunFunc {
	return func(ctx context.Context, tick time.Time) (schedule.Result, error) {
		j, err := pipelines.Load(jobPath)
		if err != nil {
			return schedule.Result{}, fmt.Errorf("invalid job: %w", err)
		}
		plan, err := pipelines.Prepare(ctx, j)
		if err != nil {
			return schedule.Result{}, err
		}
		logger.Info("running job", "scheduled", tick, "runner", runner, "tables", len(plan.Tables), "views", len(plan.Views))
		sum, err := pipelines.RunBatch(ctx, plan, runner)
		var res schedule.Result
		if sum != nil {
			res.Counts = summaryCounts(sum)
			res.Summary, _ = json.Marshal(sum)
		}
		return res, err
	}
}

// summaryCounts totals a run's summary for the history.
func summaryCounts(s *pipelines.Summary) schedule.Counts {
	c := schedule.Counts{DeadLetters: s.DeadLetters}
	for _, t := range s.Tables {
		c.Read += t.Read
	}
	for _, v := range s.Views {
		for _, sk := range v.Sinks {
			c.Written += sk.Written
			c.Deleted += sk.Deleted
		}
	}
	return c
}

// lockState makes sure one scheduler at a time runs a job: it holds an
// exclusive lock on <state_dir>/schedule.lock until the returned func is
// called.
func lockState(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the state directory: %w", err)
	}
	path := filepath.Join(dir, "schedule.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another scheduler runs this job (it holds %s)", path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
