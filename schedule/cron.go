package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron is a standard 5-field cron expression ("minute hour day-of-month
// month day-of-week", plus the @daily style descriptors) evaluated on the
// wall clock of a time zone.
//
// Daylight-saving changes follow the wall clock, as the classic cron does:
//   - a time that does not exist on the day clocks go forward (02:30 in
//     America/New_York on the second Sunday of March) fires once, at the
//     first instant after the gap (03:30 EDT), instead of being skipped;
//   - a time that occurs twice on the day clocks go back (01:30 in
//     America/New_York on the first Sunday of November) fires once, at
//     its first occurrence.
//
// So a nightly job runs exactly once per local day whatever the zone.
type Cron struct {
	expr string
	loc  *time.Location
	spec cron.Schedule // evaluated in wall-clock space (UTC stands for the wall clock)
}

// ParseCron parses a 5-field cron expression for the zone loc (time.UTC
// when nil). The expression must not carry its own CRON_TZ/TZ prefix: the
// zone is given separately.
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	if loc == nil {
		loc = time.UTC
	}
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("cron %q: give the time zone with --tz, not in the expression", expr)
	}
	if strings.HasPrefix(e, "@every") {
		return nil, fmt.Errorf("cron %q: @every is not a calendar schedule; use a 5-field expression such as \"0 2 * * *\"", expr)
	}
	spec, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w (want 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\")", expr, err)
	}
	if ss, ok := spec.(*cron.SpecSchedule); ok {
		ss.Location = time.UTC
	}
	return &Cron{expr: e, loc: loc, spec: spec}, nil
}

// String is the expression as parsed.
func (c *Cron) String() string { return c.expr }

// Location is the zone the expression is evaluated in.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first tick strictly after t (or the zero time when the
// expression can never fire, e.g. "0 0 30 2 *").
func (c *Cron) Next(t time.Time) time.Time {
	w := wall(t.In(c.loc))
	for range 1000 {
		w = c.spec.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		real := fromWall(w, c.loc)
		if real.After(t) {
			return real
		}
	}
	return time.Time{}
}

// Prev returns the last tick at or before t, searching back at most a
// year and a day (zero when there is none).
func (c *Cron) Prev(t time.Time) time.Time {
	var last time.Time
	for n := c.Next(t.AddDate(-1, 0, -1)); !n.IsZero() && !n.After(t); n = c.Next(n) {
		last = n
	}
	return last
}

// fromWall is the instant of wall clock w (a UTC time) in loc. A wall time
// that occurs twice is its first occurrence (what time.Date picks); one
// inside a forward gap is read with the offset in force before the gap, so
// it lands after the gap by the same distance (02:30 → 03:30).
func fromWall(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	if wall(t).Equal(w) {
		return t
	}
	_, before := t.Add(-12 * time.Hour).Zone()
	return w.Add(-time.Duration(before) * time.Second).In(loc)
}

// wall is t's wall clock in t's zone, as a UTC time.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
