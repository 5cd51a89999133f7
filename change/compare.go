package change

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"time"
)

// CompareKeys orders two keys component by component with Compare.
func CompareKeys(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// rank orders values of different families: null first, then booleans,
// numbers, text-like values, times, binary, and the rest by JSON text.
func rank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case int64, uint64, float64, Decimal:
		return 2
	case string, Date, TimeOfDay, Interval:
		return 3
	case time.Time:
		return 4
	case []byte:
		return 5
	}
	return 6
}

// Compare is a total order over values, used to sort view rows by key.
// Numbers of any type compare by numeric value; text compares bytewise.
func Compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch ra {
	case 0:
		return 0
	case 1:
		ab, bb := a.(bool), b.(bool)
		switch {
		case ab == bb:
			return 0
		case !ab:
			return -1
		}
		return 1
	case 2:
		return compareNumbers(a, b)
	case 3:
		return strings.Compare(textOf(a), textOf(b))
	case 4:
		return a.(time.Time).Compare(b.(time.Time))
	case 5:
		return bytes.Compare(a.([]byte), b.([]byte))
	}
	return bytes.Compare(AppendJSON(nil, a), AppendJSON(nil, b))
}

func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Date:
		return string(x)
	case TimeOfDay:
		return string(x)
	case Interval:
		return string(x)
	}
	return ""
}

func compareNumbers(a, b any) int {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	fa, fb := bigOf(a), bigOf(b)
	if fa == nil || fb == nil { // NaN or unparsable: order NaN last
		switch {
		case fa == nil && fb == nil:
			return 0
		case fa == nil:
			return 1
		}
		return -1
	}
	return fa.Cmp(fb)
}

func bigOf(v any) *big.Float {
	f := new(big.Float).SetPrec(256)
	switch x := v.(type) {
	case int64:
		return f.SetInt64(x)
	case uint64:
		return f.SetUint64(x)
	case float64:
		if math.IsNaN(x) {
			return nil
		}
		return f.SetFloat64(x)
	case Decimal:
		if _, ok := f.SetString(string(x)); ok {
			return f
		}
	}
	return nil
}
