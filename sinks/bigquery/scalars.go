package bigquery

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
)

var errUnchanged = errors.New("the source did not send this value (an unchanged TOAST column?): writing NULL would overwrite the stored value")

func wrongType(v any, t string) error {
	if change.IsUnchanged(v) {
		return errUnchanged
	}
	return fmt.Errorf("a %s value cannot be stored in a %s column", kindName(v), t)
}

func kindName(v any) string {
	if k := change.KindOf(v); k != change.KindAny {
		return k.String()
	}
	return fmt.Sprintf("%T", v)
}

// encodeInt64 writes an integer as a JSON string: BigQuery reads JSON
// numbers beyond ±2^53 through a double.
func encodeInt64(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		b = append(b, '"')
		b = strconv.AppendInt(b, x, 10)
		return append(b, '"'), nil
	case uint64:
		if x > math.MaxInt64 {
			return b, fmt.Errorf("%d is above INT64's maximum: map the field to a decimal (BIGNUMERIC) to keep unsigned 64-bit values", x)
		}
		b = append(b, '"')
		b = strconv.AppendUint(b, x, 10)
		return append(b, '"'), nil
	}
	return b, wrongType(v, typeInt64)
}

// maxBigNumericScale is BIGNUMERIC's number of digits after the point.
const maxBigNumericScale = 38

func encodeBigNumeric(b []byte, v any) ([]byte, error) {
	var s string
	switch x := v.(type) {
	case change.Decimal:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, fmt.Errorf("%v cannot be stored in a BIGNUMERIC column", x)
		}
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return b, wrongType(v, typeBigNumeric)
	}
	scale, ok := decimalScale(s)
	if !ok {
		return b, fmt.Errorf("%q is not a number a BIGNUMERIC column can hold", s)
	}
	if scale > maxBigNumericScale {
		return b, fmt.Errorf("%s has %d digits after the point; BIGNUMERIC keeps %d and would round it", s, scale, maxBigNumericScale)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// decimalScale returns the number of significant digits after the point of
// a decimal in plain or exponent form, and whether s is such a number.
func decimalScale(s string) (int, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	e := 0
	if hasExp {
		n, err := strconv.Atoi(exp)
		if err != nil {
			return 0, false
		}
		e = n
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" {
		return 0, false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	frac = strings.TrimRight(frac, "0")
	return max(len(frac)-e, 0), true
}

// encodeFloat64 writes a double; NaN and ±Inf, which JSON cannot hold, as
// the strings "NaN", "Infinity" and "-Infinity" that BigQuery reads.
func encodeFloat64(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case float64, int64, uint64:
		return change.AppendJSON(b, x), nil
	case change.Decimal:
		if _, ok := decimalScale(string(x)); ok {
			return append(b, x...), nil
		}
		return change.AppendJSON(b, string(x)), nil // "NaN", "Infinity"
	}
	return b, wrongType(v, typeFloat64)
}

// encodeString writes text as is, and any other value as its JSON text.
func encodeString(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return change.AppendJSON(b, x), nil
	case change.Interval:
		return change.AppendJSON(b, string(x)), nil
	case change.Date:
		return change.AppendJSON(b, string(x)), nil
	case change.TimeOfDay:
		return change.AppendJSON(b, string(x)), nil
	case change.Decimal:
		return change.AppendJSON(b, string(x)), nil
	}
	if change.IsUnchanged(v) {
		return b, errUnchanged
	}
	j := change.AppendJSON(nil, v)
	if j[0] == '"' { // a time, bytes (base64): already a JSON string
		return append(b, j...), nil
	}
	return change.AppendJSON(b, string(j)), nil
}

func encodeBytes(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return change.AppendJSON(b, x), nil
	case string:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, []byte(x))
		return append(b, '"'), nil
	}
	return b, wrongType(v, typeBytes)
}

func encodeBool(b []byte, v any) ([]byte, error) {
	if x, ok := v.(bool); ok {
		return strconv.AppendBool(b, x), nil
	}
	return b, wrongType(v, typeBool)
}

// encodeTimestamp writes a time in UTC with microseconds, BigQuery's
// precision (finer digits are cut off).
func encodeTimestamp(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		x = x.UTC()
		if y := x.Year(); y < 1 || y > 9999 {
			return b, fmt.Errorf("%s is outside TIMESTAMP's range (years 1 to 9999)", x.Format(time.RFC3339Nano))
		}
		b = append(b, '"')
		b = x.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
		return append(b, '"'), nil
	case string:
		return change.AppendJSON(b, x), nil
	}
	return b, wrongType(v, typeTimestamp)
}

// encodeDate writes a date's text; BigQuery refuses text that is not a
// date (PostgreSQL's "infinity"), and the row is dead-lettered with its
// message.
func encodeDate(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case change.Date:
		return change.AppendJSON(b, string(x)), nil
	case string:
		return change.AppendJSON(b, x), nil
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, "2006-01-02")
		return append(b, '"'), nil
	}
	return b, wrongType(v, typeDate)
}

// encodeTime writes a time of day. TIME holds 00:00:00 to 23:59:59.999999
// without a zone: other values (a MySQL TIME of 100 hours, a PostgreSQL
// timetz with its offset) are refused rather than changed.
func encodeTime(b []byte, v any) ([]byte, error) {
	var s string
	switch x := v.(type) {
	case change.TimeOfDay:
		s = string(x)
	case string:
		s = x
	default:
		return b, wrongType(v, typeTime)
	}
	t, ok := timeOfDay(s)
	if !ok {
		return b, fmt.Errorf("%q is not a time of day TIME can hold (00:00:00 to 23:59:59.999999, no zone offset): map it to a string to keep it", s)
	}
	return change.AppendJSON(b, t), nil
}

// timeOfDay checks "HH:MM:SS[.fraction]" within a day and cuts the
// fraction to microseconds.
func timeOfDay(s string) (string, bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return "", false
	}
	h, m, sec := s[0:2], s[3:5], s[6:8]
	for _, p := range []string{h, m, sec} {
		if p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' {
			return "", false
		}
	}
	if h > "23" || m > "59" || sec > "59" {
		return "", false
	}
	rest := s[8:]
	if rest == "" {
		return s, true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return "", false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return "", false
		}
	}
	if len(rest) > 7 {
		s = s[:8+7]
	}
	return s, true
}

// encodeJSON writes a value's JSON form as the JSON column's value.
func encodeJSON(b []byte, v any) ([]byte, error) {
	if change.IsUnchanged(v) {
		return b, errUnchanged
	}
	return change.AppendJSON(b, v), nil
}

// encodeJSONText writes a value's JSON text as a string (a Storage Write
// API JSON column takes a string).
func encodeJSONText(b []byte, v any) ([]byte, error) {
	if change.IsUnchanged(v) {
		return b, errUnchanged
	}
	return change.AppendJSON(b, string(change.AppendJSON(nil, v))), nil
}

// encodeDateDays writes a date as the days since 1970-01-01.
func encodeDateDays(b []byte, v any) ([]byte, error) {
	var t time.Time
	switch x := v.(type) {
	case change.Date:
		d, err := time.Parse("2006-01-02", string(x))
		if err != nil {
			return b, fmt.Errorf("%q is not a date DATE can hold (0001-01-01 to 9999-12-31)", string(x))
		}
		t = d
	case time.Time:
		t = x.UTC()
	default:
		return b, wrongType(v, typeDate)
	}
	days := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	return strconv.AppendInt(b, days, 10), nil
}

// encodeTimestampMicros writes a time as microseconds since 1970 (a JSON
// string: it is an int64).
func encodeTimestampMicros(b []byte, v any) ([]byte, error) {
	x, ok := v.(time.Time)
	if !ok {
		return b, wrongType(v, typeTimestamp)
	}
	if y := x.UTC().Year(); y < 1 || y > 9999 {
		return b, fmt.Errorf("%s is outside TIMESTAMP's range (years 1 to 9999)", x.Format(time.RFC3339Nano))
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, x.UnixMicro(), 10)
	return append(b, '"'), nil
}
