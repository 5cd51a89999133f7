package debezium

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
)

// connectSchema is a Kafka Connect schema as the JSON converter writes it
// (the "schema" part of a Debezium event).
type connectSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Optional   bool              `json:"optional"`
	Field      string            `json:"field"`
	Fields     []*connectSchema  `json:"fields"`
	Items      *connectSchema    `json:"items"`
	Keys       *connectSchema    `json:"keys"`
	Values     *connectSchema    `json:"values"`
	Parameters map[string]string `json:"parameters"`
}

// field returns the schema of the named struct field, or nil.
func (s *connectSchema) field(name string) *connectSchema {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Field == name {
			return f
		}
	}
	return nil
}

// typeName is the column type a schema stands for: its logical name, else
// its type.
func (s *connectSchema) typeName() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Type
}

// Logical types (Kafka Connect's and Debezium's).
const (
	lDecimal        = "org.apache.kafka.connect.data.Decimal"
	lDate           = "org.apache.kafka.connect.data.Date"
	lTime           = "org.apache.kafka.connect.data.Time"
	lTimestamp      = "org.apache.kafka.connect.data.Timestamp"
	dVarDecimal     = "io.debezium.data.VariableScaleDecimal"
	dJSON           = "io.debezium.data.Json"
	dDate           = "io.debezium.time.Date"
	dTime           = "io.debezium.time.Time"
	dMicroTime      = "io.debezium.time.MicroTime"
	dNanoTime       = "io.debezium.time.NanoTime"
	dZonedTime      = "io.debezium.time.ZonedTime"
	dTimestamp      = "io.debezium.time.Timestamp"
	dMicroTimestamp = "io.debezium.time.MicroTimestamp"
	dNanoTimestamp  = "io.debezium.time.NanoTimestamp"
	dZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	dMicroDuration  = "io.debezium.time.MicroDuration"
	dInterval       = "io.debezium.time.Interval"
	dIsoDate        = "io.debezium.time.IsoDate"
	dIsoTime        = "io.debezium.time.IsoTime"
	dIsoTimestamp   = "io.debezium.time.IsoTimestamp"
	dBits           = "io.debezium.data.Bits"
)

// unavailable is the placeholder Debezium sends for a value it does not
// have (an unchanged TOASTed column in PostgreSQL), as text and as bytes.
var unavailable = []string{`"__debezium_unavailable_value"`, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`}

func isUnavailable(raw []byte) bool {
	return len(raw) > 0 && raw[0] == '"' && (string(raw) == unavailable[0] || string(raw) == unavailable[1])
}

// kind is the value kind a schema decodes to.
func (s *connectSchema) kind() change.Kind {
	switch s.Name {
	case lDecimal, dVarDecimal:
		return change.KindDecimal
	case lDate, dDate, dIsoDate:
		return change.KindDate
	case lTime, dTime, dMicroTime, dNanoTime, dZonedTime, dIsoTime:
		return change.KindTime
	case lTimestamp, dTimestamp, dMicroTimestamp, dNanoTimestamp, dZonedTimestamp, dIsoTimestamp:
		return change.KindTimestamp
	case dBits:
		return change.KindString
	case dMicroDuration, dInterval:
		return change.KindInterval
	case dJSON:
		return change.KindJSON
	}
	switch s.Type {
	case "int8", "int16", "int32", "int64":
		return change.KindInt
	case "float32", "float64", "float", "double":
		return change.KindFloat
	case "boolean":
		return change.KindBool
	case "string":
		return change.KindString
	case "bytes":
		return change.KindBytes
	case "array":
		return change.KindArray
	case "struct", "map":
		return change.KindObject
	}
	return change.KindAny
}

// wireKinds are the kinds of plain JSON (one bit per change.Kind) the
// schema's values are written as: what an event without the schema part
// holds for them.
func (s *connectSchema) wireKinds() uint32 {
	switch s.Name {
	case lDecimal: // base64 text, or a number from some converters
		return 1<<change.KindString | 1<<change.KindInt | 1<<change.KindFloat | 1<<change.KindDecimal
	case dVarDecimal:
		return 1 << change.KindJSON
	}
	switch s.Type {
	case "int8", "int16", "int32", "int64":
		return 1 << change.KindInt
	case "float32", "float64", "float", "double":
		return 1<<change.KindFloat | 1<<change.KindInt | 1<<change.KindDecimal
	case "boolean":
		return 1 << change.KindBool
	case "string", "bytes":
		return 1 << change.KindString
	case "array", "struct", "map":
		return 1 << change.KindJSON
	}
	return 0
}

// logicalSchema is the schema of a column whose type is a logical type
// (Column.Type from a schema's name), for its values in events without the
// schema part; nil for other columns.
func logicalSchema(col *change.Column) *connectSchema {
	switch col.Type {
	case lDecimal, dVarDecimal, lDate, lTime, lTimestamp, dJSON, dDate, dTime, dMicroTime, dNanoTime, dZonedTime,
		dTimestamp, dMicroTimestamp, dNanoTimestamp, dZonedTimestamp, dMicroDuration, dInterval,
		dIsoDate, dIsoTime, dIsoTimestamp, dBits:
		return &connectSchema{Name: col.Type}
	}
	return nil
}

// convert decodes a JSON value by its schema.
func (s *connectSchema) convert(raw json.RawMessage) (any, error) {
	if IsNull(raw) {
		return nil, nil
	}
	switch s.Name {
	case lDecimal:
		if raw[0] != '"' { // some converters write decimals as numbers
			return change.Decimal(canonicalDecimal(string(raw))), nil
		}
		scale, err := strconv.Atoi(s.Parameters["scale"])
		if err != nil {
			return nil, fmt.Errorf("decimal without a valid scale parameter (%q)", s.Parameters["scale"])
		}
		b, err := base64Value(raw)
		if err != nil {
			return nil, err
		}
		return decimalFromBytes(b, scale), nil
	case dVarDecimal:
		var v struct {
			Scale int    `json:"scale"`
			Value []byte `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("variable-scale decimal: %v", err)
		}
		return decimalFromBytes(v.Value, v.Scale), nil
	case lDate, dDate:
		days, err := intValue(raw)
		return change.Date(time.Unix(days*86400, 0).UTC().Format("2006-01-02")), err
	case lTime, dTime:
		ms, err := intValue(raw)
		return timeOfDay(ms * 1e6), err
	case dMicroTime:
		us, err := intValue(raw)
		return timeOfDay(us * 1e3), err
	case dNanoTime:
		ns, err := intValue(raw)
		return timeOfDay(ns), err
	case lTimestamp, dTimestamp:
		ms, err := intValue(raw)
		return time.UnixMilli(ms).UTC(), err
	case dMicroTimestamp:
		us, err := intValue(raw)
		return time.UnixMicro(us).UTC(), err
	case dNanoTimestamp:
		ns, err := intValue(raw)
		return time.Unix(0, ns).UTC(), err
	case dZonedTimestamp, dIsoTimestamp:
		str, err := stringValue(raw)
		if err != nil {
			return nil, err
		}
		return zonedTimestamp(str)
	case dZonedTime, dIsoTime:
		str, err := stringValue(raw)
		if strings.HasSuffix(str, "Z") {
			str = strings.TrimSuffix(str, "Z") + "+00:00"
		}
		return change.TimeOfDay(str), err
	case dIsoDate:
		str, err := stringValue(raw)
		if err != nil {
			return nil, err
		}
		return isoDate(str)
	case dBits:
		b, err := base64Value(raw)
		if err != nil {
			return nil, err
		}
		return bitString(b, s.Parameters["length"])
	case dMicroDuration:
		us, err := intValue(raw)
		return microDuration(us), err
	case dInterval:
		str, err := stringValue(raw)
		return change.Interval(str), err
	case dJSON:
		str, err := stringValue(raw)
		return change.JSON(str), err
	}
	switch s.Type {
	case "int8", "int16", "int32", "int64":
		return intValue(raw)
	case "float32", "float64", "float", "double":
		return floatValue(raw)
	case "boolean":
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case "string":
		return stringValue(raw)
	case "bytes":
		return base64Value(raw)
	case "struct":
		return s.convertStruct(raw)
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("array: %v", err)
		}
		out := make([]any, len(items))
		for i, it := range items {
			var err error
			if s.Items != nil {
				out[i], err = s.Items.convert(it)
			} else {
				out[i], err = plainValue(it)
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	case "map":
		if raw[0] != '{' { // maps with non-string keys: an array of pairs
			return plainValue(raw)
		}
		fields, err := DecodeObject(raw)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			if s.Values != nil {
				m[f.Name], err = s.Values.convert(f.Raw)
			} else {
				m[f.Name], err = plainValue(f.Raw)
			}
			if err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return plainValue(raw)
}

// convertStruct decodes a nested struct into an ordered change.Doc, in the
// schema's field order.
func (s *connectSchema) convertStruct(raw json.RawMessage) (any, error) {
	fields, err := DecodeObject(raw)
	if err != nil {
		return nil, err
	}
	doc := &change.Doc{}
	for _, fs := range s.Fields {
		var v any
		if i := indexField(fields, fs.Field); i >= 0 {
			if v, err = fs.convert(fields[i].Raw); err != nil {
				return nil, fmt.Errorf("%s: %w", fs.Field, err)
			}
		}
		doc.Names = append(doc.Names, fs.Field)
		doc.Values = append(doc.Values, v)
	}
	return doc, nil
}

func intValue(raw []byte) (int64, error) {
	i, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", truncate(raw))
	}
	return i, nil
}

func floatValue(raw []byte) (float64, error) {
	if raw[0] == '"' { // NaN and infinities
		s, err := stringValue(raw)
		switch {
		case err != nil:
		case s == "NaN":
			return math.NaN(), nil
		case s == "Infinity":
			return math.Inf(1), nil
		case s == "-Infinity":
			return math.Inf(-1), nil
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %s", truncate(raw))
	}
	return f, nil
}

func stringValue(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("want a string, got %s", truncate(raw))
	}
	return s, nil
}

func base64Value(raw []byte) ([]byte, error) {
	s, err := stringValue(raw)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bytes: not base64: %q", s)
	}
	return b, nil
}

// decimalFromBytes renders a Kafka Connect decimal: the unscaled value as
// big-endian two's complement bytes, and the scale.
func decimalFromBytes(b []byte, scale int) change.Decimal {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	neg := v.Sign() < 0
	digits := v.Abs(v).String()
	switch {
	case scale < 0:
		digits += strings.Repeat("0", -scale)
	case scale > 0:
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		digits = "-" + digits
	}
	return change.Decimal(digits)
}

// timeOfDay renders nanoseconds since midnight as "15:04:05.999999999"
// (fraction only when not zero; 24:00:00 and MySQL's TIME beyond a day,
// "838:59:59", stay as they are; a negative MySQL TIME keeps its sign,
// "-00:00:01").
func timeOfDay(ns int64) change.TimeOfDay {
	var b []byte
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	s := ns / 1e9
	b = fmt.Appendf(b, "%02d:%02d:%02d", s/3600, s/60%60, s%60)
	if frac := ns % 1e9; frac != 0 {
		b = append(b, strings.TrimRight(fmt.Sprintf(".%09d", frac), "0")...)
	}
	return change.TimeOfDay(b)
}

// zonedTimestamp parses an ISO 8601 timestamp with a zone offset, the
// offset in hours and minutes or, as Java writes historical offsets, in
// hours, minutes and seconds ("1900-01-01T00:00:00+00:19:32"); the result
// is in UTC.
func zonedTimestamp(str string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, str)
	if err == nil {
		return t.UTC(), nil
	}
	if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999-07:00:00", str); err2 == nil {
		return t2.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("zoned timestamp %q: %v", str, err)
}

// isoDate parses io.debezium.time.IsoDate, "2017-09-15Z" or
// "2017-09-15+02:00": the date as written, its zone dropped.
func isoDate(str string) (change.Date, error) {
	d := str
	if len(d) > 10 {
		d = d[:10]
	}
	if _, err := time.Parse("2006-01-02", d); err != nil {
		return "", fmt.Errorf("ISO date %q is not YYYY-MM-DD[zone]", str)
	}
	return change.Date(d), nil
}

// bitString renders io.debezium.data.Bits (the bits in little-endian byte
// order, the length parameter the number of bits) as a bit string, most
// significant bit first, as SQL writes BIT(n) values: B'101' is "101".
func bitString(b []byte, length string) (string, error) {
	n := len(b) * 8
	if length != "" {
		l, err := strconv.Atoi(length)
		if err != nil || l < 0 || l > n {
			return "", fmt.Errorf("bits: length parameter %q does not fit %d bytes", length, len(b))
		}
		n = l
	}
	out := make([]byte, n)
	for i := 0; i < n; i++ {
		bit := n - 1 - i // the bit number, from the most significant
		out[i] = '0' + b[bit/8]>>(bit%8)&1
	}
	return string(out), nil
}

// microDuration renders a duration in microseconds in ISO 8601:
// "PT1H2M3.5S", "-PT30S", "PT0S".
func microDuration(us int64) change.Interval {
	var b strings.Builder
	if us < 0 {
		b.WriteByte('-')
		us = -us
	}
	b.WriteString("PT")
	h, m, s, frac := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s > 0 || frac > 0 || (h == 0 && m == 0) {
		fmt.Fprintf(&b, "%d", s)
		if frac > 0 {
			b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", frac), "0"))
		}
		b.WriteByte('S')
	}
	return change.Interval(b.String())
}

func truncate(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}
