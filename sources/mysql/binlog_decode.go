package mysql

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// binColumn is what decoding a binlog row value of one column needs: the
// column's decode type (the same classification Describe and the snapshot
// use, so that both give a column values of the same Go types) and the
// details the binlog leaves out or encodes differently from the text
// protocol.
type binColumn struct {
	name     string
	typ      colType
	unsigned bool     // integers: the binlog holds the two's complement
	bits     int      // integers: the width of the type
	padTo    int      // BINARY(n): the binlog drops trailing zero bytes
	fsp      int      // TIME(n): digits of the fraction the snapshot shows
	enum     []string // ENUM: the binlog holds the 1-based index
	set      []string // SET: the binlog holds the bit mask
	latin1   bool     // text in latin1: the snapshot connection converts it to UTF-8
	storage  storage  // MariaDB's UUID, INET6, INET4: the binlog holds their bytes
}

// storage is how the binlog holds a MariaDB data type whose values the
// server shows as text but stores as bytes (see storageType).
type storage uint8

const (
	storageNone  storage = iota
	storageUUID          // 16 bytes, shown as 8-4-4-4-12 lower-case hex
	storageInet6         // 16 bytes, an IPv6 address
	storageInet4         // 4 bytes, an IPv4 address
)

// binColumns derives the binlog decoders of a described table's columns.
func binColumns(t *change.Table) []binColumn {
	cols := make([]binColumn, len(t.Columns))
	for i, c := range t.Columns {
		ct := strings.ToLower(c.Type)
		dt := ct
		if j := strings.IndexAny(dt, "( "); j >= 0 {
			dt = dt[:j]
		}
		typ, _ := classify(dt, ct, c.Kind == change.KindJSON)
		b := binColumn{name: c.Name, typ: typ}
		b.storage = map[string]storage{"uuid": storageUUID, "inet6": storageInet6, "inet4": storageInet4}[dt]
		b.unsigned = strings.Contains(ct, "unsigned") || strings.Contains(ct, "zerofill")
		b.bits = map[string]int{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[dt]
		switch dt {
		case "binary":
			b.padTo = typeArg(ct, 1)
		case "time":
			b.fsp = typeArg(ct, 0)
		case "enum":
			b.enum = typeValues(c.Type)
		case "set":
			b.set = typeValues(c.Type)
		}
		cols[i] = b
	}
	return cols
}

// typeArg returns n of "type(n)", or def.
func typeArg(ct string, def int) int {
	i := strings.IndexByte(ct, '(')
	j := strings.IndexByte(ct, ')')
	if i < 0 || j < i {
		return def
	}
	n, err := strconv.Atoi(ct[i+1 : j])
	if err != nil {
		return def
	}
	return n
}

// typeValues parses the quoted values of an ENUM or SET column type,
// such as enum('a','b') (a quote inside a value is doubled).
func typeValues(ct string) []string {
	i := strings.IndexByte(ct, '(')
	if i < 0 {
		return nil
	}
	var vals []string
	s := ct[i+1:]
	for len(s) > 0 && s[0] == '\'' {
		var b strings.Builder
		k := 1
		for k < len(s) {
			if s[k] == '\'' {
				if k+1 < len(s) && s[k+1] == '\'' {
					b.WriteByte('\'')
					k += 2
					continue
				}
				break
			}
			if s[k] == '\\' && k+1 < len(s) { // information_schema escapes a backslash
				k++
			}
			b.WriteByte(s[k])
			k++
		}
		vals = append(vals, b.String())
		s = s[min(k+1, len(s)):]
		s = strings.TrimLeft(s, ",")
	}
	return vals
}

// latin1Collations are the collation ids of MySQL's latin1 (cp1252).
var latin1Collations = map[uint64]bool{5: true, 8: true, 15: true, 31: true, 47: true, 48: true, 49: true, 94: true}

// cp1252 maps the bytes 0x80..0x9F of MySQL's latin1 (which is cp1252; the
// five bytes cp1252 leaves undefined map to the same code point).
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

func latin1String(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(cp1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}

// binlogValue turns a value as go-mysql decodes it from a row event into
// the change value set, exactly as decode does for the snapshot's text
// values of the same column. The result never shares memory with the
// event.
func binlogValue(c *binColumn, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.typ {
	case ctSigned:
		if n, _, ok := binlogInt(v); ok {
			return n, nil
		}
	case ctUnsigned:
		if n, bits, ok := binlogInt(v); ok {
			if !c.unsigned || n >= 0 {
				return n, nil
			}
			if c.bits > 0 {
				bits = min(bits, c.bits) // MEDIUMINT arrives as a sign-extended int32
			}
			u := uint64(n)
			if bits < 64 {
				u &= 1<<bits - 1
			}
			return normUint(u), nil
		}
	case ctBool:
		if n, _, ok := binlogInt(v); ok {
			return n != 0, nil
		}
	case ctBit:
		if n, _, ok := binlogInt(v); ok {
			return normUint(uint64(n)), nil
		}
	case ctDecimal:
		if s, ok := v.(string); ok {
			return change.Decimal(strings.Clone(s)), nil
		}
	case ctFloat:
		switch x := v.(type) {
		case float32:
			return floatValue(x), nil
		case float64:
			return floatValue(float32(x)), nil
		}
	case ctDouble:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		}
	case ctString:
		if c.storage != storageNone {
			return storageText(c, v)
		}
		switch x := v.(type) {
		case string:
			if c.latin1 {
				return latin1String([]byte(x)), nil
			}
			return strings.Clone(x), nil
		case []byte:
			if c.latin1 {
				return latin1String(x), nil
			}
			return string(x), nil
		case int64:
			switch {
			case c.enum != nil:
				if x == 0 {
					return "", nil // the "invalid value" of a non-strict insert
				}
				if x >= 1 && int(x) <= len(c.enum) {
					return c.enum[x-1], nil
				}
			case c.set != nil:
				var parts []string
				for i, s := range c.set {
					if x&(1<<i) != 0 {
						parts = append(parts, s)
					}
				}
				return strings.Join(parts, ","), nil
			}
		}
	case ctGeometry:
		if b, ok := v.([]byte); ok {
			return geometryWKT(b)
		}
	case ctBytes:
		var b []byte
		switch x := v.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		default:
			return nil, badValue(&column{name: c.name}, v)
		}
		out := make([]byte, max(len(b), c.padTo))
		copy(out, b)
		return out, nil
	case ctDate:
		if s, ok := v.(string); ok {
			d := change.Date(strings.Clone(s))
			if invalidDate([]byte(s)) {
				return d, &invalidDateError{col: c.name, text: string(d)}
			}
			return d, nil
		}
	case ctDateTime:
		if s, ok := v.(string); ok {
			t, invalid, ok := parseDateTime([]byte(s))
			switch {
			case invalid:
				s = strings.Clone(s)
				return s, &invalidDateError{col: c.name, text: s}
			case ok:
				return t, nil
			}
		}
	case ctTime:
		if s, ok := v.(string); ok {
			if c.fsp > 0 && !strings.Contains(s, ".") {
				s += "." + strings.Repeat("0", c.fsp)
			}
			return change.TimeOfDay(strings.Clone(s)), nil
		}
	case ctJSON:
		switch x := v.(type) {
		case []byte:
			return change.JSON(cloneBytes(x)), nil
		case string:
			return change.JSON(x), nil
		}
	}
	return nil, badValue(&column{name: c.name}, v)
}

// binlogInt widens go-mysql's integer types, with their width in bits.
func binlogInt(v any) (int64, int, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), 8, true
	case int16:
		return int64(x), 16, true
	case int32:
		return int64(x), 32, true // INT and MEDIUMINT (24 bits, see below)
	case int64:
		return x, 64, true
	case int:
		return int64(x), 64, true
	case uint64:
		return int64(x), 64, true
	}
	return 0, 0, false
}

// geometryWKT renders MySQL's internal geometry value (a 4-byte SRID and
// WKB) as WKT, as ST_AsText does for the snapshot.
func geometryWKT(b []byte) (any, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("geometry value of %d bytes", len(b))
	}
	r := &wkbReader{b: b[4:]}
	var sb strings.Builder
	r.geometry(&sb, true)
	if r.err != nil {
		return nil, fmt.Errorf("geometry value: %w", r.err)
	}
	return sb.String(), nil
}

type wkbReader struct {
	b   []byte
	bo  binary.ByteOrder
	err error
}

func (r *wkbReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *wkbReader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail("truncated WKB")
		return 0
	}
	v := r.bo.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *wkbReader) f64() float64 {
	if len(r.b) < 8 {
		r.fail("truncated WKB")
		return 0
	}
	v := math.Float64frombits(r.bo.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *wkbReader) point(sb *strings.Builder) {
	x, y := r.f64(), r.f64()
	sb.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	sb.WriteByte(' ')
	sb.WriteString(strconv.FormatFloat(y, 'g', -1, 64))
}

func (r *wkbReader) points(sb *strings.Builder) {
	n := r.u32()
	sb.WriteByte('(')
	for i := uint32(0); i < n && r.err == nil; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		r.point(sb)
	}
	sb.WriteByte(')')
}

func (r *wkbReader) rings(sb *strings.Builder) {
	n := r.u32()
	sb.WriteByte('(')
	for i := uint32(0); i < n && r.err == nil; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		r.points(sb)
	}
	sb.WriteByte(')')
}

// geometry writes one WKB geometry; named prefixes the type name.
func (r *wkbReader) geometry(sb *strings.Builder, named bool) {
	if len(r.b) < 1 {
		r.fail("truncated WKB")
		return
	}
	switch r.b[0] {
	case 0:
		r.bo = binary.BigEndian
	case 1:
		r.bo = binary.LittleEndian
	default:
		r.fail("bad WKB byte order %d", r.b[0])
		return
	}
	r.b = r.b[1:]
	kind := r.u32()
	names := map[uint32]string{1: "POINT", 2: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING", 6: "MULTIPOLYGON", 7: "GEOMETRYCOLLECTION"}
	name, ok := names[kind]
	if !ok {
		r.fail("unsupported WKB geometry type %d", kind)
		return
	}
	if named {
		sb.WriteString(name)
	}
	switch kind {
	case 1:
		if named { // a member of a MULTIPOINT is bare: MULTIPOINT(1 1,2 2)
			sb.WriteByte('(')
		}
		r.point(sb)
		if named {
			sb.WriteByte(')')
		}
	case 2:
		r.points(sb)
	case 3:
		r.rings(sb)
	case 4, 5, 6, 7:
		n := r.u32()
		sb.WriteByte('(')
		for i := uint32(0); i < n && r.err == nil; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			// Members of a multi-geometry are written without their
			// type name, except in a collection.
			if kind == 4 {
				r.geometry(sb, false)
				continue
			}
			r.geometry(sb, kind == 7)
		}
		sb.WriteByte(')')
	}
}
