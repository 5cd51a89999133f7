package change

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the JSON form of a value to b. It never fails: every
// value of the package's value set has a JSON form.
//
//   - NaN and ±Inf, which JSON cannot hold, are written as the strings
//     "NaN", "Infinity" and "-Infinity".
//   - Decimal and uint64 are written as JSON numbers with all their digits.
//   - time.Time is written in RFC 3339 with nanoseconds, in UTC; the
//     infinite timestamps as the strings "infinity" and "-infinity".
//   - []byte is written as standard base64.
//   - JSON is written as is (invalid JSON text is written as a string).
//   - map keys are written in sorted order; *Doc keeps its field order.
//   - Unchanged is written as null; unknown types as their quoted %v.
func AppendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float64:
		return appendFloat(b, x)
	case string:
		return appendString(b, x)
	case Decimal:
		if isJSONNumber(string(x)) {
			return append(b, x...)
		}
		return appendString(b, string(x)) // NaN, Infinity
	case time.Time:
		if inf := InfinityText(x); inf != "" {
			return appendString(b, inf)
		}
		b = append(b, '"')
		b = appendTimeUTC(b, x)
		return append(b, '"')
	case Date:
		return appendString(b, string(x))
	case TimeOfDay:
		return appendString(b, string(x))
	case Interval:
		return appendString(b, string(x))
	case JSON:
		if len(x) == 0 {
			return append(b, "null"...)
		}
		if out, ok := appendCompactJSON(b, x); ok {
			return out
		}
		return appendString(b, string(x))
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, '"')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case *Doc:
		if x == nil {
			return append(b, "null"...)
		}
		b = append(b, '{')
		for i, n := range x.Names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
			b = append(b, ':')
			b = AppendJSON(b, x.Values[i])
		}
		return append(b, '}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = AppendJSON(b, x[k])
		}
		return append(b, '}')
	case unchanged:
		return append(b, "null"...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case float32:
		return appendFloat(b, float64(x))
	}
	return appendString(b, fmtAny(v))
}

// appendTimeUTC appends t in UTC as time.RFC3339Nano formats it, without
// the layout interpreter for the years 0000-9999.
func appendTimeUTC(b []byte, t time.Time) []byte {
	const unixToCivil = 719468 // days from 0000-03-01 to 1970-01-01
	sec := t.Unix()
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	// Civil date from a day count (H. Hinnant's days_from_civil inverse),
	// in a proleptic Gregorian calendar whose years start on 1 March.
	z := days + unixToCivil
	if z < 0 || z >= 146097*25 { // before year 0 or from year 10000 on
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
		y++
	}
	if y > 9999 {
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	h, mi, s := rem/3600, rem/60%60, rem%60
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// Like encoding/json: shortest repr, exponent only for very large/small.
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	return strconv.AppendFloat(b, f, fmt, -1, 64)
}

const hexDigits = "0123456789abcdef"

const badRune = utf8.RuneError

// decodeRune decodes one rune, reporting invalid encodings as (badRune, 1).
func decodeRune(b []byte) (rune, int) {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n <= 1 {
		return badRune, 1
	}
	return r, n
}

// appendString appends s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD; <, > and & are not escaped (the output is data, not HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping (plain ASCII,
		// no control character, quote or backslash).
		for i+8 <= len(s) && plainASCII8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i == len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// plainASCII8 reports whether the 8 bytes of s are ASCII that a JSON string
// takes as it is: none is >= 0x80, a control character, '"' or '\\'.
func plainASCII8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	if w&highs != 0 {
		return false
	}
	// With every byte below 0x80: a byte below n sets its high bit in
	// (w - n*ones) &^ w, and a zero byte in (x - ones) &^ x.
	less20 := (w - 0x20*ones) &^ w
	quote := (w ^ '"'*ones - ones) &^ (w ^ '"'*ones)
	backslash := (w ^ '\\'*ones - ones) &^ (w ^ '\\'*ones)
	return (less20|quote|backslash)&highs == 0
}
