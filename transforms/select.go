package transforms

import (
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
)

// SelectViews keeps the record batches of the named views (for a sink that
// holds only some of a job's views).
func SelectViews(s beam.Scope, views []string, records beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("SelectViews"), &selectViewsFn{Views: views}, records)
}

type selectViewsFn struct {
	Views []string `json:"views"`
}

func (f *selectViewsFn) ProcessElement(rb change.RecordBatch, emit func(change.RecordBatch)) {
	if slices.Contains(f.Views, rb.View) {
		emit(rb)
	}
}

func init() {
	register.DoFn2x0[change.RecordBatch, func(change.RecordBatch)](&selectViewsFn{})
}
