package change

import (
	"fmt"
)

// appendCompactJSON appends x without insignificant white space if x is
// one valid JSON value, in a single pass; ok is false (and b unchanged) when
// it is not valid JSON.
func appendCompactJSON(b []byte, x []byte) (out []byte, ok bool) {
	c := compactor{in: x, out: b}
	if !c.document() {
		return b, false
	}
	return c.out, true
}

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

type compactor struct {
	in      []byte
	i       int
	out     []byte
	discard bool // check only: out stays as it is
}

// ValidJSON reports whether x is one valid JSON value (invalid UTF-8 inside
// strings is accepted, as encoding/json.Valid accepts it), in a single pass
// that allocates nothing.
func ValidJSON(x []byte) bool {
	c := compactor{in: x, discard: true}
	return c.document()
}

// document reads the whole input as one JSON value between white space.
func (c *compactor) document() bool {
	c.space()
	if !c.value(0) {
		return false
	}
	c.space()
	return c.i == len(c.in)
}

func (c *compactor) put(ch byte) {
	if !c.discard {
		c.out = append(c.out, ch)
	}
}

func (c *compactor) putString(str string) {
	if !c.discard {
		c.out = append(c.out, str...)
	}
}

func (c *compactor) puts(b []byte) {
	if !c.discard {
		c.out = append(c.out, b...)
	}
}

func (c *compactor) space() {
	for c.i < len(c.in) {
		switch c.in[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

func (c *compactor) value(depth int) bool {
	if c.i >= len(c.in) || depth >= maxJSONDepth {
		return false
	}
	switch ch := c.in[c.i]; {
	case ch == '{':
		return c.object(depth)
	case ch == '[':
		return c.array(depth)
	case ch == '"':
		return c.string()
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number()
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	}
	return false
}

func (c *compactor) literal(lit string) bool {
	if len(c.in)-c.i < len(lit) || string(c.in[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.putString(lit)
	c.i += len(lit)
	return true
}

func (c *compactor) object(depth int) bool {
	c.put('{')
	c.i++
	c.space()
	if c.i < len(c.in) && c.in[c.i] == '}' {
		c.put('}')
		c.i++
		return true
	}
	for {
		c.space()
		if c.i >= len(c.in) || c.in[c.i] != '"' || !c.string() {
			return false
		}
		c.space()
		if c.i >= len(c.in) || c.in[c.i] != ':' {
			return false
		}
		c.put(':')
		c.i++
		c.space()
		if !c.value(depth + 1) {
			return false
		}
		c.space()
		if c.i >= len(c.in) {
			return false
		}
		switch c.in[c.i] {
		case ',':
			c.put(',')
			c.i++
		case '}':
			c.put('}')
			c.i++
			return true
		default:
			return false
		}
	}
}

func (c *compactor) array(depth int) bool {
	c.put('[')
	c.i++
	c.space()
	if c.i < len(c.in) && c.in[c.i] == ']' {
		c.put(']')
		c.i++
		return true
	}
	for {
		c.space()
		if !c.value(depth + 1) {
			return false
		}
		c.space()
		if c.i >= len(c.in) {
			return false
		}
		switch c.in[c.i] {
		case ',':
			c.put(',')
			c.i++
		case ']':
			c.put(']')
			c.i++
			return true
		default:
			return false
		}
	}
}

// string copies a string token, checking escapes and control characters;
// invalid UTF-8 is replaced by \ufffd (as a JSON decoder would read it).
func (c *compactor) string() bool {
	start := c.i
	c.i++
	for c.i < len(c.in) {
		ch := c.in[c.i]
		switch {
		case ch == '"':
			c.i++
			c.puts(c.in[start:c.i])
			return true
		case ch == '\\':
			if c.i+1 >= len(c.in) {
				return false
			}
			switch c.in[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(c.in) || !isHex4(c.in[c.i+2:c.i+6]) {
					return false
				}
				c.i += 6
			default:
				return false
			}
		case ch < 0x20:
			return false
		case ch < 0x80:
			c.i++
		default:
			if n := validRuneLen(c.in[c.i:]); n > 0 {
				c.i += n
				continue
			}
			c.puts(c.in[start:c.i])
			c.putString(`\ufffd`)
			c.i++
			start = c.i
		}
	}
	return false
}

func (c *compactor) number() bool {
	start := c.i
	for c.i < len(c.in) {
		switch ch := c.in[c.i]; {
		case ch >= '0' && ch <= '9', ch == '-', ch == '+', ch == '.', ch == 'e', ch == 'E':
			c.i++
			continue
		}
		break
	}
	if !isJSONNumber(string(c.in[start:c.i])) {
		return false
	}
	c.puts(c.in[start:c.i])
	return true
}

func isHex4(b []byte) bool {
	for _, ch := range b {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}

// validRuneLen returns the length of the valid UTF-8 sequence at b[0], or 0.
func validRuneLen(b []byte) int {
	r, n := decodeRune(b)
	if r == badRune {
		return 0
	}
	return n
}

func fmtAny(v any) string { return fmt.Sprint(v) }
