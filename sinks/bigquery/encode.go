package bigquery

import (
	"fmt"
	"strconv"

	"github.com/beamsync/beamsync/change"
)

// rowError is why a record cannot be written, found before it is sent.
type rowError struct{ msg string }

func (e *rowError) Error() string { return e.msg }

func rejectf(format string, args ...any) error { return &rowError{fmt.Sprintf(format, args...)} }

// valueEncoder appends the load-file (newline-delimited JSON) form of a
// non-nil value of a column, or returns a *rowError.
type valueEncoder func(b []byte, v any) ([]byte, error)

// flavor is the JSON a row encoder writes.
type flavor int

const (
	// forLoad is a line of a load job's newline-delimited JSON.
	forLoad flavor = iota
	// forCDC is the proto3 JSON of a Storage Write API row in CDC mode (see
	// cdcSchema): JSON values as strings, dates as days since 1970,
	// timestamps as microseconds since 1970, and the CDC pseudo-columns.
	forCDC
)

// rowEncoder writes records as rows of a staging or change table.
type rowEncoder struct {
	l    *layout
	fl   flavor
	enc  []valueEncoder
	keys []int // for each column, its index in the key, or -1
	// prefix holds each column's `"name":` text.
	prefix [][]byte
}

func newRowEncoder(l *layout, fl flavor, inf *infinity) *rowEncoder {
	e := &rowEncoder{l: l, fl: fl}
	for i, c := range l.Columns {
		e.enc = append(e.enc, encoderOf(c, fl, inf))
		e.prefix = append(e.prefix, append(change.AppendJSON(nil, c.Name), ':'))
		e.keys = append(e.keys, -1)
		for j, k := range l.keyCols {
			if k == i {
				e.keys[i] = j
			}
		}
	}
	return e
}

var (
	versionField = `"` + VersionColumn + `":"`
	deletedTrue  = `","` + DeletedColumn + `":true}` + "\n"
	deletedFalse = `","` + DeletedColumn + `":false}` + "\n"
	cdcUpsert    = `","` + changeTypeColumn + `":"UPSERT","` + changeSequenceColumn + `":"`
	cdcDelete    = `","` + changeTypeColumn + `":"DELETE","` + changeSequenceColumn + `":"`
)

// appendRow appends a record as one line: the key columns from the
// record's key, the other columns from its document (none for a delete),
// the version and the delete mark. Nulls are left out. On a *rowError, b
// is returned unchanged.
func (e *rowEncoder) appendRow(b []byte, r *change.Record) ([]byte, error) {
	if len(r.Key) != len(e.l.Key) {
		return b, rejectf("the record's key has %d values, the view's key %d fields", len(r.Key), len(e.l.Key))
	}
	if !r.Delete && r.Doc == nil {
		return b, rejectf("the record has no row")
	}
	start := len(b)
	b = append(b, '{')
	first := true
	for i := range e.l.Columns {
		var v any
		if k := e.keys[i]; k >= 0 {
			if v = r.Key[k]; v == nil {
				return b[:start], rejectf("key field %s is null", e.l.Key[k])
			}
		} else if !r.Delete {
			v = fieldValue(r.Doc, i, e.l.Columns[i].Name)
		}
		if v == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, e.prefix[i]...)
		var err error
		if b, err = e.enc[i](b, v); err != nil {
			return b[:start], rejectf("field %s: %v", e.l.Columns[i].Name, err)
		}
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, versionField...)
	b = strconv.AppendUint(b, uint64(r.Position), 10)
	if e.fl == forCDC {
		changeType := cdcUpsert
		if r.Delete {
			changeType = cdcDelete
		}
		b = append(b, changeType...)
		b = appendSequence(b, r.Position)
		return append(b, '"', '}', '\n'), nil
	}
	if r.Delete {
		return append(b, deletedTrue...), nil
	}
	return append(b, deletedFalse...), nil
}

// appendSequence appends a position as a _CHANGE_SEQUENCE_NUMBER: one
// section of 16 upper-case hexadecimal digits, so that BigQuery's order of
// sequence numbers is the order of positions.
func appendSequence(b []byte, p change.Position) []byte {
	const digits = "0123456789ABCDEF"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[uint64(p)>>shift&0xF])
	}
	return b
}

// fieldValue returns the named field of a document, looking first at the
// position the field has in the view (mappings write fields in order).
func fieldValue(d *change.Doc, i int, name string) any {
	if i < len(d.Names) && d.Names[i] == name {
		return d.Values[i]
	}
	v, _ := d.Get(name)
	return v
}

// encoderOf returns the encoder of a column's values.
func encoderOf(c column, fl flavor, inf *infinity) valueEncoder {
	if c.Repeated {
		elem := scalarEncoder(c.Type, fl, inf)
		if c.Type == typeStruct {
			elem = structEncoder(c.Fields, fl, inf)
		}
		return arrayEncoder(elem)
	}
	if c.Type == typeStruct {
		return structEncoder(c.Fields, fl, inf)
	}
	return scalarEncoder(c.Type, fl, inf)
}

// scalarEncoder returns the encoder of a scalar type; infinite timestamps
// and dates follow the view's infinity policy.
func scalarEncoder(t string, fl flavor, inf *infinity) valueEncoder {
	enc := plainEncoder(t, fl)
	if t == typeTimestamp || t == typeDate {
		return inf.guard(t, enc)
	}
	return enc
}

func plainEncoder(t string, fl flavor) valueEncoder {
	if fl == forCDC {
		switch t {
		case typeJSON:
			return encodeJSONText
		case typeDate:
			return encodeDateDays
		case typeTimestamp:
			return encodeTimestampMicros
		}
	}
	switch t {
	case typeInt64:
		return encodeInt64
	case typeBigNumeric:
		return encodeBigNumeric
	case typeFloat64:
		return encodeFloat64
	case typeString:
		return encodeString
	case typeBytes:
		return encodeBytes
	case typeBool:
		return encodeBool
	case typeTimestamp:
		return encodeTimestamp
	case typeDate:
		return encodeDate
	case typeTime:
		return encodeTime
	}
	return encodeJSON
}

// arrayEncoder writes an array. BigQuery arrays cannot hold NULL; a null
// element is refused rather than dropped.
func arrayEncoder(elem valueEncoder) valueEncoder {
	return func(b []byte, v any) ([]byte, error) {
		a, ok := v.([]any)
		if !ok {
			return b, wrongType(v, "ARRAY")
		}
		b = append(b, '[')
		for i, e := range a {
			if i > 0 {
				b = append(b, ',')
			}
			if e == nil {
				return b, fmt.Errorf("element %d is null, which a BigQuery array cannot hold: filter nulls out in the mapping, or map the field to json", i)
			}
			var err error
			if b, err = elem(b, e); err != nil {
				return b, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return append(b, ']'), nil
	}
}

// structEncoder writes an object with the STRUCT's fields (fields the
// object has beyond them are not written).
func structEncoder(fields []column, fl flavor, inf *infinity) valueEncoder {
	encs := make([]valueEncoder, len(fields))
	prefixes := make([][]byte, len(fields))
	for i, f := range fields {
		encs[i] = encoderOf(f, fl, inf)
		prefixes[i] = append(change.AppendJSON(nil, f.Name), ':')
	}
	return func(b []byte, v any) ([]byte, error) {
		get := func(i int) any { return nil }
		switch x := v.(type) {
		case *change.Doc:
			get = func(i int) any { return fieldValue(x, i, fields[i].Name) }
		case map[string]any:
			get = func(i int) any { return x[fields[i].Name] }
		default:
			return b, wrongType(v, typeStruct)
		}
		b = append(b, '{')
		first := true
		for i := range fields {
			fv := get(i)
			if fv == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, prefixes[i]...)
			var err error
			if b, err = encs[i](b, fv); err != nil {
				return b, fmt.Errorf("%s: %w", fields[i].Name, err)
			}
		}
		return append(b, '}'), nil
	}
}
