package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Canonical returns the canonical JSON text of a JSON value (see the
// package documentation); drop names top-level object members to leave
// out (a sink's bookkeeping attributes).
func Canonical(doc []byte, drop ...string) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding %.80q: %w", doc, err)
	}
	if m, ok := v.(map[string]any); ok {
		for _, n := range drop {
			delete(m, n)
		}
	}
	return AppendCanonical(nil, v), nil
}

// AppendCanonical appends the canonical JSON text of a decoded JSON value
// (nil, bool, json.Number, float64, int64, string, []any, map[string]any);
// any other value is first written with change.AppendJSON.
func AppendCanonical(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		return appendNumber(b, string(x))
	case float64:
		return appendNumber(b, string(change.AppendJSON(nil, x)))
	case int64:
		return strconv.AppendInt(b, x, 10)
	case string:
		return change.AppendJSON(b, canonicalString(x))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		names := make([]string, 0, len(x))
		for n := range x {
			names = append(names, n)
		}
		slices.Sort(names)
		b = append(b, '{')
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = change.AppendJSON(b, n)
			b = append(b, ':')
			b = AppendCanonical(b, x[n])
		}
		return append(b, '}')
	}
	c, err := Canonical(change.AppendJSON(nil, v))
	if err != nil {
		return change.AppendJSON(b, fmt.Sprint(v))
	}
	return append(b, c...)
}

// canonicalString puts a string that is an RFC 3339 timestamp in UTC with
// the shortest nanosecond form, so that sinks that keep times in another
// zone or precision form compare by instant.
func canonicalString(s string) string {
	if len(s) < 20 || len(s) > 40 || s[4] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return s
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "T", 1))
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// appendNumber appends a JSON number in its exact canonical decimal form:
// no exponent, no leading or trailing zeros ("1.50e2" -> "150",
// "-0.0" -> "0"); very large or small exponents keep an exponent.
func appendNumber(b []byte, s string) []byte {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return change.AppendJSON(b, s) // not a number: keep the text
	}
	if r.IsInt() {
		return append(b, r.Num().String()...)
	}
	// A decimal number's denominator is 2^a*5^b: max(a, b) fraction digits
	// are exact.
	den := new(big.Int).Set(r.Denom())
	digits := 0
	two, five := big.NewInt(2), big.NewInt(5)
	for den.Cmp(big.NewInt(1)) != 0 && digits < 2000 {
		switch {
		case new(big.Int).Mod(den, two).Sign() == 0 && new(big.Int).Mod(den, five).Sign() == 0:
			den.Div(den, big.NewInt(10))
		case new(big.Int).Mod(den, two).Sign() == 0:
			den.Div(den, two)
		case new(big.Int).Mod(den, five).Sign() == 0:
			den.Div(den, five)
		default:
			return append(b, r.RatString()...) // not a decimal (cannot come from JSON)
		}
		digits++
	}
	t := r.FloatString(digits)
	t = strings.TrimRight(t, "0")
	t = strings.TrimSuffix(t, ".")
	return append(b, t...)
}
