package change

import (
	"fmt"
	"time"
)

// Kind is the kind of value a column holds.
type Kind uint8

// The value kinds. KindAny is for a column whose type a source does not know
// in advance (e.g. a JSON-lines file); its values may be of any kind.
const (
	KindAny Kind = iota
	KindBool
	KindInt     // int64 (and uint64 above MaxInt64 for unsigned columns)
	KindFloat   // float64
	KindDecimal // Decimal
	KindString  // string
	KindBytes   // []byte
	KindTimestamp
	KindDate
	KindTime
	KindInterval
	KindJSON
	KindArray
	KindObject
)

var kindNames = [...]string{"any", "bool", "int", "float", "decimal", "string", "bytes",
	"timestamp", "date", "time", "interval", "json", "array", "object"}

// String returns the kind's name as used in mappings ("int", "timestamp", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind parses a kind name.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, ok := ParseKind(string(b))
	if !ok {
		return fmt.Errorf("unknown kind %q", b)
	}
	*k = v
	return nil
}

// Decimal is an exact decimal number in canonical text form ("-12.5000").
type Decimal string

// Date is a calendar date, "2006-01-02" (years outside 0000-9999 keep the
// database's text, e.g. "infinity").
type Date string

// TimeOfDay is a time of day without a date, "15:04:05" with up to six
// fractional digits, optionally followed by a zone offset ("+02:00").
type TimeOfDay string

// Interval is a duration in ISO 8601 form, e.g. "P1Y2M3DT4H5M6.5S".
type Interval string

// JSON is a JSON document, kept as its text.
type JSON []byte

// unchanged marks a column whose value the source did not send (an unchanged
// TOAST value in PostgreSQL, or a column absent from a partial before image).
type unchanged struct{}

// Unchanged is the value of a column whose value the source did not send.
var Unchanged any = unchanged{}

// IsUnchanged reports whether v is Unchanged.
func IsUnchanged(v any) bool { _, ok := v.(unchanged); return ok }

// Doc is an ordered object: the shape of a view row and of nested objects.
type Doc struct {
	Names  []string
	Values []any
}

// Get returns the value of the named field and whether it exists.
func (d *Doc) Get(name string) (any, bool) {
	for i, n := range d.Names {
		if n == name {
			return d.Values[i], true
		}
	}
	return nil, false
}

// KindOf returns the kind of a value (KindAny for nil or an unknown type).
func KindOf(v any) Kind {
	switch v.(type) {
	case bool:
		return KindBool
	case int64, uint64:
		return KindInt
	case float64:
		return KindFloat
	case Decimal:
		return KindDecimal
	case string:
		return KindString
	case []byte:
		return KindBytes
	case time.Time:
		return KindTimestamp
	case Date:
		return KindDate
	case TimeOfDay:
		return KindTime
	case Interval:
		return KindInterval
	case JSON:
		return KindJSON
	case []any:
		return KindArray
	case *Doc, map[string]any:
		return KindObject
	}
	return KindAny
}

// Normalize converts common Go values into the value set of this package:
// sized ints to int64 (uint64 only above MaxInt64), float32 to float64,
// times to UTC, and recursively slices and maps. Unknown types are returned
// unchanged.
func Normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normUint(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case []any:
		for i := range x {
			x[i] = Normalize(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = Normalize(e)
		}
		return x
	}
	return v
}

func normUint(u uint64) any {
	if u <= 1<<63-1 {
		return int64(u)
	}
	return u
}
