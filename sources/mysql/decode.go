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
			d := change.Date(a.string(b))
			if invalidDate(b) {
				return d, &invalidDateError{col: c.name, text: string(d)}
			}
			return d, nil
		}
	case ctDateTime:
		if b, ok := v.([]byte); ok {
			t, invalid, ok := parseDateTime(b)
			switch {
			case invalid:
				s := string(b)
				return s, &invalidDateError{col: c.name, text: s}
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

// invalidDateError is what decode returns, with the value as the server
// shows it, for a zero or invalid date; the caller applies the ZeroDates
// policy.
type invalidDateError struct{ col, text string }

func (e *invalidDateError) Error() string {
	return fmt.Sprintf("column %q: zero or invalid date %q", e.col, e.text)
}

// zeroPolicy applies a ZeroDates policy to what decode returned with err:
// keep gives the value as the server shows it, null gives nil (nulled),
// dead_letter the *invalidDateError back (the row is dead-lettered). Any
// other error comes back as it is.
func zeroPolicy(policy string, x any, err error) (v any, nulled bool, _ error) {
	if _, ok := err.(*invalidDateError); !ok {
		return nil, false, err
	}
	switch policy {
	case ZeroDatesNull:
		return nil, true, nil
	case ZeroDatesDeadLetter:
		return x, false, err
	}
	return x, false, nil
}

// invalidDate reports whether the date part of a DATE, DATETIME or
// TIMESTAMP text is no calendar date: MySQL's zero date, a zero month or
// day ("2024-00-15"), or a day past the month's end ("2024-02-31", which
// ALLOW_INVALID_DATES lets in). A year 0 with a real month and day is a
// date (MySQL stores it).
func invalidDate(b []byte) bool {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	if !(ok1 && ok2 && ok3) {
		return false
	}
	return month < 1 || month > 12 || day < 1 || day > daysIn(year, month)
}

// daysIn returns the days of a month in MySQL's calendar (in which year 0
// is no leap year).
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0 && year != 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDateTime parses "2006-01-02 15:04:05[.ffffff]" as a UTC time.
// invalid reports a zero or invalid date ("0000-00-00 00:00:00",
// "2024-02-31 10:00:00"), which no time.Time holds.
func parseDateTime(b []byte) (t time.Time, invalid, ok bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false, false
	}
	if invalidDate(b) {
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
