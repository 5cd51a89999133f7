package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/sinks/file"
	"github.com/beamsync/beamsync/transforms"
)

// How a stream starts (StreamOptions.Snapshot).
const (
	// SnapshotInitial reads a snapshot first when the job has no checkpoint
	// yet, and resumes from the checkpoint otherwise (the default).
	SnapshotInitial = "initial"
	// SnapshotNever starts from the checkpoint, or from the source's
	// current position when there is none, without a snapshot.
	SnapshotNever = "never"
	// SnapshotAlways reads a new snapshot and streams from its end,
	// whatever the checkpoint says.
	SnapshotAlways = "always"
)

// StreamOptions are the run options of a stream.
type StreamOptions struct {
	Snapshot string
	// From, when set, replays from this checkpoint instead of the saved one.
	From change.Checkpoint
	// Started, when set, is called with the stream once it is open (for the
	// status line and the metrics endpoint).
	Started func(*transforms.LiveStream)
}

// streamSource is a source kind that can stream.
type streamSource interface {
	// streamKind is the transforms.RegisterStreamSource kind; streamSpec
	// the JSON configuration its opener takes.
	streamKind() string
	streamSpec(tables []*change.Table) (string, error)
}

// streamSourceOverride replaces the job's source in tests.
var streamSourceOverride streamSource

// CheckpointFile is the checkpoint file of a job, in its state directory.
func (j *Job) CheckpointFile() string { return filepath.Join(j.StatePath(), "checkpoint.json") }

// Checkpoint is what the checkpoint file holds.
type Checkpoint struct {
	Job        string            `json:"job"`
	Source     string            `json:"source"`
	Checkpoint change.Checkpoint `json:"checkpoint"`
	At         time.Time         `json:"acknowledged_at"`
}

// LoadCheckpoint reads a job's checkpoint file; a missing file is no error
// (nil).
func LoadCheckpoint(j *Job) (*Checkpoint, error) {
	b, err := os.ReadFile(j.CheckpointFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil || c.Checkpoint == "" {
		return nil, fmt.Errorf("%s is damaged (%v): restore it, or start over with --snapshot always", j.CheckpointFile(), err)
	}
	if c.Source != j.Source.Kind {
		return nil, fmt.Errorf("%s holds a checkpoint of a %s source, but the job reads %s: remove the file and start with --snapshot always",
			j.CheckpointFile(), c.Source, j.Source.Kind)
	}
	return &c, nil
}

// saveCheckpoint replaces the checkpoint file atomically and durably.
func saveCheckpoint(j *Job, cp change.Checkpoint) error {
	b, err := json.MarshalIndent(Checkpoint{Job: j.Name, Source: j.Source.Kind, Checkpoint: cp, At: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	dir := j.StatePath()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".checkpoint-*.json")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), j.CheckpointFile())
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		return err
	}
	return nil
}

// streamStart decides where a stream starts: from a checkpoint, or with a
// snapshot.
func streamStart(j *Job, o StreamOptions) (from change.Checkpoint, snapshot bool, err error) {
	if o.From != "" {
		return o.From, false, nil
	}
	switch o.Snapshot {
	case SnapshotAlways:
		return "", true, nil
	case SnapshotInitial, "", SnapshotNever:
	default:
		return "", false, fmt.Errorf("--snapshot %q: use initial, never or always", o.Snapshot)
	}
	cp, err := LoadCheckpoint(j)
	if err != nil {
		return "", false, err
	}
	if cp != nil {
		return cp.Checkpoint, false, nil
	}
	return "", o.Snapshot != SnapshotNever, nil
}

// BuildStream assembles the stream pipeline of a plan:
//
//	change stream (unbounded SDF) ─► Map ─► each sink
//	      └────────── dead letters ─────► appended dead-letter file
//
// Every element carries its acknowledgement token; the stream acknowledges
// a checkpoint once every sink wrote all it covers (internal/ack).
func BuildStream(p *Plan, spec transforms.StreamSpec) (*beam.Pipeline, error) {
	if !beam.Initialized() {
		beam.Init()
	}
	pipe, s := beam.NewPipelineWithRoot()
	batches, decodeDead := transforms.ReadStream(s.Scope("Source"), spec)
	dead, err := addViewsAndSinks(s, p, batches, decodeDead, true)
	if err != nil {
		return nil, err
	}
	if p.Job.Errors.Policy == "fail" {
		beam.ParDo0(s.Scope("FailOnDeadLetter"), &failOnDeadLetterFn{}, dead)
	}
	file.AppendDeadLetters(s, p.Job.DeadLetterPath(), dead)
	return pipe, nil
}

// RunStream runs a plan's stream until ctx ends (a signal), then stops
// reading, lets the sinks write what was read, acknowledges it and returns
// the summary. Only prism runs streams locally.
func RunStream(ctx context.Context, p *Plan, o StreamOptions) (*Summary, error) {
	src, err := newSource(p.Job)
	if err != nil {
		return nil, err
	}
	ss, ok := src.(streamSource)
	if streamSourceOverride != nil {
		ss, ok = streamSourceOverride, true
	}
	if !ok {
		return nil, fmt.Errorf("%s cannot stream: use run --mode batch", sourceWhat(p.Job))
	}
	from, snapshot, err := streamStart(p.Job, o)
	if err != nil {
		return nil, err
	}
	specJSON, err := ss.streamSpec(p.Tables)
	if err != nil {
		return nil, err
	}
	spec := transforms.StreamSpec{Name: p.Job.Name, Kind: ss.streamKind(), Spec: specJSON, From: from, Snapshot: snapshot}
	runstats.Reset()
	for _, t := range p.Tables {
		if snapshot {
			runstats.Set(runstats.Estimated, t.QualifiedName(), t.EstimatedRows)
		}
	}
	transforms.PrepareStream(spec.Name, func(cp change.Checkpoint) error { return saveCheckpoint(p.Job, cp) })
	pipe, err := BuildStream(p, spec)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	done := make(chan error, 1)
	go func() {
		_, err := prism.Execute(runCtx, pipe)
		done <- err
	}()
	started := false
	var runErr error
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case runErr = <-done:
			break loop
		case <-ctx.Done():
			// Stop reading; the pipeline drains what was read and ends.
			if ls := transforms.Live(spec.Name); ls != nil {
				ls.Stop()
			} else {
				cancelRun()
			}
			select {
			case runErr = <-done:
			case <-time.After(2 * time.Minute):
				cancelRun()
				runErr = errors.Join(errors.New("the pipeline did not drain within 2 minutes of the stop"), <-done)
			}
			break loop
		case <-tick.C:
			if ls := transforms.Live(spec.Name); ls != nil {
				if !started && o.Started != nil {
					o.Started(ls)
				}
				started = true
				if err := ls.Err(); err != nil {
					ls.Stop()
				}
			}
		}
	}
	if ls := transforms.Live(spec.Name); ls != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		runErr = errors.Join(ls.Err(), runErr, ls.Close(closeCtx))
	}
	// The file views trail their change logs; once the pipeline is done
	// no bundle appends to them, and compacting makes the views exact.
	runErr = errors.Join(runErr, compactFileViews(p.Job))
	sum := Summarize(p, time.Since(start))
	sum.DeadLetterFile = filepath.Join(p.Job.DeadLetterPath(), file.StreamDeadLetterFile)
	if runErr != nil {
		return sum, cleanRunError(runErr)
	}
	return sum, nil
}

// compactFileViews compacts the change logs of the job's file sinks into
// their view files (file.CompactLogs).
func compactFileViews(j *Job) error {
	var errs []error
	for _, s := range j.Sinks {
		if s.Kind == SinkFile {
			errs = append(errs, file.CompactLogs(file.Config{Dir: j.Path(s.Dir), Mode: file.ModeUpsert, SpillRows: s.SpillRows}))
		}
	}
	return errors.Join(errs...)
}
