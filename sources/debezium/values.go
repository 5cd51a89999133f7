package debezium

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// Field is one member of a JSON object, in document order.
type Field struct {
	Name string
	Raw  json.RawMessage
}

// DecodeObject splits a JSON object into its members, in order (a repeated
// name keeps its first place and its last value). It fails on anything
// but exactly one object.
func DecodeObject(raw []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object (starts with %s)", describeToken(tok))
	}
	var fields []Field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, jsonError(err)
		}
		if i := indexField(fields, name); i >= 0 {
			fields[i].Raw = v
		} else {
			fields = append(fields, Field{name, v})
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the object")
	}
	return fields, nil
}

func indexField(fields []Field, name string) int {
	for i := range fields {
		if fields[i].Name == name {
			return i
		}
	}
	return -1
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprint(tok)
}

func jsonError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("invalid JSON: unexpected end of line")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// IsNull reports whether raw is absent or the JSON null.
func IsNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// jsonKind is the kind a plain JSON value decodes to (KindAny for null).
func jsonKind(raw []byte) change.Kind {
	switch raw[0] {
	case 'n':
		return change.KindAny
	case 't', 'f':
		return change.KindBool
	case '"':
		return change.KindString
	case '{', '[':
		return change.KindJSON
	}
	return change.KindOf(numberValue(string(raw)))
}

// plainValue decodes a JSON value without a schema: null, bool, string,
// numbers as numberValue, and objects and arrays as change.JSON.
func plainValue(raw []byte) (any, error) {
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, err
		}
		return change.JSON(b.Bytes()), nil
	}
	return numberValue(string(raw)), nil
}

// numberValue keeps a JSON number exactly: an integer as int64 (uint64
// beyond MaxInt64, change.Decimal beyond that), any other number as float64
// when it has at most 15 significant digits (which float64 always holds),
// else as change.Decimal.
func numberValue(s string) any {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		return change.Decimal(canonicalDecimal(s))
	}
	if significantDigits(s) <= 15 {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			return f
		}
	}
	return change.Decimal(canonicalDecimal(s))
}

// numberAs converts a JSON number to the value of a column of kind k: ints
// widen to float64 (a float column holds no integer beyond 2^53, see
// resolveKind) or Decimal. It reports false when the number does not fit.
func numberAs(s string, k change.Kind) (any, bool) {
	v := numberValue(s)
	switch k {
	case change.KindAny:
		return v, true
	case change.KindInt:
		switch v.(type) {
		case int64, uint64:
			return v, true
		}
	case change.KindFloat:
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		}
	case change.KindDecimal:
		return change.Decimal(canonicalDecimal(s)), true
	}
	return nil, false
}

// significantDigits counts the digits of a number's mantissa, leading zeros
// left out.
func significantDigits(s string) int {
	n, lead := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c < '0' || c > '9' {
			continue
		}
		if lead && c == '0' {
			continue
		}
		lead = false
		n++
	}
	return n
}

// canonicalDecimal writes a JSON number without an exponent (for exponents
// up to ±1000; beyond, the text is kept as it is).
func canonicalDecimal(s string) string {
	mant, exps, hasExp := strings.Cut(strings.ToLower(s), "e")
	if !hasExp {
		return s
	}
	exp, err := strconv.Atoi(exps)
	if err != nil || exp > 1000 || exp < -1000 {
		return s
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	ip, fp, _ := strings.Cut(mant, ".")
	digits := ip + fp
	point := len(ip) + exp
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	ip2, fp2, frac := strings.Cut(out, ".")
	if ip2 = strings.TrimLeft(ip2, "0"); ip2 == "" {
		ip2 = "0"
	}
	out = ip2
	if frac {
		out += "." + fp2
	}
	if neg {
		out = "-" + out
	}
	return out
}

// ValueFor decodes a plain JSON value (no schema) for a column: numbers are
// converted to the column's kind exactly (see NumberAs); any other value
// must be of the column's kind (or null, or the column KindAny).
func ValueFor(col *change.Column, raw json.RawMessage) (any, error) {
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		if v, ok := numberAs(string(raw), col.Kind); ok {
			return v, nil
		}
		return nil, fmt.Errorf("column %q: number %s does not fit its kind %s", col.Name, truncate(raw), col.Kind)
	}
	v, err := plainValue(raw)
	if err != nil {
		return nil, fmt.Errorf("column %q: %v", col.Name, err)
	}
	if v != nil && col.Kind != change.KindAny && change.KindOf(v) != col.Kind {
		return nil, fmt.Errorf("column %q: %s value in a column of kind %s", col.Name, change.KindOf(v), col.Kind)
	}
	return v, nil
}

// KeyOf picks the key values out of a row image aligned with the table's
// columns; a key column that is null or Unchanged is an error.
func KeyOf(t *change.Table, row []any) ([]any, error) {
	if len(t.Key) == 0 {
		return nil, nil
	}
	key := make([]any, len(t.Key))
	for i, ci := range t.Key {
		if ci >= len(row) || row[ci] == nil || change.IsUnchanged(row[ci]) {
			return nil, fmt.Errorf("key column %q is null or missing", t.Columns[ci].Name)
		}
		key[i] = row[ci]
	}
	return key, nil
}
