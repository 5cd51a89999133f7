package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/beamsync/beamsync/change"
)

// PostgreSQL's infinite timestamps have no time.Time counterpart. They are
// read as change.TimestampInfinity and change.TimestampNegInfinity, which
// no finite value can be and every output renders as "infinity" and
// "-infinity".
var (
	TimestampInfinity    = change.TimestampInfinity
	TimestampNegInfinity = change.TimestampNegInfinity
)

// op selects the decoding of one value.
type op uint8

const (
	opNone op = iota
	// binary format
	opInt2
	opInt4
	opInt8
	opOID
	opFloat4
	opFloat8
	opBool
	opBytes
	opTimestamp // timestamp and timestamptz: µs since 2000-01-01 (UTC)
	opDate
	opUUID
	opJSONBBinary
	opArrayBinary
	// either format (the bytes are the text)
	opString
	opJSON
	// text format
	opNumeric
	opInterval
	opTime
	opTimeTZ
	opArrayText
)

// decoder decodes the raw values of one result column.
type decoder struct {
	op     op
	format int16    // the result format to ask the server for
	elem   *decoder // for arrays
	delim  byte     // element delimiter of text arrays
}

const pgEpochUnix = 946684800 // 2000-01-01 00:00:00 UTC

var errBadLength = errors.New("unexpected value length")

// decode converts one non-NULL raw value. The result never aliases b: text
// and bytes are copied into the arena a (nil: a fresh allocation each).
func (d *decoder) decode(b []byte, a *arena) (any, error) {
	if d.op >= opIntText {
		v, _, err := d.decodeText(b, a)
		return v, err
	}
	switch d.op {
	case opInt2:
		if len(b) != 2 {
			return nil, errBadLength
		}
		return a.boxInt64(int64(int16(binary.BigEndian.Uint16(b)))), nil
	case opInt4:
		if len(b) != 4 {
			return nil, errBadLength
		}
		return a.boxInt64(int64(int32(binary.BigEndian.Uint32(b)))), nil
	case opInt8:
		if len(b) != 8 {
			return nil, errBadLength
		}
		return a.boxInt64(int64(binary.BigEndian.Uint64(b))), nil
	case opOID:
		if len(b) != 4 {
			return nil, errBadLength
		}
		return a.boxInt64(int64(binary.BigEndian.Uint32(b))), nil
	case opFloat4:
		if len(b) != 4 {
			return nil, errBadLength
		}
		return a.boxFloat64(float4To64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
	case opFloat8:
		if len(b) != 8 {
			return nil, errBadLength
		}
		return a.boxFloat64(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	case opBool:
		if len(b) != 1 {
			return nil, errBadLength
		}
		return b[0] != 0, nil
	case opBytes:
		return a.boxBytes(typeBytes, a.bytes(b)), nil
	case opTimestamp:
		if len(b) != 8 {
			return nil, errBadLength
		}
		return a.boxTime(timestampFromMicros(int64(binary.BigEndian.Uint64(b)))), nil
	case opDate:
		if len(b) != 4 {
			return nil, errBadLength
		}
		return a.boxString(typeDate, string(dateFromDays(int32(binary.BigEndian.Uint32(b))))), nil
	case opUUID:
		if len(b) != 16 {
			return nil, errBadLength
		}
		return a.boxString(typeString, formatUUID(b)), nil
	case opString:
		return a.boxString(typeString, a.string(b)), nil
	case opJSON:
		return a.boxBytes(typeJSON, a.bytes(b)), nil
	case opJSONBBinary:
		if len(b) < 1 || b[0] != 1 {
			return nil, errors.New("unknown jsonb binary version")
		}
		return a.boxBytes(typeJSON, a.bytes(b[1:])), nil
	case opNumeric:
		return a.boxString(typeDecimal, a.string(b)), nil
	case opInterval:
		return a.boxString(typeInterval, a.string(b)), nil
	case opTime:
		return a.boxString(typeTimeOfDay, a.string(b)), nil
	case opTimeTZ:
		return timeTZ(b), nil
	case opArrayBinary:
		return d.decodeBinaryArray(b, a)
	case opArrayText:
		return d.decodeTextArray(b, a)
	}
	return nil, fmt.Errorf("no decoder (op %d)", d.op)
}

// float4To64 widens a float4 through its shortest decimal form, so that
// 1.1::float4 reads 1.1 rather than 1.100000023841858.
func float4To64(f float32) float64 {
	if f != f || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

func timestampFromMicros(us int64) time.Time {
	switch us {
	case math.MaxInt64:
		return TimestampInfinity
	case math.MinInt64:
		return TimestampNegInfinity
	}
	sec, rem := us/1e6, us%1e6
	if rem < 0 {
		rem += 1e6
		sec--
	}
	return time.Unix(pgEpochUnix+sec, rem*1000).UTC()
}

// dateFromDays renders a date as PostgreSQL's ISO text does: "2024-02-29",
// "10000-01-01", "0044-03-15 BC", "infinity", "-infinity".
func dateFromDays(days int32) change.Date {
	switch days {
	case math.MaxInt32:
		return "infinity"
	case math.MinInt32:
		return "-infinity"
	}
	y, m, d := time.Unix(pgEpochUnix+int64(days)*86400, 0).UTC().Date()
	bc := y < 1
	if bc {
		y = 1 - y
	}
	b := make([]byte, 0, 16)
	if y < 10000 {
		b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		b = strconv.AppendInt(b, int64(y), 10)
	}
	b = append(b, '-', byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+d/10), byte('0'+d%10))
	if bc {
		b = append(b, " BC"...)
	}
	return change.Date(b)
}

func formatUUID(b []byte) string {
	var s [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xF]
		j += 2
	}
	return string(s[:])
}

const hexDigits = "0123456789abcdef"

// timeTZ normalises PostgreSQL's "15:04:05+02" to "15:04:05+02:00" (offsets
// with minutes or seconds are kept as the server writes them).
func timeTZ(b []byte) change.TimeOfDay {
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == '+' || b[i] == '-' {
			if len(b)-i == 3 {
				return change.TimeOfDay(string(b) + ":00")
			}
			break
		}
	}
	return change.TimeOfDay(b)
}

// decodeBinaryArray decodes the binary array format: ndim, flags, element
// OID, (length, lower bound) per dimension, then each element as a length
// (-1 for NULL) and its bytes. Multi-dimensional arrays nest; lower bounds
// are dropped.
func (d *decoder) decodeBinaryArray(b []byte, a *arena) (any, error) {
	if len(b) < 12 {
		return nil, errBadLength
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	if ndim == 0 {
		return []any{}, nil
	}
	if ndim < 0 || ndim > 32 || len(b) < 12+8*int(ndim) {
		return nil, errors.New("malformed array header")
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		n := int32(binary.BigEndian.Uint32(b[12+8*i:]))
		if n < 0 || int64(total)*int64(n) > int64(len(b)) {
			return nil, errors.New("malformed array dimensions")
		}
		dims[i] = int(n)
		total *= int(n)
	}
	p := 12 + 8*int(ndim)
	var build func(level int) ([]any, error)
	build = func(level int) ([]any, error) {
		out := make([]any, dims[level])
		for i := range out {
			if level < len(dims)-1 {
				sub, err := build(level + 1)
				if err != nil {
					return nil, err
				}
				out[i] = sub
				continue
			}
			if len(b)-p < 4 {
				return nil, errBadLength
			}
			n := int32(binary.BigEndian.Uint32(b[p:]))
			p += 4
			if n < 0 {
				continue // NULL element
			}
			if len(b)-p < int(n) {
				return nil, errBadLength
			}
			v, err := d.elem.decode(b[p:p+int(n)], a)
			if err != nil {
				return nil, err
			}
			out[i] = v
			p += int(n)
		}
		return out, nil
	}
	out, err := build(0)
	if err != nil {
		return nil, err
	}
	if p != len(b) {
		return nil, errors.New("trailing bytes after array elements")
	}
	return out, nil
}

// decodeTextArray parses PostgreSQL's array text form: {a,"b c",NULL,{…}},
// optionally preceded by a dimension decoration "[0:1]=".
func (d *decoder) decodeTextArray(b []byte, a *arena) (any, error) {
	if len(b) > 0 && b[0] == '[' {
		i := 0
		for i < len(b) && b[i] != '=' {
			i++
		}
		if i == len(b) {
			return nil, errors.New("malformed array dimensions")
		}
		b = b[i+1:]
	}
	p := textArrayParser{b: b, delim: d.delim, elem: d.elem, arena: a}
	p.space()
	out, err := p.array()
	if err != nil {
		return nil, fmt.Errorf("%w in array %q", err, b)
	}
	p.space()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("trailing text in array %q", b)
	}
	return out, nil
}

type textArrayParser struct {
	b     []byte
	i     int
	delim byte
	elem  *decoder
	arena *arena
	buf   []byte
}

func (p *textArrayParser) space() {
	for p.i < len(p.b) && isArraySpace(p.b[p.i]) {
		p.i++
	}
}

func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (p *textArrayParser) array() ([]any, error) {
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errors.New("expected {")
	}
	p.i++
	out := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) {
			return nil, errors.New("unterminated array")
		}
		var v any
		var err error
		switch p.b[p.i] {
		case '{':
			v, err = p.array()
		case '"':
			v, err = p.quoted()
		default:
			v, err = p.unquoted()
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, errors.New("unterminated array")
		}
		switch p.b[p.i] {
		case p.delim:
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, fmt.Errorf("unexpected %q", p.b[p.i])
		}
	}
}

func (p *textArrayParser) quoted() (any, error) {
	p.i++ // opening quote
	p.buf = p.buf[:0]
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch c {
		case '\\':
			if p.i+1 >= len(p.b) {
				return nil, errors.New("unterminated escape")
			}
			p.buf = append(p.buf, p.b[p.i+1])
			p.i += 2
		case '"':
			p.i++
			return p.elem.decode(p.buf, p.arena)
		default:
			p.buf = append(p.buf, c)
			p.i++
		}
	}
	return nil, errors.New("unterminated quoted element")
}

func (p *textArrayParser) unquoted() (any, error) {
	p.buf = p.buf[:0]
	trail := 0 // length of buf without trailing unescaped spaces
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == p.delim || c == '}' || c == '{' || c == '"' {
			break
		}
		if c == '\\' {
			if p.i+1 >= len(p.b) {
				return nil, errors.New("unterminated escape")
			}
			p.buf = append(p.buf, p.b[p.i+1])
			p.i += 2
			trail = len(p.buf)
			continue
		}
		p.buf = append(p.buf, c)
		p.i++
		if !isArraySpace(c) {
			trail = len(p.buf)
		}
	}
	s := p.buf[:trail]
	if len(s) == 0 {
		return nil, errors.New("empty unquoted element")
	}
	if len(s) == 4 && (s[0]|0x20) == 'n' && (s[1]|0x20) == 'u' && (s[2]|0x20) == 'l' && (s[3]|0x20) == 'l' {
		return nil, nil
	}
	return p.elem.decode(s, p.arena)
}

// arena holds the text and bytes of the values of one batch in a few large
// blocks instead of one allocation per value. Values are never written
// after they are decoded; each []byte is capped so that an append by a
// consumer reallocates rather than overwriting its neighbour. A value kept
// alive keeps its block (arenaBlock bytes) alive.
type arena struct {
	buf []byte
	box boxes
}

const arenaBlock = 32 << 10

func (a *arena) alloc(b []byte) []byte {
	if a == nil || len(b) > arenaBlock/4 {
		return append(make([]byte, 0, len(b)), b...)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaBlock)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// string returns b as a string (never aliasing b).
func (a *arena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	c := a.alloc(b)
	return unsafe.String(&c[0], len(c))
}

// bytes returns a copy of b; empty stays empty, not nil.
func (a *arena) bytes(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return a.alloc(b)
}
