package opensearch

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/beamsync/beamsync/change"
)

// Policies of Config.Infinity: what an infinite timestamp or date
// (PostgreSQL's 'infinity' and '-infinity', see change.TimestampInfinity),
// which a date field cannot hold, becomes.
const (
	// InfinityDeadLetter dead-letters the record (the default: no value is
	// silently changed).
	InfinityDeadLetter = "dead_letter"
	// InfinityClamp writes 9999-12-31T23:59:59.999999Z or
	// 0001-01-01T00:00:00Z (dates 9999-12-31 or 0001-01-01), counted
	// (infinity_clamped).
	InfinityClamp = "clamp"
	// InfinityNull writes null, counted (infinity_nulled).
	InfinityNull = "null"
)

// infinity applies a writer's infinity policy and counts what it changed.
type infinity struct {
	policy  string
	clamped atomic.Int64
	nulled  atomic.Int64
}

// apply returns the document with its infinite timestamps and dates
// (at any depth) replaced as the policy says, or an error under
// dead_letter. A document without any is returned as is.
func (p *infinity) apply(d *change.Doc) (*change.Doc, error) {
	if p == nil || d == nil || !hasInfinity(d) {
		return d, nil
	}
	var clamped, nulled int64
	var err error
	var walk func(v any) any
	walk = func(v any) any {
		sign, text := 0, ""
		switch x := v.(type) {
		case time.Time:
			sign, text = change.InfinitySign(x), change.InfinityText(x)
			if sign != 0 && p.policy == InfinityClamp {
				clamped++
				if sign > 0 {
					return time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
				}
				return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
			}
		case change.Date:
			sign, text = change.DateInfinitySign(x), string(x)
			if sign != 0 && p.policy == InfinityClamp {
				clamped++
				if sign > 0 {
					return change.Date("9999-12-31")
				}
				return change.Date("0001-01-01")
			}
		case *change.Doc:
			if x == nil {
				return x
			}
			out := &change.Doc{Names: x.Names, Values: make([]any, len(x.Values))}
			for i, e := range x.Values {
				out.Values[i] = walk(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e)
			}
			return out
		}
		if sign == 0 {
			return v
		}
		if p.policy == InfinityNull {
			nulled++
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%w: a value is %s, which a date field cannot hold (the sink's infinity policy is dead_letter; set infinity: clamp or null to write the largest/smallest date or null)",
				errNotWritable, text)
		}
		return v
	}
	out := walk(d).(*change.Doc)
	if err != nil {
		return d, err
	}
	p.clamped.Add(clamped)
	p.nulled.Add(nulled)
	return out, nil
}

func hasInfinity(v any) bool {
	switch x := v.(type) {
	case time.Time:
		return change.IsInfinite(x)
	case change.Date:
		return change.DateInfinitySign(x) != 0
	case *change.Doc:
		if x == nil {
			return false
		}
		for _, e := range x.Values {
			if hasInfinity(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasInfinity(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasInfinity(e) {
				return true
			}
		}
	}
	return false
}
