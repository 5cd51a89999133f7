package mappings

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/beamsync/beamsync/change"
)

// String helpers. Lengths and positions count characters (runes), not bytes.

const (
	maxPad    = 1 << 20 // the longest string lpad and rpad build, in characters
	maxResult = 1 << 26 // the longest string replace builds, in bytes
)

func init() {
	s1 := []any{new(func(string) string)}
	register(
		&helper{name: "upper", fn: strFunc("upper", strings.ToUpper), types: s1},
		&helper{name: "lower", fn: strFunc("lower", strings.ToLower), types: s1},
		&helper{name: "trim", fn: trimFunc("trim", strings.TrimSpace, strings.Trim), types: []any{new(func(string) string), new(func(string, string) string)}},
		&helper{name: "ltrim", fn: trimFunc("ltrim", func(s string) string { return strings.TrimLeft(s, " \t\r\n\v\f") }, strings.TrimLeft),
			types: []any{new(func(string) string), new(func(string, string) string)}},
		&helper{name: "rtrim", fn: trimFunc("rtrim", func(s string) string { return strings.TrimRight(s, " \t\r\n\v\f") }, strings.TrimRight),
			types: []any{new(func(string) string), new(func(string, string) string)}},
		&helper{name: "length", fn: length, types: []any{new(func(string) int64)}},
		&helper{name: "concat", fn: concat, types: []any{new(func(...any) string)}, null: nullNever},
		&helper{name: "substr", fn: substr, types: []any{new(func(string, int) string), new(func(string, int, int) string)}},
		&helper{name: "replace", fn: replace, types: []any{new(func(string, string, string) string)}},
		&helper{name: "split", fn: split, types: []any{new(func(string, string) []any)}},
		&helper{name: "join", fn: join, types: []any{new(func([]any) string), new(func([]any, string) string)}},
		&helper{name: "left", fn: left, types: []any{new(func(string, int) string)}},
		&helper{name: "right", fn: right, types: []any{new(func(string, int) string)}},
		&helper{name: "lpad", fn: padFunc(true), types: []any{new(func(string, int) string), new(func(string, int, string) string)}},
		&helper{name: "rpad", fn: padFunc(false), types: []any{new(func(string, int) string), new(func(string, int, string) string)}},
		&helper{name: "regex_match", fn: regexMatch, types: []any{new(func(string, string) bool)},
			consts: map[int]func(string) error{1: checkRegex}},
		&helper{name: "regex_replace", fn: regexReplace, types: []any{new(func(string, string, string) string)},
			consts: map[int]func(string) error{1: checkRegex}},
		&helper{name: "regex_extract", fn: regexExtract, types: []any{new(func(string, string) string), new(func(string, string, int) string)},
			consts: map[int]func(string) error{1: checkRegex}, null: nullMaybe},
		&helper{name: "hex", fn: encodeFunc(hex.EncodeToString), types: []any{new(func(any) string)}},
		&helper{name: "base64", fn: encodeFunc(base64.StdEncoding.EncodeToString), types: []any{new(func(any) string)}},
	)
}

// strArg returns argument i as text.
func strArg(args []any, i int, fn string) (string, error) {
	if s, ok := text(args[i]); ok {
		return s, nil
	}
	return "", fmt.Errorf("%s: argument %d must be a string, got %s", fn, i+1, typeName(args[i]))
}

func intArg(args []any, i int, fn string) (int64, error) {
	if n, ok := asInt64(args[i]); ok {
		return n, nil
	}
	return 0, fmt.Errorf("%s: argument %d must be an int, got %s", fn, i+1, typeName(args[i]))
}

func strFunc(name string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		s, err := strArg(args, 0, name)
		if err != nil {
			return nil, err
		}
		if r := f(s); r != s {
			return r, nil
		}
		if _, ok := args[0].(string); ok {
			return args[0], nil // unchanged: no new string, no allocation
		}
		return s, nil
	}
}

func trimFunc(name string, space func(string) string, cut func(string, string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if nullArg(args) {
			return nil, nil
		}
		s, err := strArg(args, 0, name)
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			return space(s), nil
		}
		set, err := strArg(args, 1, name)
		if err != nil {
			return nil, err
		}
		return cut(s, set), nil
	}
}

func length(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	s, err := strArg(args, 0, "length")
	if err != nil {
		return nil, err
	}
	return int64(utf8.RuneCountInString(s)), nil
}

// concat joins the text of its arguments, skipping nulls.
func concat(args ...any) (any, error) {
	var b strings.Builder
	for _, a := range args {
		if a == nil {
			continue
		}
		s, err := toText(a)
		if err != nil {
			return nil, fmt.Errorf("concat: %w", err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// substr is SQL's substring: start counts from 1; n characters (all the rest
// when omitted); positions before 1 count but yield nothing.
func substr(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	s, err := strArg(args, 0, "substr")
	if err != nil {
		return nil, err
	}
	start, err := intArg(args, 1, "substr")
	if err != nil {
		return nil, err
	}
	n := int64(-1)
	if len(args) == 3 {
		if n, err = intArg(args, 2, "substr"); err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, fmt.Errorf("substr: negative length %d", n)
		}
	}
	r := []rune(s)
	from, to := start, int64(len(r))+1
	if n >= 0 && start <= to-n {
		to = start + n
	}
	from = max(from, 1)
	to = min(to, int64(len(r))+1)
	if from >= to {
		return "", nil
	}
	return string(r[from-1 : to-1]), nil
}

func replace(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	var s [3]string
	for i := range s {
		var err error
		if s[i], err = strArg(args, i, "replace"); err != nil {
			return nil, err
		}
	}
	if s[1] == "" {
		return s[0], nil
	}
	if n := strings.Count(s[0], s[1]); len(s[0])+n*(len(s[2])-len(s[1])) > maxResult {
		return nil, fmt.Errorf("replace: the result would exceed %d bytes", maxResult)
	}
	return strings.ReplaceAll(s[0], s[1], s[2]), nil
}

func split(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	s, err := strArg(args, 0, "split")
	if err != nil {
		return nil, err
	}
	sep, err := strArg(args, 1, "split")
	if err != nil {
		return nil, err
	}
	parts := strings.Split(s, sep)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// join joins an array's elements' text, skipping nulls.
func join(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	sep := ""
	if len(args) == 2 {
		var err error
		if sep, err = strArg(args, 1, "join"); err != nil {
			return nil, err
		}
	}
	var elems []any
	switch x := args[0].(type) {
	case []any:
		elems = x
	case []string:
		return strings.Join(x, sep), nil
	default:
		return nil, fmt.Errorf("join: argument 1 must be an array, got %s", typeName(args[0]))
	}
	var b strings.Builder
	first := true
	for _, e := range elems {
		if e == nil {
			continue
		}
		s, err := toText(e)
		if err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(s)
	}
	return b.String(), nil
}

// left returns the first n characters (all but the last -n when n < 0).
func left(args ...any) (any, error) {
	s, n, ok, err := stringAndInt(args, "left")
	if !ok || err != nil {
		return nil, err
	}
	r := []rune(s)
	k := clampCount(n, len(r))
	return string(r[:k]), nil
}

// right returns the last n characters (all but the first -n when n < 0).
func right(args ...any) (any, error) {
	s, n, ok, err := stringAndInt(args, "right")
	if !ok || err != nil {
		return nil, err
	}
	r := []rune(s)
	k := clampCount(n, len(r))
	return string(r[len(r)-k:]), nil
}

func clampCount(n int64, l int) int {
	if n < 0 {
		n += int64(l)
	}
	return int(max(0, min(n, int64(l))))
}

func stringAndInt(args []any, fn string) (string, int64, bool, error) {
	if nullArg(args) {
		return "", 0, false, nil
	}
	s, err := strArg(args, 0, fn)
	if err != nil {
		return "", 0, false, err
	}
	n, err := intArg(args, 1, fn)
	if err != nil {
		return "", 0, false, err
	}
	return s, n, true, nil
}

// padFunc builds lpad and rpad: pad to n characters with fill (a space by
// default), or cut to n characters when longer, as SQL does.
func padFunc(leftSide bool) func(args ...any) (any, error) {
	name := "rpad"
	if leftSide {
		name = "lpad"
	}
	return func(args ...any) (any, error) {
		s, n, ok, err := stringAndInt(args, name)
		if !ok || err != nil {
			return nil, err
		}
		fill := " "
		if len(args) == 3 {
			if fill, err = strArg(args, 2, name); err != nil {
				return nil, err
			}
		}
		if n < 0 || n > maxPad {
			return nil, fmt.Errorf("%s: length must be from 0 to %d, got %d", name, maxPad, n)
		}
		r := []rune(s)
		if int64(len(r)) >= n {
			return string(r[:n]), nil
		}
		f := []rune(fill)
		if len(f) == 0 {
			return s, nil
		}
		pad := make([]rune, 0, int(n)-len(r))
		for i := 0; len(pad) < int(n)-len(r); i++ {
			pad = append(pad, f[i%len(f)])
		}
		if leftSide {
			return string(pad) + s, nil
		}
		return s + string(pad), nil
	}
}

// Regular expressions are compiled once and shared (up to maxCached distinct
// patterns; patterns beyond that, e.g. built from row data, compile per call).
const maxCached = 1024

var (
	regexCache sync.Map // pattern -> *regexp.Regexp
	regexCount atomic.Int64
)

func compileRegex(p string) (*regexp.Regexp, error) {
	if r, ok := regexCache.Load(p); ok {
		return r.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	if regexCount.Add(1) <= maxCached {
		regexCache.Store(p, re)
	}
	return re, nil
}

func checkRegex(p string) error {
	_, err := compileRegex(p)
	return err
}

func stringAndRegex(args []any, fn string) (string, *regexp.Regexp, bool, error) {
	if nullArg(args) {
		return "", nil, false, nil
	}
	s, err := strArg(args, 0, fn)
	if err != nil {
		return "", nil, false, err
	}
	p, err := strArg(args, 1, fn)
	if err != nil {
		return "", nil, false, err
	}
	re, err := compileRegex(p)
	if err != nil {
		return "", nil, false, fmt.Errorf("%s: %w", fn, err)
	}
	return s, re, true, nil
}

func regexMatch(args ...any) (any, error) {
	s, re, ok, err := stringAndRegex(args, "regex_match")
	if !ok || err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

// regexReplace replaces every match; $1 or ${name} in the replacement
// expand to groups.
func regexReplace(args ...any) (any, error) {
	s, re, ok, err := stringAndRegex(args, "regex_replace")
	if !ok || err != nil {
		return nil, err
	}
	repl, err := strArg(args, 2, "regex_replace")
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, repl), nil
}

// regexExtract returns the first match (or its group), null when none.
func regexExtract(args ...any) (any, error) {
	s, re, ok, err := stringAndRegex(args, "regex_extract")
	if !ok || err != nil {
		return nil, err
	}
	group := int64(0)
	if len(args) == 3 {
		if group, err = intArg(args, 2, "regex_extract"); err != nil {
			return nil, err
		}
	}
	if group < 0 || group > int64(re.NumSubexp()) {
		return nil, fmt.Errorf("regex_extract: the pattern has no group %d", group)
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return nil, nil
	}
	return s[m[2*group]:m[2*group+1]], nil
}

func encodeFunc(enc func([]byte) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		b, err := bytesOf(args[0])
		if err != nil {
			return nil, err
		}
		return enc(b), nil
	}
}

// bytesOf returns the bytes a hash or encoding reads: the bytes of binary
// and JSON values, the UTF-8 of text, the canonical text of anything else.
func bytesOf(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case change.JSON:
		return x, nil
	case string:
		return []byte(x), nil
	}
	s, err := toText(v)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}
