package ostest

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The named date formats this server implements (OpenSearch has many more;
// a mapping that names another is refused as not implemented).
var dateFormats = map[string]func(string) (time.Time, bool){
	"strict_date_optional_time":       parseOptionalTime,
	"strict_date_optional_time_nanos": parseOptionalTime,
	"strict_date":                     parseStrictDate,
	"strict_date_time":                func(s string) (time.Time, bool) { return parseDateTime(s, true) },
	"strict_date_time_no_millis":      func(s string) (time.Time, bool) { return parseDateTime(s, false) },
	"basic_date":                      parseBasicDate,
	"epoch_millis":                    func(s string) (time.Time, bool) { return parseEpoch(s, time.Millisecond) },
	"epoch_second":                    func(s string) (time.Time, bool) { return parseEpoch(s, time.Second) },
}

func dateFormatKnown(f string) bool { _, ok := dateFormats[f]; return ok }

// parseDate parses s with the first of the formats that accepts it.
func parseDate(s string, formats []string) (time.Time, bool) {
	for _, f := range formats {
		if t, ok := dateFormats[f](s); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// digits reads exactly n ASCII digits at s[i:].
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseOptionalTime implements strict_date_optional_time:
// yyyy[-MM[-dd]][Thh[:mm[:ss[.f{1,9}]]][Z|±hh[:mm]]].
func parseOptionalTime(s string) (time.Time, bool) {
	y, ok := digits(s, 0, 4)
	if !ok {
		return time.Time{}, false
	}
	mo, d, i := 1, 1, 4
	if i < len(s) && s[i] == '-' {
		if mo, ok = digits(s, i+1, 2); !ok {
			return time.Time{}, false
		}
		i += 3
		if i < len(s) && s[i] == '-' {
			if d, ok = digits(s, i+1, 2); !ok {
				return time.Time{}, false
			}
			i += 3
		}
	}
	if !validDate(y, mo, d) {
		return time.Time{}, false
	}
	if i == len(s) {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true
	}
	if s[i] != 'T' {
		return time.Time{}, false
	}
	return parseClock(s, i+1, y, mo, d, false)
}

// parseClock parses hh[:mm[:ss[.f]]][zone] from s[i:]; full requires
// hh:mm:ss.
func parseClock(s string, i, y, mo, d int, full bool) (time.Time, bool) {
	h, ok := digits(s, i, 2)
	if !ok || h > 23 {
		return time.Time{}, false
	}
	i += 2
	mi, sec, nanos := 0, 0, 0
	parts := 1
	if i < len(s) && s[i] == ':' {
		if mi, ok = digits(s, i+1, 2); !ok || mi > 59 {
			return time.Time{}, false
		}
		i += 3
		parts++
		if i < len(s) && s[i] == ':' {
			if sec, ok = digits(s, i+1, 2); !ok || sec > 59 {
				return time.Time{}, false
			}
			i += 3
			parts++
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				n := j - i - 1
				if n < 1 || n > 9 {
					return time.Time{}, false
				}
				f, _ := strconv.Atoi(s[i+1 : j])
				nanos = f * int(math.Pow10(9-n))
				i = j
			}
		}
	}
	if full && parts < 3 {
		return time.Time{}, false
	}
	loc, ok := parseZone(s[i:])
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, nanos, loc).UTC(), true
}

func parseZone(z string) (*time.Location, bool) {
	switch {
	case z == "" || z == "Z":
		return time.UTC, true
	case z[0] != '+' && z[0] != '-':
		return nil, false
	}
	h, ok := digits(z, 1, 2)
	if !ok || h > 18 {
		return nil, false
	}
	m := 0
	switch rest := z[3:]; {
	case rest == "":
	case len(rest) == 3 && rest[0] == ':':
		m, ok = digits(rest, 1, 2)
	case len(rest) == 2:
		m, ok = digits(rest, 0, 2)
	default:
		ok = false
	}
	if !ok || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), true
}

// parseStrictDate implements strict_date: yyyy-MM-dd.
func parseStrictDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// parseDateTime implements strict_date_time (fraction required) and
// strict_date_time_no_millis (no fraction): a full date, time and zone.
func parseDateTime(s string, millis bool) (time.Time, bool) {
	if len(s) < 20 || s[10] != 'T' {
		return time.Time{}, false
	}
	if _, ok := parseStrictDate(s[:10]); !ok {
		return time.Time{}, false
	}
	hasFrac := len(s) > 19 && (s[19] == '.' || s[19] == ',')
	if hasFrac != millis {
		return time.Time{}, false
	}
	y, _ := digits(s, 0, 4)
	m, _ := digits(s, 5, 2)
	d, _ := digits(s, 8, 2)
	end := len(s)
	if end == 19 || !strings.ContainsAny(s[19:], "Z+-") {
		return time.Time{}, false // the zone is required
	}
	return parseClock(s, 11, y, m, d, true)
}

// parseBasicDate implements basic_date: yyyyMMdd.
func parseBasicDate(s string) (time.Time, bool) {
	if len(s) != 8 {
		return time.Time{}, false
	}
	y, ok1 := digits(s, 0, 4)
	m, ok2 := digits(s, 4, 2)
	d, ok3 := digits(s, 6, 2)
	if !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// parseEpoch implements epoch_millis and epoch_second: a (possibly
// negative, possibly fractional) number of units since the epoch.
func parseEpoch(s string, unit time.Duration) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 6 {
		return time.Time{}, false
	}
	t := time.Unix(n, 0).UTC()
	if unit == time.Millisecond {
		t = time.UnixMilli(n).UTC()
	}
	if frac != "" {
		f, err := strconv.Atoi(frac)
		if err != nil {
			return time.Time{}, false
		}
		part := time.Duration(f) * unit / time.Duration(math.Pow10(len(frac)))
		if strings.HasPrefix(whole, "-") {
			part = -part
		}
		t = t.Add(part)
	}
	return t, true
}
