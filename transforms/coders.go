package transforms

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/beamsync/beamsync/change"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(change.Batch{}), change.EncodeBatch, change.DecodeBatch)
	beam.RegisterCoder(reflect.TypeOf(change.RecordBatch{}), change.EncodeRecordBatch, change.DecodeRecordBatch)
	beam.RegisterCoder(reflect.TypeOf(change.DeadLetter{}), encodeDeadLetter, decodeDeadLetter)
}

// A dead letter travels as its acknowledgement token (two uvarints) and
// its JSON form.
func encodeDeadLetter(d change.DeadLetter) ([]byte, error) {
	b := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(d.Ack.Stream)), d.Ack.Seq)
	j, err := json.Marshal(d)
	return append(b, j...), err
}

func decodeDeadLetter(b []byte) (change.DeadLetter, error) {
	var d change.DeadLetter
	stream, n := binary.Uvarint(b)
	if n <= 0 {
		return d, errors.New("dead letter: truncated acknowledgement token")
	}
	seq, m := binary.Uvarint(b[n:])
	if m <= 0 {
		return d, errors.New("dead letter: truncated acknowledgement token")
	}
	err := json.Unmarshal(b[n+m:], &d)
	d.Ack = change.AckToken{Stream: uint32(stream), Seq: seq}
	return d, err
}
