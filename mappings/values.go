package mappings

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beamsync/beamsync/change"
)

// Conversions between the change package's value set and the values that
// expressions compute with.

const maxDecimalExponent = 1000 // a decimal text longer than this is refused

// parseDecimal parses a decimal number ("-12.50", "+1e3", ".5", "NaN",
// "Infinity") into canonical Decimal text: no '+', no leading zeros, no
// exponent, the scale (fraction digits) kept as written.
func parseDecimal(s string) (change.Decimal, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "nan":
		return "NaN", nil
	case "infinity", "+infinity", "inf", "+inf":
		return "Infinity", nil
	case "-infinity", "-inf":
		return "-Infinity", nil
	}
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	mant, exp := t, 0
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mant = t[:i]
		e, err := strconv.Atoi(t[i+1:])
		if err != nil || e > maxDecimalExponent || e < -maxDecimalExponent {
			return "", fmt.Errorf("cannot convert %q to decimal", s)
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return "", fmt.Errorf("cannot convert %q to decimal", s)
	}
	// Apply the exponent by moving the point.
	digits := intPart + frac
	point := len(intPart) + exp
	scale := max(len(frac)-exp, 0)
	if point < 0 {
		digits = strings.Repeat("0", -point) + digits
		point = 0
	}
	if point > len(digits) {
		digits += strings.Repeat("0", point-len(digits))
	}
	ip, fp := digits[:point], digits[point:]
	if len(fp) > scale {
		fp = fp[:scale] // only zeros beyond the written scale
	}
	ip = strings.TrimLeft(ip, "0")
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return change.Decimal(out), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// roundDecimal rounds canonical decimal text half away from zero to scale
// fraction digits (padding with zeros).
func roundDecimal(d change.Decimal, scale int) change.Decimal {
	s := string(d)
	if s == "NaN" || strings.HasSuffix(s, "Infinity") {
		return d
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) <= scale {
		fp += strings.Repeat("0", scale-len(fp))
	} else {
		up := fp[scale] >= '5'
		fp = fp[:scale]
		if up {
			n := []byte(ip + fp)
			i := len(n) - 1
			for ; i >= 0 && n[i] == '9'; i-- {
				n[i] = '0'
			}
			if i < 0 {
				n = append([]byte{'1'}, n...)
			} else {
				n[i]++
			}
			ip, fp = string(n[:len(n)-scale]), string(n[len(n)-scale:])
		}
	}
	out := ip
	if scale > 0 {
		out += "." + fp
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return change.Decimal(out)
}

// floatDecimal is the shortest decimal text that reads back as f.
func floatDecimal(f float64) change.Decimal {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return change.Decimal(strconv.FormatFloat(f, 'f', -1, 64))
}

// formatFloat renders a float as text the way JSON does.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return string(change.AppendJSON(nil, f))
}

// asInt64 converts any Go integer to int64.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// text returns the text of string-like values.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case change.Date:
		return string(x), true
	case change.TimeOfDay:
		return string(x), true
	case change.Interval:
		return string(x), true
	}
	return "", false
}

// toText is the string() cast: the canonical text of any value.
func toText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case change.Decimal:
		return string(x), nil
	case change.Date:
		return string(x), nil
	case change.TimeOfDay:
		return string(x), nil
	case change.Interval:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return formatFloat(x), nil
	case float32:
		return formatFloat(float64(x)), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case time.Duration:
		return string(durationInterval(x)), nil
	case change.JSON:
		return string(x), nil
	case []byte:
		if !utf8.Valid(x) {
			return "", fmt.Errorf("bytes are not UTF-8 text: use hex() or base64()")
		}
		return string(x), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case []any, map[string]any, *change.Doc:
		return string(change.AppendJSON(nil, x)), nil
	}
	if i, ok := asInt64(v); ok {
		return strconv.FormatInt(i, 10), nil
	}
	return "", fmt.Errorf("cannot convert %s to string", typeName(v))
}

// typeName names a value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case change.Decimal:
		return "decimal"
	case change.Date:
		return "date"
	case change.TimeOfDay:
		return "time of day"
	case change.Interval:
		return "interval"
	case change.JSON:
		return "json"
	case time.Time:
		return "timestamp"
	case []any:
		return "array"
	case map[string]any, *change.Doc:
		return "object"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", v)
}

// durationInterval renders a duration as an ISO 8601 interval, "PT1H2M3.5S".
func durationInterval(d time.Duration) change.Interval {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
	}
	b.WriteString("PT")
	u := uint64(d)
	if d < 0 {
		u = uint64(-d)
	}
	h, u := u/uint64(time.Hour), u%uint64(time.Hour)
	m, u := u/uint64(time.Minute), u%uint64(time.Minute)
	if h > 0 {
		b.WriteString(strconv.FormatUint(h, 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatUint(m, 10) + "M")
	}
	if u > 0 {
		sec := strconv.FormatUint(u/uint64(time.Second), 10)
		if ns := u % uint64(time.Second); ns > 0 {
			sec += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
		}
		b.WriteString(sec + "S")
	}
	return change.Interval(b.String())
}

// toValue normalises a value an expression computed into the change
// package's value set.
func toValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, change.Decimal, change.Date, change.TimeOfDay,
		change.Interval, change.JSON, []byte, *change.Doc:
		return v, nil
	case time.Time:
		return x.UTC(), nil
	case time.Duration:
		return durationInterval(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case float32:
		return float64(x), nil
	case []any:
		for i, e := range x {
			n, err := toValue(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := toValue(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	}
	if i, ok := asInt64(v); ok {
		return i, nil
	}
	// Typed slices and maps (e.g. []string from a builtin).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			n, err := toValue(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			out := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				n, err := toValue(it.Value().Interface())
				if err != nil {
					return nil, err
				}
				out[it.Key().String()] = n
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("a value of type %T cannot be stored in a view", v)
}

// Value families for comparisons.
const (
	famOther = iota
	famNumber
	famText
	famTime
)

func family(v any) int {
	switch v.(type) {
	case int64, float64, change.Decimal, uint64, int, int32, int16, int8, uint, uint32, uint16, uint8, float32:
		return famNumber
	case string, change.Date, change.TimeOfDay, change.Interval:
		return famText
	case time.Time:
		return famTime
	}
	return famOther
}

// compareValues orders two non-nil values of one family: numbers by exact
// numeric value (decimals included), text bytewise, timestamps by instant.
func compareValues(a, b any) (int, error) {
	fa, fb := family(a), family(b)
	if fa != fb || fa == famOther {
		return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
	}
	switch fa {
	case famText:
		x, _ := text(a)
		y, _ := text(b)
		return strings.Compare(x, y), nil
	case famTime:
		return a.(time.Time).Compare(b.(time.Time)), nil
	}
	if x, ok := asInt64(a); ok {
		if y, ok := asInt64(b); ok {
			return cmpInt(x, y), nil
		}
	}
	x, y := bigNumber(a), bigNumber(b)
	if x == nil || y == nil {
		return 0, fmt.Errorf("cannot compare %v with %v", a, b)
	}
	return x.Cmp(y), nil
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func bigNumber(v any) *big.Float {
	f := new(big.Float).SetPrec(512)
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) {
			return nil
		}
		return f.SetFloat64(x)
	case float32:
		return bigNumber(float64(x))
	case change.Decimal:
		switch x {
		case "NaN":
			return nil
		case "Infinity":
			return f.SetInf(false)
		case "-Infinity":
			return f.SetInf(true)
		}
		if _, ok := f.SetString(string(x)); ok {
			return f
		}
		return nil
	case uint64:
		return f.SetUint64(x)
	}
	if i, ok := asInt64(v); ok {
		return f.SetInt64(i)
	}
	return nil
}
