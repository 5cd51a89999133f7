package change

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// The binary codec below is the wire form of batches between pipeline stages
// (and of spill files). It is compact and allocation-light; it is not a
// stable storage format across beamsync versions.

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagUint
	tagFloat
	tagString
	tagBytes
	tagDecimal
	tagTime
	tagDate
	tagTimeOfDay
	tagInterval
	tagJSON
	tagArray
	tagDoc
	tagMap
	tagUnchanged
)

var errShort = errors.New("decoding change: truncated input")

// AppendValue appends the binary form of a value.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case uint64:
		return binary.AppendUvarint(append(b, tagUint), x)
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		return appendStr(append(b, tagString), x)
	case []byte:
		return appendStr(append(b, tagBytes), string(x))
	case Decimal:
		return appendStr(append(b, tagDecimal), string(x))
	case time.Time:
		b = binary.AppendVarint(append(b, tagTime), x.Unix())
		return binary.AppendUvarint(b, uint64(x.Nanosecond()))
	case Date:
		return appendStr(append(b, tagDate), string(x))
	case TimeOfDay:
		return appendStr(append(b, tagTimeOfDay), string(x))
	case Interval:
		return appendStr(append(b, tagInterval), string(x))
	case JSON:
		return appendStr(append(b, tagJSON), string(x))
	case []any:
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(x)))
		for _, e := range x {
			b = AppendValue(b, e)
		}
		return b
	case *Doc:
		if x == nil {
			return append(b, tagNil)
		}
		b = binary.AppendUvarint(append(b, tagDoc), uint64(len(x.Names)))
		for i, n := range x.Names {
			b = appendStr(b, n)
			b = AppendValue(b, x.Values[i])
		}
		return b
	case map[string]any:
		// Keys in sorted order: the encoding of a value is deterministic.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(x)))
		for _, k := range keys {
			b = appendStr(b, k)
			b = AppendValue(b, x[k])
		}
		return b
	case unchanged:
		return append(b, tagUnchanged)
	}
	// Values outside the value set are normalised first, or kept as text.
	if n := Normalize(v); fmt.Sprintf("%T", n) != fmt.Sprintf("%T", v) {
		return AppendValue(b, n)
	}
	return appendStr(append(b, tagString), fmt.Sprint(v))
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decoder reads values written by AppendValue from a byte slice.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first decoding error.
func (d *Decoder) Err() error { return d.err }

// Len returns the number of bytes not yet read.
func (d *Decoder) Len() int { return len(d.b) }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *Decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// String reads a length-prefixed string.
func (d *Decoder) String() string { return string(d.raw()) }

func (d *Decoder) raw() []byte {
	n := d.Uvarint()
	if uint64(len(d.b)) < n {
		d.fail(errShort)
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// Value reads one value.
func (d *Decoder) Value() any {
	switch t := d.byte(); t {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return d.Varint()
	case tagUint:
		return d.Uvarint()
	case tagFloat:
		if len(d.b) < 8 {
			d.fail(errShort)
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f
	case tagString:
		return d.String()
	case tagBytes:
		return clone(d.raw())
	case tagDecimal:
		return Decimal(d.String())
	case tagTime:
		sec := d.Varint()
		ns := d.Uvarint()
		return time.Unix(sec, int64(ns)).UTC()
	case tagDate:
		return Date(d.String())
	case tagTimeOfDay:
		return TimeOfDay(d.String())
	case tagInterval:
		return Interval(d.String())
	case tagJSON:
		return JSON(clone(d.raw()))
	case tagArray:
		n := d.count()
		a := make([]any, n)
		for i := range a {
			a[i] = d.Value()
		}
		return a
	case tagDoc:
		n := d.count()
		doc := &Doc{Names: make([]string, n), Values: make([]any, n)}
		for i := 0; i < n; i++ {
			doc.Names[i] = d.String()
			doc.Values[i] = d.Value()
		}
		return doc
	case tagMap:
		n := d.count()
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k := d.String()
			m[k] = d.Value()
		}
		return m
	case tagUnchanged:
		return Unchanged
	default:
		d.fail(fmt.Errorf("decoding change: unknown value tag %d", t))
		return nil
	}
}

// clone copies b, keeping an empty slice empty rather than nil.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// appendTime appends a time; the zero time stays zero.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = binary.AppendVarint(append(b, 1), t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func (d *Decoder) time() time.Time {
	if d.byte() == 0 {
		return time.Time{}
	}
	sec := d.Varint()
	return time.Unix(sec, int64(d.Uvarint())).UTC()
}

// count reads a collection length, refusing lengths the input cannot hold.
func (d *Decoder) count() int {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return 0
	}
	return int(n)
}

// AppendValues appends a length-prefixed list of values (nil stays nil).
func AppendValues(b []byte, vs []any) []byte {
	if vs == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(vs))+1)
	for _, v := range vs {
		b = AppendValue(b, v)
	}
	return b
}

// Values reads a list written by AppendValues.
func (d *Decoder) Values() []any {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	vs := make([]any, n)
	for i := range vs {
		vs[i] = d.Value()
	}
	return vs
}

func appendTable(b []byte, t *Table) []byte {
	b = appendStr(b, t.Database)
	b = appendStr(b, t.Schema)
	b = appendStr(b, t.Name)
	b = binary.AppendUvarint(b, uint64(len(t.Columns)))
	for _, c := range t.Columns {
		b = appendStr(b, c.Name)
		b = appendStr(b, c.Type)
		b = append(b, byte(c.Kind))
		if c.Nullable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.Key)))
	for _, k := range t.Key {
		b = binary.AppendUvarint(b, uint64(k))
	}
	b = binary.AppendVarint(b, t.EstimatedRows)
	return appendStr(b, t.Source)
}

func (d *Decoder) table() *Table {
	t := &Table{Database: d.String(), Schema: d.String(), Name: d.String()}
	t.Columns = make([]Column, d.count())
	for i := range t.Columns {
		t.Columns[i] = Column{Name: d.String(), Type: d.String(), Kind: Kind(d.byte()), Nullable: d.byte() == 1}
	}
	t.Key = make([]int, d.count())
	for i := range t.Key {
		t.Key[i] = int(d.Uvarint())
	}
	t.EstimatedRows = d.Varint()
	t.Source = d.String()
	return t
}

// EncodeBatch is the Beam coder encoding of a Batch.
func EncodeBatch(bt Batch) []byte {
	b := make([]byte, 0, 64+len(bt.Changes)*64)
	if bt.Table == nil {
		b = append(b, 0)
	} else {
		b = appendTable(append(b, 1), bt.Table)
	}
	b = binary.AppendUvarint(b, uint64(len(bt.Changes)))
	for i := range bt.Changes {
		c := &bt.Changes[i]
		b = append(b, byte(c.Op))
		b = AppendValues(b, c.Key)
		b = AppendValues(b, c.Before)
		b = AppendValues(b, c.After)
		b = appendTime(b, c.CommitTime)
		b = binary.AppendUvarint(b, uint64(c.Position))
		b = appendStr(b, c.SourcePos)
	}
	return appendAck(b, bt.Ack)
}

func appendAck(b []byte, t AckToken) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(t.Stream)), t.Seq)
}

func (d *Decoder) ack() AckToken {
	return AckToken{Stream: uint32(d.Uvarint()), Seq: d.Uvarint()}
}

// DecodeBatch is the Beam coder decoding of a Batch.
func DecodeBatch(b []byte) (Batch, error) {
	d := NewDecoder(b)
	var bt Batch
	if d.byte() == 1 {
		bt.Table = d.table()
	}
	bt.Changes = make([]Change, d.count())
	for i := range bt.Changes {
		c := &bt.Changes[i]
		c.Op = Op(d.byte())
		c.Key = d.Values()
		c.Before = d.Values()
		c.After = d.Values()
		c.CommitTime = d.time()
		c.Position = Position(d.Uvarint())
		c.SourcePos = d.String()
	}
	bt.Ack = d.ack()
	return bt, d.Err()
}

// AppendRecord appends the binary form of one record.
func AppendRecord(b []byte, r *Record) []byte {
	b = AppendValues(b, r.Key)
	if r.Delete {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(r.Position))
	b = appendStr(b, r.SourcePos)
	return AppendValue(b, r.Doc)
}

// Record reads a record written by AppendRecord.
func (d *Decoder) Record() Record {
	r := Record{Key: d.Values(), Delete: d.byte() == 1, Position: Position(d.Uvarint()), SourcePos: d.String()}
	if doc, ok := d.Value().(*Doc); ok {
		r.Doc = doc
	}
	return r
}

// EncodeRecordBatch is the Beam coder encoding of a RecordBatch.
func EncodeRecordBatch(rb RecordBatch) []byte {
	b := make([]byte, 0, 32+len(rb.Records)*64)
	b = appendStr(b, rb.View)
	b = binary.AppendUvarint(b, uint64(len(rb.Records)))
	for i := range rb.Records {
		b = AppendRecord(b, &rb.Records[i])
	}
	return appendAck(b, rb.Ack)
}

// DecodeRecordBatch is the Beam coder decoding of a RecordBatch.
func DecodeRecordBatch(b []byte) (RecordBatch, error) {
	d := NewDecoder(b)
	rb := RecordBatch{View: d.String()}
	rb.Records = make([]Record, d.count())
	for i := range rb.Records {
		rb.Records[i] = d.Record()
	}
	rb.Ack = d.ack()
	return rb, d.Err()
}
