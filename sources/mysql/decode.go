package mysql

import (
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/beamsync/beamsync/change"
)

// arenaMax is the size above which a value gets an allocation of its own
// rather than a place in the row's arena, so that a small value kept alone
// never holds a large one in memory.
const arenaMax = 256

// arena holds the small text and binary values of one row in one
// allocation. Text is made into strings in place (unsafe.String): each
// value has its own region of the arena, and nothing writes a region after
// it is handed out.
type arena struct{ buf []byte }

// reset sizes the arena for the small byte values of a row.
func (a *arena) reset(cols []column, v []driver.Value) {
	need := 0
	for i := range cols {
		if cols[i].typ.inArena() {
			if b, ok := v[i].([]byte); ok && len(b) <= arenaMax {
				need += len(b)
			}
		}
	}
	a.buf = nil
	if need > 0 {
		a.buf = make([]byte, 0, need)
	}
}

// bytes returns a copy of b (never nil).
func (a *arena) bytes(b []byte) []byte {
	switch {
	case len(b) == 0:
		return []byte{}
	case len(b) > arenaMax || cap(a.buf)-len(a.buf) < len(b):
		return cloneBytes(b)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// string returns b as a string.
func (a *arena) string(b []byte) string {
	if len(b) == 0 || len(b) > arenaMax || cap(a.buf)-len(a.buf) < len(b) {
		return string(b)
	}
	x := a.bytes(b)
	return unsafe.String(&x[0], len(x))
}

// inArena reports whether values of the type are copied into the arena.
func (t colType) inArena() bool {
	switch t {
	case ctString, ctGeometry, ctDecimal, ctBytes, ctJSON, ctDate, ctTime:
		return true
	}
	return false
}

// decode turns one value as the driver returns it from the text protocol
// (nil, int64, uint64, float64, float32 or []byte into the driver's buffer)
// into the change value set. The bytes are copied (into the row's arena):
// the driver reuses its buffer for the next row.
func decode(c *column, v any, a *arena) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.typ {
	case ctSigned:
		switch x := v.(type) {
		case int64:
			return v, nil // already boxed: no new allocation
		case []byte:
			n, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil {
				return nil, badValue(c, v)
			}
			return n, nil
		}
	case ctUnsigned:
		switch x := v.(type) {
		case int64:
			return v, nil
		case uint64:
			if x <= math.MaxInt64 {
				return int64(x), nil
			}
			return v, nil
		case []byte:
			n, err := strconv.ParseUint(string(x), 10, 64)
			if err != nil {
				return nil, badValue(c, v)
			}
			return normUint(n), nil
		}
	case ctDecimal:
		if b, ok := v.([]byte); ok {
			return change.Decimal(a.string(b)), nil
		}
	case ctDouble:
		switch x := v.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(x), nil
		}
	case ctFloat:
		switch x := v.(type) {
		case float64:
			return floatValue(float32(x)), nil
		case float32:
			return floatValue(x), nil
		}
	case ctString, ctGeometry:
		if b, ok := v.([]byte); ok {
			return a.string(b), nil
		}
	case ctBytes:
		if b, ok := v.([]byte); ok {
			return a.bytes(b), nil
		}
	case ctJSON:
		if b, ok := v.([]byte); ok {
			return change.JSON(a.bytes(b)), nil
		}
	case ctDate:
		if b, ok := v.([]byte); ok {
			if zeroDate(b) {
				return nil, nil
			}
			return change.Date(a.string(b)), nil
		}
	case ctDateTime:
		if b, ok := v.([]byte); ok {
			t, zero, ok := parseDateTime(b)
			switch {
			case zero:
				return nil, nil
			case ok:
				return t, nil
			}
			return nil, badValue(c, v)
		}
	case ctTime:
		if b, ok := v.([]byte); ok {
			return change.TimeOfDay(a.string(b)), nil
		}
	case ctBool:
		if b, ok := v.([]byte); ok {
			for _, x := range b {
				if x != 0 {
					return true, nil
				}
			}
			return false, nil
		}
	case ctBit:
		if b, ok := v.([]byte); ok && len(b) <= 8 {
			var n uint64
			for _, x := range b {
				n = n<<8 | uint64(x)
			}
			return normUint(n), nil
		}
	}
	return nil, badValue(c, v)
}

func badValue(c *column, v any) error {
	s := fmt.Sprintf("%v", v)
	if b, ok := v.([]byte); ok {
		s = strconv.Quote(string(b))
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Errorf("column %q: cannot decode %T value %s (did the table's schema change since Describe?)", c.name, v, s)
}

func normUint(n uint64) any {
	if n <= math.MaxInt64 {
		return int64(n)
	}
	return n
}

func cloneBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// floatValue widens a FLOAT to the float64 of the shortest decimal that
// identifies it, the number MySQL shows: 0.1, not 0.10000000149011612.
func floatValue(f float32) float64 {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	d, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return float64(f)
	}
	return d
}

// zeroDate reports whether a DATE text is MySQL's zero date or has a zero
// month or day ("0000-00-00", "2024-00-00"): no calendar date.
func zeroDate(b []byte) bool {
	return len(b) >= 10 && (b[5] == '0' && b[6] == '0' || b[8] == '0' && b[9] == '0')
}

// parseDateTime parses "2006-01-02 15:04:05[.ffffff]" as a UTC time. zero
// reports a zero or partly zero date ("0000-00-00 00:00:00").
func parseDateTime(b []byte) (t time.Time, zero, ok bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false, false
	}
	if zeroDate(b) {
		return time.Time{}, true, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false, false
	}
	nsec := 0
	if len(b) > 19 {
		if b[19] != '.' || len(b) == 20 || len(b) > 29 {
			return time.Time{}, false, false
		}
		frac := b[20:]
		n, okf := digits(frac)
		if !okf {
			return time.Time{}, false, false
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), false, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
