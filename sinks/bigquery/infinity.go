package bigquery

import (
	"sync/atomic"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Policies of Config.Infinity: what an infinite timestamp or date
// (PostgreSQL's 'infinity' and '-infinity', see change.TimestampInfinity),
// which TIMESTAMP and DATE cannot hold, becomes.
const (
	// InfinityDeadLetter dead-letters the row (the default: no value is
	// silently changed).
	InfinityDeadLetter = "dead_letter"
	// InfinityClamp writes the largest or smallest value the column holds:
	// 9999-12-31 23:59:59.999999 UTC or 0001-01-01 00:00:00 UTC, dates
	// 9999-12-31 or 0001-01-01. Each is counted (infinity_clamped).
	InfinityClamp = "clamp"
	// InfinityNull writes null, counted (infinity_nulled). A REQUIRED column
	// or an array element cannot be null: that row is dead-lettered.
	InfinityNull = "null"
	// DefaultInfinity is the default policy.
	DefaultInfinity = InfinityDeadLetter
)

// The values InfinityClamp writes.
var (
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	minTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate      = change.Date("9999-12-31")
	minDate      = change.Date("0001-01-01")
)

// infinity applies a view's infinity policy and counts what it changed.
type infinity struct {
	policy  string
	clamped atomic.Int64
	nulled  atomic.Int64
}

// guard wraps the encoder of a TIMESTAMP or DATE column (typ) so that an
// infinite value follows the policy.
func (p *infinity) guard(typ string, enc valueEncoder) valueEncoder {
	if p == nil {
		p = &infinity{}
	}
	hi, lo := any(maxTimestamp), any(minTimestamp)
	if typ == typeDate {
		hi, lo = maxDate, minDate
	}
	return func(b []byte, v any) ([]byte, error) {
		sign := 0
		text := ""
		switch x := v.(type) {
		case time.Time:
			sign, text = change.InfinitySign(x), change.InfinityText(x)
		case change.Date:
			sign, text = change.DateInfinitySign(x), string(x)
		}
		if sign == 0 {
			return enc(b, v)
		}
		switch p.policy {
		case InfinityClamp:
			p.clamped.Add(1)
			if sign > 0 {
				return enc(b, hi)
			}
			return enc(b, lo)
		case InfinityNull:
			p.nulled.Add(1)
			return append(b, "null"...), nil
		}
		return b, rejectf("the value is %s, which %s cannot hold (the sink's infinity policy is dead_letter; set infinity: clamp or null to write the largest/smallest %s or null)",
			text, typ, typ)
	}
}
