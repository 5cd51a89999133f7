package joins

import (
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Join values are stored in a self-delimiting form in which two values
// are byte-equal exactly when a join treats them as equal: integers and
// integral decimals share one form (a bigint customer_id joins a
// DECIMAL(20,0) id), decimals drop trailing zeros (1.50 = 1.5), and text of
// every text kind (string, date, time of day, interval) is its text. For
// integers, text, bytes and timestamps the form also orders as
// change.Compare does, so rows iterate in primary-key order.
const (
	tagNull   = 0x01
	tagFalse  = 0x08
	tagTrue   = 0x09
	tagInt    = 0x10
	tagUint   = 0x11 // uint64 above MaxInt64: after every int64
	tagDec    = 0x12
	tagFloat  = 0x13
	tagText   = 0x20
	tagBytes  = 0x30
	tagTime   = 0x40
	tagOther  = 0x50
	escByte   = 0x00
	escZero   = 0xFF
	escEnd    = 0x01
	maxIntDec = 18 // digits of an integral decimal that surely fit an int64
)

// appendValue appends the join form of v.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNull)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		return binary.BigEndian.AppendUint64(append(b, tagInt), uint64(x)^(1<<63))
	case uint64:
		if x <= math.MaxInt64 {
			return appendValue(b, int64(x))
		}
		return binary.BigEndian.AppendUint64(append(b, tagUint), x)
	case change.Decimal:
		d := canonicalDecimal(string(x))
		if i, ok := integral(d); ok {
			return appendValue(b, i)
		}
		return appendEscaped(append(b, tagDec), d)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return appendValue(b, int64(x))
		}
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		return appendEscaped(append(b, tagText), x)
	case change.Date:
		return appendEscaped(append(b, tagText), string(x))
	case change.TimeOfDay:
		return appendEscaped(append(b, tagText), string(x))
	case change.Interval:
		return appendEscaped(append(b, tagText), string(x))
	case []byte:
		return appendEscaped(append(b, tagBytes), string(x))
	case time.Time:
		b = binary.BigEndian.AppendUint64(append(b, tagTime), uint64(x.Unix())^(1<<63))
		return binary.BigEndian.AppendUint32(b, uint32(x.Nanosecond()))
	}
	return appendEscaped(append(b, tagOther), string(change.AppendValue(nil, v)))
}

// appendValues appends the join forms of vs, one after the other.
func appendValues(b []byte, vs []any) []byte {
	for _, v := range vs {
		b = appendValue(b, v)
	}
	return b
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escByte {
			b = append(b, escByte, escZero)
			continue
		}
		b = append(b, s[i])
	}
	return append(b, escByte, escEnd)
}

// canonicalDecimal drops a decimal's trailing fraction zeros ("1.50" →
// "1.5", "2.000" → "2", "-0.0" → "0").
func canonicalDecimal(d string) string {
	if i := strings.IndexByte(d, '.'); i >= 0 {
		d = strings.TrimRight(d, "0")
		d = strings.TrimSuffix(d, ".")
	}
	if d == "-0" {
		return "0"
	}
	return d
}

// integral returns a canonical decimal's value when it is an integer that
// fits an int64.
func integral(d string) (int64, bool) {
	digits := strings.TrimPrefix(d, "-")
	if digits == "" || len(digits) > maxIntDec {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if d[0] == '-' {
		n = -n
	}
	return n, true
}
