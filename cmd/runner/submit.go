package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow/dataflowlib"
	df "google.golang.org/api/dataflow/v1b3"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/pipelines"
)

const submitSynopsis = `submit --job FILE --project P --region R --staging gs://BUCKET/PATH [flags]

Submits a job to Google Cloud Dataflow as a batch (--mode batch) or streaming
(--mode stream) job. The job spec and its mappings travel in the pipeline
graph; workers read no local files, so a files source, a file sink and local
dead letters are refused (use errors.policy: fail). The source is described
from here first (its DSN must be set here too).

The worker binary is this binary when it runs on linux/amd64, else it is
cross-compiled once (go build, from the beamsync checkout), or --worker-binary.
Secrets: workers read the DSN from the environment variable the job names
(source.dsn_env); beamsync never puts it in the job. Provide it with a worker
image (--sdk-container-image) whose environment sets it, e.g. from Secret
Manager.

--dry-run prints the Dataflow job (JSON) without credentials or uploads;
--template stages a reusable template (worker, pipeline, job JSON) that a
scheduler can launch, without creating a job.`

// submitOptions are the command line of submit.
type submitOptions struct {
	job, mode, project, region, staging, temp, jobName  string
	workerBinary, template, machineType, serviceAccount string
	network, subnetwork, image, endpoint, report        string
	snapshot, fromPosition, logFormat                   string
	numWorkers, maxWorkers                              int64
	dryRun, wait, verbose                               bool
}

func submitCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("submit", submitSynopsis, stderr)
	var o submitOptions
	fs.StringVar(&o.job, "job", "", "the job file (YAML) `FILE`")
	fs.StringVar(&o.mode, "mode", pipelines.ModeBatch, "batch (a Dataflow batch job: one snapshot into the views) or stream (a streaming job)")
	fs.StringVar(&o.project, "project", "", "the Google Cloud `PROJECT` (required)")
	fs.StringVar(&o.region, "region", "", "the Dataflow `REGION`, e.g. europe-west1 (required)")
	fs.StringVar(&o.staging, "staging", "", "where the worker binary and pipeline are staged: `gs://BUCKET/PATH` (required)")
	fs.StringVar(&o.temp, "temp", "", "the job's temp location `gs://BUCKET/PATH` (default: <staging>/tmp)")
	fs.StringVar(&o.jobName, "job-name", "", "the Dataflow job `NAME` (default: beamsync-<job name>, lower case)")
	fs.StringVar(&o.workerBinary, "worker-binary", "", "a linux/amd64 build of this runner to stage as the worker `FILE` (default: this binary on linux/amd64, else a cross-compiled one)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the Dataflow job as JSON (job, steps, worker settings); submit nothing, need no credentials")
	fs.StringVar(&o.template, "template", "", "stage a reusable template at `gs://BUCKET/PATH` instead of creating a job")
	fs.StringVar(&o.machineType, "machine-type", "", "the workers' Compute Engine machine `TYPE`, e.g. n2-standard-4 (default: Dataflow's)")
	fs.Int64Var(&o.numWorkers, "num-workers", 0, "workers at the start `N` (default: Dataflow's)")
	fs.Int64Var(&o.maxWorkers, "max-workers", 0, "the most workers autoscaling may use `N` (default: Dataflow's)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "the workers' service account `EMAIL`")
	fs.StringVar(&o.network, "network", "", "the workers' VPC `NETWORK`")
	fs.StringVar(&o.subnetwork, "subnetwork", "", "the workers' `SUBNETWORK` (regions/R/subnetworks/S)")
	fs.StringVar(&o.image, "sdk-container-image", "", "the worker container `IMAGE` (default: Beam's Go SDK image of this Beam version)")
	fs.StringVar(&o.endpoint, "dataflow-endpoint", "", "the Dataflow API base `URL` (default: Google's; for tests and private endpoints)")
	fs.BoolVar(&o.wait, "wait", false, "wait for the job to end and print its Beam counters (a batch job; default: return once submitted)")
	fs.StringVar(&o.report, "report", "", "write a JSON report of the submission (job id, state; counters with --wait) to `FILE`")
	fs.StringVar(&o.snapshot, "snapshot", pipelines.SnapshotInitial, "stream mode: initial or always (a snapshot first, then changes) or never (changes from now)")
	fs.StringVar(&o.fromPosition, "from-position", "", "stream mode: start from this source `CHECKPOINT` instead of a snapshot")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&o.verbose, "verbose", false, "log debug detail, including the Beam runner's own log (pipeline proto, job JSON)")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if msg := o.check(fs); msg != "" {
		fmt.Fprintf(stderr, "runner submit: %s\n", msg)
		return exitUsage
	}
	logger := newLogger(stderr, o.logFormat, o.verbose)

	j, err := pipelines.Load(o.job)
	if err != nil {
		fmt.Fprintf(stderr, "runner: invalid job:\n%v\n", err)
		return exitFail
	}
	if err := j.CheckRemote(); err != nil {
		fmt.Fprintf(stderr, "runner: job %s cannot run on Dataflow:\n%v\n", j.Name, err)
		return exitFail
	}
	if o.jobName == "" {
		o.jobName = dataflowJobName(j.Name)
	}
	rep := &report{Kind: "submit", Job: j.Name, Mode: o.mode, Runner: "dataflow", Started: time.Now().UTC(),
		Dataflow: &dataflowReport{Project: o.project, Region: o.region, JobName: o.jobName, Staging: o.staging,
			Template: o.template, DryRun: o.dryRun}}
	code := submit(ctx, &o, j, rep, logger, stdout, stderr)
	if o.report != "" {
		rep.finish(code == exitOK, rep.Error)
		if err := rep.write(o.report); err != nil {
			fmt.Fprintf(stderr, "runner: %v\n", err)
			return exitFail
		}
	}
	return code
}

// check validates the flags; it returns the problem or "".
func (o *submitOptions) check(fs *flag.FlagSet) string {
	switch {
	case o.job == "":
		return "--job is required (the job file to submit)"
	case o.project == "" || o.region == "" || o.staging == "":
		return "--project, --region and --staging are required (the Google Cloud project, the Dataflow region, a gs:// staging location)"
	case !strings.HasPrefix(o.staging, "gs://"):
		return fmt.Sprintf("--staging %q: a Cloud Storage location gs://BUCKET/PATH", o.staging)
	case o.temp != "" && !strings.HasPrefix(o.temp, "gs://"):
		return fmt.Sprintf("--temp %q: a Cloud Storage location gs://BUCKET/PATH", o.temp)
	case o.template != "" && !strings.HasPrefix(o.template, "gs://"):
		return fmt.Sprintf("--template %q: a Cloud Storage location gs://BUCKET/PATH", o.template)
	case o.mode != pipelines.ModeBatch && o.mode != pipelines.ModeStream:
		return fmt.Sprintf("--mode %q is not a mode: use batch or stream", o.mode)
	case o.mode == pipelines.ModeBatch && (flagSet(fs, "snapshot") || flagSet(fs, "from-position")):
		return "--snapshot and --from-position apply to --mode stream"
	case o.snapshot != pipelines.SnapshotInitial && o.snapshot != pipelines.SnapshotNever && o.snapshot != pipelines.SnapshotAlways:
		return fmt.Sprintf("--snapshot %q: use initial, never or always", o.snapshot)
	case o.dryRun && o.template != "":
		return "--dry-run and --template exclude each other (a dry run stages nothing)"
	case o.wait && (o.dryRun || o.template != ""):
		return "--wait needs a submitted job (not --dry-run or --template)"
	case o.wait && o.mode == pipelines.ModeStream:
		return "--wait waits for a batch job; a streaming job runs until it is drained or cancelled"
	case o.numWorkers < 0 || o.maxWorkers < 0:
		return "--num-workers and --max-workers must not be negative"
	case o.workerBinary != "" && o.dryRun:
		return "--worker-binary is not used by --dry-run (nothing is staged)"
	}
	return ""
}

// submit prepares, builds and submits the job; it fills rep as it learns.
func submit(ctx context.Context, o *submitOptions, j *pipelines.Job, rep *report, logger *slog.Logger,
	stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		rep.Error = fmt.Sprintf(format, args...)
		fmt.Fprintf(stderr, "runner: %s\n", rep.Error)
		return exitFail
	}
	plan, err := pipelines.Prepare(ctx, j)
	if err != nil {
		return fail("cannot submit job %s:\n%v", j.Name, err)
	}
	worker := ""
	if !o.dryRun {
		w, cleanup, err := workerBinary(ctx, o.workerBinary, logger)
		if err != nil {
			return fail("%v", err)
		}
		defer cleanup()
		worker = w
	}
	if err := setDataflowFlags(o, worker); err != nil {
		return fail("%v", err)
	}
	capture := &beamCapture{l: logger}
	beamlog.SetLogger(capture)
	log.SetOutput(io.Discard)

	pipe, err := pipelines.BuildRemote(plan, o.mode, pipelines.StreamOptions{Snapshot: o.snapshot, From: change.Checkpoint(o.fromPosition)})
	if err != nil {
		return fail("cannot submit job %s: %v", j.Name, err)
	}
	if o.mode == pipelines.ModeStream {
		logger.Info("a stream on Dataflow keeps its position in the read's restriction and acknowledges it at the source once Dataflow has committed it; " +
			"it writes no checkpoint file: to start the job again elsewhere, read the position from the source (the slot, the consumer group) or re-snapshot")
	}
	logger.Info("submitting job", "job", j.Name, "mode", o.mode, "project", o.project, "region", o.region,
		"dataflow_job", o.jobName, "dry_run", o.dryRun, "template", o.template)
	res, err := dataflow.Execute(ctx, pipe)
	if err != nil {
		if res != nil && res.JobID() != "" {
			rep.Dataflow.JobID = res.JobID()
		}
		return fail("submitting job %s to Dataflow: %v", j.Name, err)
	}
	switch {
	case o.dryRun:
		out, err := capture.dryRun()
		if err != nil {
			return fail("%v", err)
		}
		rep.Dataflow.State = "dry_run"
		fmt.Fprintln(stdout, string(out))
		return exitOK
	case o.template != "":
		rep.Dataflow.State = "template_staged"
		logger.Info("template staged", "template", o.template)
		fmt.Fprintf(stdout, "template of job %s staged at %s\n", j.Name, o.template)
		return exitOK
	}
	rep.Dataflow.JobID = res.JobID()
	rep.Dataflow.State = jobState(ctx, o, res.JobID(), logger)
	rep.Dataflow.ConsoleURL = fmt.Sprintf("https://console.cloud.google.com/dataflow/jobs/%s/%s?project=%s", o.region, res.JobID(), o.project)
	logger.Info("job submitted", "job", j.Name, "dataflow_job_id", res.JobID(), "state", rep.Dataflow.State)
	fmt.Fprintf(stdout, "job %s submitted to Dataflow as %s (%s): %s\n", j.Name, res.JobID(), rep.Dataflow.State, rep.Dataflow.ConsoleURL)
	if o.wait {
		rep.Counters = beamCounters(res)
		printCounters(stdout, rep.Counters)
	}
	return exitOK
}

// dataflowJobName makes a Dataflow job name ([a-z][-a-z0-9]*) of a job's.
func dataflowJobName(name string) string {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	return "beamsync-" + strings.Trim(n, "-")
}

// setDataflowFlags drives Beam's Dataflow runner, which reads its options
// from the global flag set. Every flag it reads is set on every call, so
// one process can submit more than once.
func setDataflowFlags(o *submitOptions, worker string) error {
	labels, _ := json.Marshal(map[string]string{"beamsync-job": strings.ToLower(strings.TrimPrefix(o.jobName, "beamsync-")), "beamsync-mode": o.mode})
	for _, f := range [][2]string{
		{"runner", "dataflow"},
		{"project", o.project},
		{"region", o.region},
		{"staging_location", o.staging},
		{"temp_location", o.temp},
		{"job_name", o.jobName},
		{"worker_binary", worker},
		{"dry_run", strconv.FormatBool(o.dryRun)},
		{"template_location", o.template},
		{"worker_machine_type", o.machineType},
		{"num_workers", strconv.FormatInt(o.numWorkers, 10)},
		{"max_num_workers", strconv.FormatInt(o.maxWorkers, 10)},
		{"service_account_email", o.serviceAccount},
		{"network", o.network},
		{"subnetwork", o.subnetwork},
		{"sdk_container_image", o.image},
		{"dataflow_endpoint", o.endpoint},
		{"labels", string(labels)},
		{"async", strconv.FormatBool(!o.wait)},
	} {
		if flag.Lookup(f[0]) == nil {
			continue // "runner" is only registered by some Beam packages
		}
		if err := flag.Set(f[0], f[1]); err != nil {
			return fmt.Errorf("setting Beam flag %s: %w", f[0], err)
		}
	}
	if !beam.Initialized() {
		beam.Init()
	}
	return nil
}

// workerBinary returns the linux/amd64 runner binary to stage as the
// worker: the given file, this very binary when it is one (the same code
// that built the pipeline), or one cross-compiled from the beamsync module
// the current directory is in.
func workerBinary(ctx context.Context, given string, logger *slog.Logger) (string, func(), error) {
	none := func() {}
	if given != "" {
		st, err := os.Stat(given)
		if err != nil {
			return "", none, fmt.Errorf("--worker-binary: %w", err)
		}
		if st.IsDir() {
			return "", none, fmt.Errorf("--worker-binary %s is a directory, not a binary", given)
		}
		return given, none, nil
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		if self, err := os.Executable(); err == nil {
			logger.Info("staging this binary as the worker", "worker", self)
			return self, none, nil
		}
	}
	dir, err := os.MkdirTemp("", "beamsync-worker-")
	if err != nil {
		return "", none, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	out := filepath.Join(dir, "worker")
	logger.Info("cross-compiling the linux/amd64 worker binary (takes minutes on a cold build cache)", "out", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "github.com/beamsync/beamsync/cmd/runner")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", none, fmt.Errorf("building the worker binary (run submit inside the beamsync checkout, or build one with "+
			"GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o runner-linux-amd64 ./cmd/runner and pass --worker-binary): %v\n%s", err, msg)
	}
	return out, cleanup, nil
}

// jobState asks Dataflow for a submitted job's current state.
func jobState(ctx context.Context, o *submitOptions, id string, logger *slog.Logger) string {
	client, err := dataflowlib.NewClient(ctx, o.endpoint)
	if err == nil {
		var job *df.Job
		job, err = client.Projects.Locations.Jobs.Get(o.project, o.region, id).Context(ctx).Do()
		if err == nil && job.CurrentState != "" {
			return job.CurrentState
		}
	}
	if err != nil {
		logger.Warn("cannot read the job's state", "dataflow_job_id", id, "err", err)
	}
	return "submitted"
}

// beamCapture routes the Beam runner's log to ours (its info chatter at
// debug level) and keeps the messages, for the dry run's job and pipeline.
type beamCapture struct {
	l    *slog.Logger
	mu   sync.Mutex
	msgs []string
}

func (b *beamCapture) Log(ctx context.Context, sev beamlog.Severity, _ int, msg string) {
	b.mu.Lock()
	b.msgs = append(b.msgs, msg)
	b.mu.Unlock()
	level := slog.LevelDebug
	switch {
	case sev >= beamlog.SevError:
		level = slog.LevelError
	case sev >= beamlog.SevWarn:
		level = slog.LevelWarn
	}
	b.l.Log(ctx, level, msg, "component", "beam")
}

// dryRunOutput is what --dry-run prints: the v1b3 job Dataflow would be
// sent and the names of the pipeline's transforms (the steps; the job's own
// steps list is empty on runner v2, the graph travels as a staged proto).
type dryRunOutput struct {
	Job   json.RawMessage `json:"job"`
	Steps []string        `json:"steps"`
}

// dryRun finds the job JSON and the pipeline proto Beam logged in a dry run.
func (b *beamCapture) dryRun() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out dryRunOutput
	for _, m := range b.msgs {
		var probe struct {
			Type        string          `json:"type"`
			Environment json.RawMessage `json:"environment"`
		}
		if json.Unmarshal([]byte(m), &probe) == nil && probe.Type != "" && probe.Environment != nil {
			out.Job = json.RawMessage(m)
			continue
		}
		var p pipepb.Pipeline
		if strings.Contains(m, "components") && prototext.Unmarshal([]byte(m), &p) == nil && p.GetComponents() != nil {
			out.Steps = stepNames(&p)
		}
	}
	if out.Job == nil {
		return nil, errors.New("the Beam runner printed no job in its dry run")
	}
	return json.MarshalIndent(out, "", "  ")
}

// stepNames lists the unique names of a pipeline's transforms, sorted.
func stepNames(p *pipepb.Pipeline) []string {
	var names []string
	for _, t := range p.GetComponents().GetTransforms() {
		if t.GetUniqueName() != "" {
			names = append(names, t.GetUniqueName())
		}
	}
	sort.Strings(names)
	return names
}
