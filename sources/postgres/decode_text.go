package postgres

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Logical replication (pgoutput) sends every value in its text form, in the
// session's DateStyle, TimeZone, IntervalStyle and extra_float_digits (the
// sessionParams, which the replication connection sets too). The text
// decoders below turn those texts into exactly the values the snapshot's
// (mostly binary) decoders produce, so that a row reads the same whether it
// came from the snapshot or from the stream.

// Text-input operations for the types the snapshot reads in binary.
const (
	opIntText op = iota + 64
	opFloat4Text
	opFloat8Text
	opBoolText
	opByteaText
	opTimestampText
	opDateText
)

// textInputDecoder returns the decoder of a value of the given type that
// arrives as text.
func (tc *typeCatalog) textInputDecoder(oid uint32) *decoder {
	t := tc.base(oid)
	if isArray(t) {
		elem := textInput(tc.base(t.Elem))
		return &decoder{op: opArrayText, elem: &elem, delim: t.Delim}
	}
	d := textInput(t)
	return &d
}

func textInput(t *pgType) decoder {
	switch t.OID {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return decoder{op: opIntText}
	case oidFloat4:
		return decoder{op: opFloat4Text}
	case oidFloat8:
		return decoder{op: opFloat8Text}
	case oidBool:
		return decoder{op: opBoolText}
	case oidBytea:
		return decoder{op: opByteaText}
	case oidTimestamp, oidTimestamptz:
		return decoder{op: opTimestampText}
	case oidDate:
		return decoder{op: opDateText}
	}
	return textDecoder(t) // uuid, text, enums and the rest: their text is the value
}

// decodeText decodes the text-input operations; ok is false for the others.
func (d *decoder) decodeText(b []byte, a *arena) (v any, ok bool, err error) {
	switch d.op {
	case opIntText:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return nil, true, fmt.Errorf("integer %q: %w", b, err)
		}
		return a.boxInt64(n), true, nil
	case opFloat4Text:
		f, err := strconv.ParseFloat(string(b), 32)
		if err != nil {
			return nil, true, fmt.Errorf("float4 %q: %w", b, err)
		}
		return a.boxFloat64(float4To64(float32(f))), true, nil
	case opFloat8Text:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, true, fmt.Errorf("float8 %q: %w", b, err)
		}
		return a.boxFloat64(f), true, nil
	case opBoolText:
		switch string(b) {
		case "t":
			return true, true, nil
		case "f":
			return false, true, nil
		}
		return nil, true, fmt.Errorf("boolean %q", b)
	case opByteaText:
		if len(b) < 2 || b[0] != '\\' || b[1] != 'x' {
			return nil, true, errors.New(`bytea not in hex form (set bytea_output = 'hex')`)
		}
		out := make([]byte, hex.DecodedLen(len(b)-2))
		if _, err := hex.Decode(out, b[2:]); err != nil {
			return nil, true, fmt.Errorf("bytea: %w", err)
		}
		return out, true, nil
	case opTimestampText:
		t, err := parseTimestampText(b)
		if err != nil {
			return nil, true, err
		}
		return a.boxTime(t), true, nil
	case opDateText:
		return a.boxString(typeDate, a.string(b)), true, nil
	}
	return nil, false, nil
}

// parseTimestampText parses a timestamp or timestamptz in DateStyle ISO:
// "2024-02-29 13:04:05.123456", "…+05:30", "10000-01-01 00:00:00",
// "0044-03-15 12:00:00+00 BC", "infinity", "-infinity". The result is what
// timestampFromMicros gives for the same value.
func parseTimestampText(b []byte) (time.Time, error) {
	s := string(b)
	switch s {
	case "infinity":
		return TimestampInfinity, nil
	case "-infinity":
		return TimestampNegInfinity, nil
	}
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("timestamp %q not in ISO form", s) }
	bc := false
	if n := len(s); n > 3 && s[n-3:] == " BC" {
		bc, s = true, s[:n-3]
	}
	i := 0
	num := func(min, max int) (int, bool) {
		start, v := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < max {
			v = v*10 + int(s[i]-'0')
			i++
		}
		return v, i-start >= min
	}
	expect := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	y, ok1 := num(4, 9)
	ok2 := expect('-')
	mo, ok3 := num(2, 2)
	ok4 := expect('-')
	d, ok5 := num(2, 2)
	ok6 := expect(' ')
	h, ok7 := num(2, 2)
	ok8 := expect(':')
	mi, ok9 := num(2, 2)
	ok10 := expect(':')
	sec, ok11 := num(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9 && ok10 && ok11) {
		return bad()
	}
	ns := 0
	if expect('.') {
		start := i
		frac, ok := num(1, 9)
		if !ok {
			return bad()
		}
		for k := i - start; k < 9; k++ {
			frac *= 10
		}
		ns = frac
	}
	offset := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		sign := 1
		if s[i] == '-' {
			sign = -1
		}
		i++
		oh, ok := num(2, 2)
		if !ok {
			return bad()
		}
		offset = oh * 3600
		if expect(':') {
			om, ok := num(2, 2)
			if !ok {
				return bad()
			}
			offset += om * 60
			if expect(':') {
				os, ok := num(2, 2)
				if !ok {
					return bad()
				}
				offset += os
			}
		}
		offset *= sign
	}
	if i != len(s) {
		return bad()
	}
	if bc {
		y = 1 - y
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC).Add(-time.Duration(offset) * time.Second)
	if t.Nanosecond()%1000 != 0 {
		return bad()
	}
	return timestampFromMicros(microsSincePGEpoch(t)), nil
}

// microsSincePGEpoch is the inverse of timestampFromMicros for finite
// timestamps (PostgreSQL's range, 4713 BC to 294276 AD, fits int64 µs).
func microsSincePGEpoch(t time.Time) int64 {
	return (t.Unix()-pgEpochUnix)*1e6 + int64(t.Nanosecond()/1000)
}
