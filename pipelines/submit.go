package pipelines

import (
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/transforms"
)

// Modes a job runs in.
const (
	ModeBatch  = "batch"
	ModeStream = "stream"
)

// CheckRemote refuses what the workers of a remote runner (Dataflow) cannot
// do: read or write the launcher's local files. The job spec and its
// mappings need no files on a worker (they travel in the pipeline graph),
// but a files source, a file sink and the dead-letter directory are local
// paths. Every problem is reported at once, each naming its field.
func (j *Job) CheckRemote() error {
	var errs []error
	if j.Source.Kind == SourceFiles {
		for i := range j.Source.Files {
			errs = append(errs, j.errAt(fmt.Sprintf("source.files[%d].path", i),
				"a files source reads local files, which Dataflow workers cannot see: read a database (postgres, mysql) or Kafka in a remote job, or run it with runner run"))
		}
	}
	for i, s := range j.Sinks {
		if s.Kind == SinkFile {
			errs = append(errs, j.errAt(fmt.Sprintf("sinks[%d].dir", i),
				"sink %s is a file sink: it writes a local directory, which Dataflow workers do not share; use a bigquery, opensearch or dynamodb sink in a remote job, or run it with runner run", s.Name))
		}
	}
	if j.Errors.Policy != "fail" {
		errs = append(errs, j.errAt("errors.policy",
			"dead letters are written to a local directory (errors.dead_letter_dir), which Dataflow workers do not share, so they would be lost: set errors.policy: fail for a remote job (the first bad row fails it, with the reason in the job's log)"))
	}
	return errors.Join(errs...)
}

// BuildRemote builds the pipeline of a plan for a remote runner: Build for
// ModeBatch, BuildStream for ModeStream. A remote stream starts from
// o.From when it is set and otherwise with a snapshot (unless o.Snapshot is
// SnapshotNever, which starts at the source's current position); the
// launcher's checkpoint file is not read, since a remote stream does not
// write it. The stream acknowledges a checkpoint once the runner has
// committed it (transforms.AckCommitted; see internal/ack).
func BuildRemote(p *Plan, mode string, o StreamOptions) (*beam.Pipeline, error) {
	for _, v := range p.Views {
		if len(v.Mapping.Joins()) > 0 {
			return nil, fmt.Errorf("view %s has joins: views with joins run on the local runners (runner run); their store is on local disk, which Dataflow workers do not share", v.Name)
		}
	}
	switch mode {
	case ModeBatch, "":
		return Build(p)
	case ModeStream:
	default:
		return nil, fmt.Errorf("mode %q: use batch or stream", mode)
	}
	src, err := newSource(p.Job)
	if err != nil {
		return nil, err
	}
	ss, ok := src.(streamSource)
	if !ok {
		return nil, fmt.Errorf("%s cannot stream: use mode batch", sourceWhat(p.Job))
	}
	switch o.Snapshot {
	case "", SnapshotInitial, SnapshotAlways, SnapshotNever:
	default:
		return nil, fmt.Errorf("snapshot %q: use initial, never or always", o.Snapshot)
	}
	specJSON, err := ss.streamSpec(p.Tables)
	if err != nil {
		return nil, err
	}
	// Dataflow commits a bundle's output together with the residual that
	// resumes the read after it: the source acknowledges what it committed.
	spec := transforms.StreamSpec{
		Name: p.Job.Name, Kind: ss.streamKind(), Spec: specJSON,
		From: o.From, Snapshot: o.From == "" && o.Snapshot != SnapshotNever,
		Ack: transforms.AckCommitted,
	}
	return BuildStream(p, spec)
}
