package mappings

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zone names must resolve on machines without a zoneinfo database

	"github.com/beamsync/beamsync/change"
)

// Date and time helpers. Timestamps are time.Time and always stored in UTC;
// a zone argument only changes how a timestamp is read as a wall clock.

func init() {
	zone2 := map[int]func(string) error{2: checkZone}
	register(
		&helper{name: "parse_time", fn: parseTime, consts: zone2, types: []any{
			new(func(string) time.Time), new(func(string, string) time.Time), new(func(string, string, string) time.Time)}},
		&helper{name: "format_time", fn: formatTime, consts: zone2, types: []any{
			new(func(time.Time, string) string), new(func(time.Time, string, string) string)}},
		&helper{name: "to_tz", fn: toTZ, consts: map[int]func(string) error{1: checkZone}, types: []any{
			new(func(time.Time, string) string)}},
		&helper{name: "date_of", fn: dateOf, consts: map[int]func(string) error{1: checkZone}, types: []any{
			new(func(time.Time) change.Date), new(func(time.Time, string) change.Date)}},
		&helper{name: "trunc_time", fn: truncTime, consts: map[int]func(string) error{1: checkUnit, 2: checkZone}, types: []any{
			new(func(time.Time, string) time.Time), new(func(time.Time, string, string) time.Time)}},
		&helper{name: "unix_ms", fn: unixMS, types: []any{new(func(time.Time) int64)}},
		&helper{name: "from_unix_ms", fn: fromUnixMS, types: []any{new(func(int) time.Time)}},
		partHelper("year", func(y int, _ time.Month, _ int) int { return y }),
		partHelper("month", func(_ int, m time.Month, _ int) int { return int(m) }),
		partHelper("day", func(_ int, _ time.Month, d int) int { return d }),
	)
}

// Zones are loaded once. "UTC", IANA names ("Asia/Tokyo") and fixed offsets
// ("+09:00", "-0530") are accepted; "Local" is refused, as it would make a
// view depend on the machine that built it.
var (
	zoneCache sync.Map // name -> *time.Location
	zoneCount atomic.Int64
)

func loadZone(name string) (*time.Location, error) {
	if z, ok := zoneCache.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := parseZone(name)
	if err != nil {
		return nil, err
	}
	if zoneCount.Add(1) <= maxCached {
		zoneCache.Store(name, z)
	}
	return z, nil
}

func parseZone(name string) (*time.Location, error) {
	switch {
	case name == "" || strings.EqualFold(name, "local"):
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as \"Europe/Paris\", \"UTC\" or an offset such as \"+09:00\"", name)
	case name == "UTC" || name == "Z":
		return time.UTC, nil
	case name[0] == '+' || name[0] == '-':
		t, err := time.Parse("-07:00", name)
		if err != nil {
			t, err = time.Parse("-0700", name)
		}
		if err != nil {
			t, err = time.Parse("-07", name)
		}
		if err != nil {
			return nil, fmt.Errorf("unknown time zone offset %q (want +hh:mm)", name)
		}
		_, off := t.Zone()
		return time.FixedZone(name, off), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return z, nil
}

func checkZone(name string) error {
	_, err := loadZone(name)
	return err
}

func timeArg(args []any, i int, fn string) (time.Time, error) {
	if t, ok := args[i].(time.Time); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: argument %d must be a timestamp, got %s", fn, i+1, typeName(args[i]))
}

func zoneArg(args []any, i int, fn string) (*time.Location, error) {
	if len(args) <= i {
		return time.UTC, nil
	}
	name, err := strArg(args, i, fn)
	if err != nil {
		return nil, err
	}
	z, err := loadZone(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return z, nil
}

// Layout names accepted besides Go layouts ("2006-01-02 15:04").
var layouts = map[string]string{
	"RFC3339":     time.RFC3339,
	"RFC3339Nano": time.RFC3339Nano,
	"RFC1123":     time.RFC1123,
	"RFC1123Z":    time.RFC1123Z,
	"RFC822":      time.RFC822,
	"RFC850":      time.RFC850,
	"DateTime":    time.DateTime,
	"DateOnly":    time.DateOnly,
	"TimeOnly":    time.TimeOnly,
	"Kitchen":     time.Kitchen,
	"ANSIC":       time.ANSIC,
}

func layoutOf(l string) string {
	if named, ok := layouts[l]; ok {
		return named
	}
	return l
}

// The layouts parse_time tries when given none.
var autoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly,
}

// parseTime parses text into a UTC timestamp: parse_time(s, layout?, zone?).
// Text without a zone is read in zone (UTC by default).
func parseTime(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	s, err := strArg(args, 0, "parse_time")
	if err != nil {
		return nil, err
	}
	z, err := zoneArg(args, 2, "parse_time")
	if err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	if len(args) >= 2 {
		l, err := strArg(args, 1, "parse_time")
		if err != nil {
			return nil, err
		}
		t, err := time.ParseInLocation(layoutOf(l), s, z)
		if err != nil {
			return nil, fmt.Errorf("parse_time: cannot parse %q with layout %q", s, l)
		}
		return t.UTC(), nil
	}
	for _, l := range autoLayouts {
		if t, err := time.ParseInLocation(l, s, z); err == nil {
			return t.UTC(), nil
		}
	}
	return nil, fmt.Errorf("parse_time: cannot parse %q as a time (give a layout, e.g. parse_time(s, \"2006-01-02 15:04\"))", s)
}

// formatTime formats a timestamp with a Go layout, as a wall clock in zone.
func formatTime(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	t, err := timeArg(args, 0, "format_time")
	if err != nil {
		return nil, err
	}
	l, err := strArg(args, 1, "format_time")
	if err != nil {
		return nil, err
	}
	z, err := zoneArg(args, 2, "format_time")
	if err != nil {
		return nil, err
	}
	if inf := change.InfinityText(t); inf != "" {
		return inf, nil
	}
	return t.In(z).Format(layoutOf(l)), nil
}

// toTZ renders a timestamp as RFC 3339 text with the zone's offset, e.g.
// "2024-01-02T18:30:00+09:00". It returns text, not a timestamp, because
// views store timestamps in UTC: a time.Time would lose the zone.
func toTZ(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	t, err := timeArg(args, 0, "to_tz")
	if err != nil {
		return nil, err
	}
	z, err := zoneArg(args, 1, "to_tz")
	if err != nil {
		return nil, err
	}
	if inf := change.InfinityText(t); inf != "" {
		return inf, nil
	}
	return t.In(z).Format(time.RFC3339Nano), nil
}

// dateOf returns the calendar date of a timestamp in zone (UTC by default).
func dateOf(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	t, err := timeArg(args, 0, "date_of")
	if err != nil {
		return nil, err
	}
	z, err := zoneArg(args, 1, "date_of")
	if err != nil {
		return nil, err
	}
	if inf := change.InfinityText(t); inf != "" {
		return change.Date(inf), nil
	}
	return change.Date(formatDate(t.In(z))), nil
}

// formatDate is t.Format(time.DateOnly) without the layout interpreter.
func formatDate(t time.Time) string {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(time.DateOnly)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}

var units = []string{"microsecond", "millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"}

func checkUnit(u string) error {
	for _, x := range units {
		if u == x {
			return nil
		}
	}
	return fmt.Errorf("unknown unit %q%s; want one of %s", u, suggest(u, units), strings.Join(units, ", "))
}

// truncTime truncates a timestamp to the start of its unit, as a wall clock
// in zone (UTC by default); weeks start on Monday. The result is in UTC.
func truncTime(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	t, err := timeArg(args, 0, "trunc_time")
	if err != nil {
		return nil, err
	}
	unit, err := strArg(args, 1, "trunc_time")
	if err != nil {
		return nil, err
	}
	if err := checkUnit(unit); err != nil {
		return nil, fmt.Errorf("trunc_time: %w", err)
	}
	z, err := zoneArg(args, 2, "trunc_time")
	if err != nil {
		return nil, err
	}
	if change.IsInfinite(t) {
		return t, nil
	}
	w := t.In(z)
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	ns := w.Nanosecond()
	switch unit {
	case "microsecond":
		ns -= ns % 1000
	case "millisecond":
		ns -= ns % 1000000
	case "second":
		ns = 0
	case "minute":
		s, ns = 0, 0
	case "hour":
		mi, s, ns = 0, 0, 0
	case "day":
		h, mi, s, ns = 0, 0, 0, 0
	case "week":
		d -= (int(w.Weekday()) + 6) % 7
		h, mi, s, ns = 0, 0, 0, 0
	case "month":
		d, h, mi, s, ns = 1, 0, 0, 0, 0
	case "quarter":
		mo = (mo-1)/3*3 + 1
		d, h, mi, s, ns = 1, 0, 0, 0, 0
	case "year":
		mo, d, h, mi, s, ns = 1, 1, 0, 0, 0, 0
	}
	return time.Date(y, mo, d, h, mi, s, ns, z).UTC(), nil
}

func unixMS(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	t, err := timeArg(args, 0, "unix_ms")
	if err != nil {
		return nil, err
	}
	if inf := change.InfinityText(t); inf != "" {
		return nil, fmt.Errorf("unix_ms: the timestamp is %s, which has no millisecond count", inf)
	}
	return t.UnixMilli(), nil
}

func fromUnixMS(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	ms, err := intArg(args, 0, "from_unix_ms")
	if err != nil {
		return nil, err
	}
	return time.UnixMilli(ms).UTC(), nil
}

// partHelper builds year, month and day: of a timestamp (in zone, UTC by
// default) or of a date.
func partHelper(name string, part func(int, time.Month, int) int) *helper {
	return &helper{
		name:   name,
		consts: map[int]func(string) error{1: checkZone},
		types: []any{new(func(time.Time) int64), new(func(time.Time, string) int64),
			new(func(change.Date) int64)},
		fn: func(args ...any) (any, error) {
			if nullArg(args) {
				return nil, nil
			}
			var t time.Time
			switch x := args[0].(type) {
			case time.Time:
				z, err := zoneArg(args, 1, name)
				if err != nil {
					return nil, err
				}
				if inf := change.InfinityText(x); inf != "" {
					return nil, fmt.Errorf("%s: the timestamp is %s, which has no %s", name, inf, name)
				}
				t = x.In(z)
			case change.Date:
				var err error
				if t, err = time.Parse(time.DateOnly, string(x)); err != nil {
					return nil, fmt.Errorf("%s: cannot read date %q", name, x)
				}
			case string:
				var err error
				if t, err = time.Parse(time.DateOnly, x); err != nil {
					return nil, fmt.Errorf("%s: cannot read date %q", name, x)
				}
			default:
				return nil, fmt.Errorf("%s: argument 1 must be a timestamp or a date, got %s", name, typeName(args[0]))
			}
			return int64(part(t.Date())), nil
		},
	}
}
