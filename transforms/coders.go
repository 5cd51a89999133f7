package transforms

import (
	"encoding/json"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(change.Batch{}), change.EncodeBatch, change.DecodeBatch)
	beam.RegisterCoder(reflect.TypeOf(change.RecordBatch{}), change.EncodeRecordBatch, change.DecodeRecordBatch)
	beam.RegisterCoder(reflect.TypeOf(change.DeadLetter{}), encodeDeadLetter, decodeDeadLetter)
}

func encodeDeadLetter(d change.DeadLetter) ([]byte, error) { return json.Marshal(d) }

func decodeDeadLetter(b []byte) (change.DeadLetter, error) {
	var d change.DeadLetter
	err := json.Unmarshal(b, &d)
	return d, err
}
