package mappings

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/beamsync/beamsync/change"
)

// JSON and hashing helpers.

func init() {
	register(
		&helper{name: "json_get", fn: jsonGet, types: []any{new(func(any, string) any)}, null: nullMaybe,
			consts: map[int]func(string) error{1: func(p string) error { _, err := parsePath(p); return err }}},
		&helper{name: "json_parse", fn: jsonParse, types: []any{new(func(any) change.JSON)}},
		&helper{name: "json_string", fn: jsonString, types: []any{new(func(any) string)}},
		&helper{name: "sha256", fn: hashFunc(func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }), types: []any{new(func(any) string)}},
		&helper{name: "md5", fn: hashFunc(func(b []byte) []byte { s := md5.Sum(b); return s[:] }), types: []any{new(func(any) string)}},
		&helper{name: "hash64", fn: hash64, types: []any{new(func(...any) string)}, null: nullNever},
	)
}

// A path step: an object key or an array index (negative counts from the end).
type pathStep struct {
	key   string
	index int
	isIdx bool
}

var (
	pathCache sync.Map // path -> []pathStep
	pathCount atomic.Int64
)

// parsePath parses "a.b[0].c", "$.a", `a["key.with.dots"]`, "items[-1]".
func parsePath(p string) ([]pathStep, error) {
	if v, ok := pathCache.Load(p); ok {
		return v.([]pathStep), nil
	}
	steps, err := parsePathUncached(p)
	if err != nil {
		return nil, err
	}
	if pathCount.Add(1) <= maxCached {
		pathCache.Store(p, steps)
	}
	return steps, nil
}

func parsePathUncached(p string) ([]pathStep, error) {
	bad := func(why string) ([]pathStep, error) {
		return nil, fmt.Errorf("invalid JSON path %q: %s", p, why)
	}
	s := strings.TrimPrefix(p, "$")
	var steps []pathStep
	for first := true; s != ""; first = false {
		if s[0] == '[' {
			step, rest, ok := bracketStep(s)
			if !ok {
				return bad("want [index], [\"key\"] or ['key']")
			}
			steps = append(steps, step)
			s = rest
			continue
		}
		if s[0] == '.' {
			s = s[1:]
		} else if !first {
			return bad("expected . or [")
		}
		end := strings.IndexAny(s, ".[")
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return bad("empty key")
		}
		steps = append(steps, pathStep{key: s[:end]})
		s = s[end:]
	}
	return steps, nil
}

// bracketStep parses a leading [index], ["key"] or ['key'].
func bracketStep(s string) (pathStep, string, bool) {
	if len(s) < 3 {
		return pathStep{}, "", false
	}
	switch s[1] {
	case '"':
		for i := 2; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				key, err := strconv.Unquote(s[1 : i+1])
				if err != nil || i+1 >= len(s) || s[i+1] != ']' {
					return pathStep{}, "", false
				}
				return pathStep{key: key}, s[i+2:], true
			}
		}
		return pathStep{}, "", false
	case '\'':
		end := strings.IndexByte(s[2:], '\'')
		if end < 0 || 2+end+1 >= len(s) || s[2+end+1] != ']' {
			return pathStep{}, "", false
		}
		return pathStep{key: s[2 : 2+end]}, s[2+end+2:], true
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return pathStep{}, "", false
	}
	i, err := strconv.Atoi(strings.TrimSpace(s[1:end]))
	if err != nil {
		return pathStep{}, "", false
	}
	return pathStep{index: i, isIdx: true}, s[end+1:], true
}

// jsonGet returns the value at a path of a JSON document (JSON, JSON text,
// bytes, or an array or object value), null when the path is absent.
// Strings, booleans and null come out as such; integers that fit as int;
// other numbers as exact decimals; objects and arrays as JSON.
func jsonGet(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	p, err := strArg(args, 1, "json_get")
	if err != nil {
		return nil, err
	}
	steps, err := parsePath(p)
	if err != nil {
		return nil, fmt.Errorf("json_get: %w", err)
	}
	var raw []byte
	switch x := args[0].(type) {
	case change.JSON:
		raw = x
	case []byte:
		raw = x
	case string:
		raw = []byte(x)
	default:
		return walkValue(x, steps), nil
	}
	if !change.ValidJSON(raw) {
		return nil, fmt.Errorf("json_get: invalid JSON")
	}
	for _, st := range steps {
		if raw = stepRaw(raw, st); raw == nil {
			return nil, nil
		}
	}
	return jsonLeaf(raw)
}

// jsonLeaf decodes the value a path led to (a slice of a valid document).
func jsonLeaf(raw []byte) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("json_get: %w", err)
		}
		return s, nil
	case '{', '[':
		return change.JSON(change.AppendJSON(nil, change.JSON(raw))), nil
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, nil
	}
	d, err := parseDecimal(string(raw))
	if err != nil {
		return nil, fmt.Errorf("json_get: %w", err)
	}
	return d, nil
}

// walkValue follows a path through arrays and objects already decoded.
func walkValue(v any, steps []pathStep) any {
	for _, st := range steps {
		switch x := v.(type) {
		case []any:
			if !st.isIdx {
				return nil
			}
			i := st.index
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		case map[string]any:
			if st.isIdx {
				return nil
			}
			v = x[st.key]
		case *change.Doc:
			if st.isIdx || x == nil {
				return nil
			}
			v, _ = x.Get(st.key)
		case change.JSON:
			if !change.ValidJSON(x) {
				return nil
			}
			r := stepRaw(x, st)
			if r == nil {
				return nil
			}
			v = change.JSON(r)
		default:
			return nil
		}
	}
	if j, ok := v.(change.JSON); ok {
		leaf, err := jsonLeaf(j)
		if err != nil {
			return nil
		}
		return leaf
	}
	return v
}

// jsonParse checks JSON text and returns it as a JSON value.
func jsonParse(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	var raw []byte
	switch x := args[0].(type) {
	case string:
		raw = []byte(x)
	case []byte:
		raw = bytes.Clone(x)
	case change.JSON:
		raw = bytes.Clone(x)
	default:
		return nil, fmt.Errorf("json_parse: argument must be text, got %s", typeName(args[0]))
	}
	raw = bytes.TrimSpace(raw)
	if !change.ValidJSON(raw) {
		return nil, fmt.Errorf("json_parse: invalid JSON text")
	}
	return change.JSON(raw), nil
}

// jsonString renders any value as JSON text (see change.AppendJSON).
func jsonString(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	return string(change.AppendJSON(nil, change.Normalize(args[0]))), nil
}

func hashFunc(sum func([]byte) []byte) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		b, err := bytesOf(args[0])
		if err != nil {
			return nil, err
		}
		return hex.EncodeToString(sum(b)), nil
	}
}

// hash64 is the hex FNV-1a 64 hash of the canonical JSON of its arguments
// (as an array): a stable hash for building keys. Null arguments count.
func hash64(args ...any) (any, error) {
	b := make([]byte, 0, 64)
	b = append(b, '[')
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = change.AppendJSON(b, change.Normalize(a))
	}
	b = append(b, ']')
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64()), nil
}
