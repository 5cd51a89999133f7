package files

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	_ "github.com/beamsync/beamsync/transforms" // coders of the change model
)

// ReadAll is the Beam entry point: every configured file, as change batches,
// and the dead letters of lines that could not be decoded.
func ReadAll(s beam.Scope, cfgs []Config, tables []*change.Table) (batches, dead beam.PCollection) {
	s = s.Scope("files.Read")
	return beam.ParDo2(s, &readFn{Configs: cfgs, Tables: tables}, beam.Impulse(s))
}

type readFn struct {
	Configs []Config        `json:"configs"`
	Tables  []*change.Table `json:"tables"`
}

func (f *readFn) ProcessElement(ctx context.Context, _ []byte, emit func(change.Batch), dead func(change.DeadLetter)) error {
	for _, c := range f.Configs {
		err := Read(ctx, c, f.Tables, func(b change.Batch) error {
			runstats.Add(runstats.Read, b.Table.QualifiedName(), int64(len(b.Changes)))
			emit(b)
			return nil
		}, func(d change.DeadLetter) error {
			runstats.Add(runstats.Dead, d.Table, 1)
			dead(d)
			return nil
		})
		if err != nil {
			return err
		}
	}
	runstats.Set(runstats.SourceDone, "files", 1)
	return nil
}

func init() {
	register.DoFn4x1[context.Context, []byte, func(change.Batch), func(change.DeadLetter), error](&readFn{})
	register.Emitter1[change.Batch]()
	register.Emitter1[change.DeadLetter]()
}
