package pipelines

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
)

// failOnDeadLetterFn fails the job on the first dead letter (errors.policy: fail).
type failOnDeadLetterFn struct{}

func (failOnDeadLetterFn) ProcessElement(d change.DeadLetter) error {
	where := d.SourcePos
	if where == "" {
		where = "position " + d.Position.String()
	}
	row := "a row without a key"
	if k := string(d.Key); k != "" && k != "null" && k != "[]" {
		row = "row " + k
	}
	return fmt.Errorf("%s (%s at %s; errors.policy is fail)", d.Reason, row, where)
}

func init() {
	register.DoFn1x1[change.DeadLetter, error](&failOnDeadLetterFn{})
}
