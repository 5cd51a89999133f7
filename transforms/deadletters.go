package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
)

// FlattenDeadLetters joins the dead-letter outputs of every stage into one
// PCollection of change.DeadLetter (an empty one when there are none).
func FlattenDeadLetters(s beam.Scope, cols ...beam.PCollection) beam.PCollection {
	s = s.Scope("DeadLetters")
	var valid []beam.PCollection
	for _, c := range cols {
		if c.IsValid() {
			valid = append(valid, c)
		}
	}
	switch len(valid) {
	case 0:
		return beam.CreateList(s, []change.DeadLetter{})
	case 1:
		return valid[0]
	}
	return beam.Flatten(s, valid...)
}
