package ostest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the kind of a parsed JSON value.
type kind uint8

const (
	jNull kind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// tokenName is the name OpenSearch's parser (Jackson) gives a value's token.
func (k kind) tokenName() string {
	return [...]string{"VALUE_NULL", "VALUE_BOOLEAN", "VALUE_NUMBER", "VALUE_STRING", "START_ARRAY", "START_OBJECT"}[k]
}

// jacksonToken is the name Jackson (OpenSearch's JSON parser) gives a
// value's token in its own messages.
func (v *value) jacksonToken() string {
	switch v.kind {
	case jBool:
		if v.b {
			return "VALUE_TRUE"
		}
		return "VALUE_FALSE"
	case jNum:
		if strings.ContainsAny(v.s, ".eE") {
			return "VALUE_NUMBER_FLOAT"
		}
		return "VALUE_NUMBER_INT"
	}
	return v.kind.tokenName()
}

// value is a parsed JSON value that keeps what OpenSearch keeps: the order
// of object fields and the text of numbers.
type value struct {
	kind kind
	b    bool
	s    string // a string's text, or a number's literal text
	arr  []*value
	obj  []member
}

type member struct {
	name string
	val  *value
}

// get returns an object's field.
func (v *value) get(name string) *value {
	if v == nil || v.kind != jObj {
		return nil
	}
	for _, m := range v.obj {
		if m.name == name {
			return m.val
		}
	}
	return nil
}

// text is the value as OpenSearch's parser text() gives it for scalars.
func (v *value) text() string {
	switch v.kind {
	case jBool:
		return strconv.FormatBool(v.b)
	case jNull:
		return "null"
	}
	return v.s
}

// preview renders a value like the Java object OpenSearch shows in "Preview
// of field's value" ({a=1}, [1, 2]).
func (v *value) preview() string {
	switch v.kind {
	case jObj:
		parts := make([]string, len(v.obj))
		for i, m := range v.obj {
			parts[i] = m.name + "=" + m.val.preview()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case jArr:
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			parts[i] = e.preview()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return v.text()
}

// toAny converts a value into plain Go values (numbers as float64 or int64)
// for responses.
func (v *value) toAny() any {
	switch v.kind {
	case jBool:
		return v.b
	case jNum:
		if i, err := strconv.ParseInt(v.s, 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(v.s, 64)
		return f
	case jStr:
		return v.s
	case jArr:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.toAny()
		}
		return out
	case jObj:
		out := make(map[string]any, len(v.obj))
		for _, m := range v.obj {
			out[m.name] = m.val.toAny()
		}
		return out
	}
	return nil
}

// jsonError is a syntax error with OpenSearch's line:column position.
type jsonError struct {
	msg       string
	line, col int
}

func (e *jsonError) Error() string { return fmt.Sprintf("[%d:%d] %s", e.line, e.col, e.msg) }

// parseJSON parses one JSON document strictly (RFC 8259, duplicate object
// keys rejected as OpenSearch's strict duplicate detection does). Text after
// the value other than white space is an error.
func parseJSON(b []byte) (*value, error) {
	p := &parser{b: b}
	p.space()
	if p.i == len(b) {
		return nil, p.fail("no content to map due to end-of-input")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(b) {
		return nil, p.fail(fmt.Sprintf("Unexpected character ('%c'): expected end of content", b[p.i]))
	}
	return v, nil
}

type parser struct {
	b []byte
	i int
}

const maxDepth = 1000

func (p *parser) fail(msg string) error {
	line, col := 1, 1
	for _, c := range p.b[:min(p.i, len(p.b))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &jsonError{msg: msg, line: line, col: col}
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*value, error) {
	if depth > maxDepth {
		return nil, p.fail("nesting depth exceeds 1000")
	}
	if p.i >= len(p.b) {
		return nil, p.fail("Unexpected end-of-input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &value{kind: jStr, s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.literal("true"):
		return &value{kind: jBool, b: true}, nil
	case p.literal("false"):
		return &value{kind: jBool}, nil
	case p.literal("null"):
		return &value{kind: jNull}, nil
	default:
		return nil, p.fail(fmt.Sprintf("Unexpected character ('%c' (code %d))", c, c))
	}
}

func (p *parser) literal(word string) bool {
	if strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+len(word))]), word) {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) object(depth int) (*value, error) {
	p.i++ // {
	v := &value{kind: jObj}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("Unexpected character: was expecting double-quote to start field name")
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		for _, m := range v.obj {
			if m.name == name {
				return nil, p.fail(fmt.Sprintf("Duplicate field '%s'", name))
			}
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("Unexpected character: was expecting a colon to separate field name and value")
		}
		p.i++
		p.space()
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.obj = append(v.obj, member{name, e})
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("Unexpected end-of-input: expected close marker for Object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return v, nil
		default:
			return nil, p.fail(fmt.Sprintf("Unexpected character ('%c'): was expecting comma to separate Object entries", p.b[p.i]))
		}
	}
}

func (p *parser) array(depth int) (*value, error) {
	p.i++ // [
	v := &value{kind: jArr}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.arr = append(v.arr, e)
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("Unexpected end-of-input: expected close marker for Array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return v, nil
		default:
			return nil, p.fail(fmt.Sprintf("Unexpected character ('%c'): was expecting comma to separate Array entries", p.b[p.i]))
		}
	}
}

func (p *parser) number() (*value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 {
		return nil, p.fail("Unexpected character: expected digit")
	} else if n > 1 && p.b[intStart] == '0' {
		return nil, p.fail("Invalid numeric value: Leading zeroes not allowed")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("Unexpected character: Decimal point not followed by a digit")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("Unexpected character: Exponent indicator not followed by a digit")
		}
	}
	return &value{kind: jNum, s: string(p.b[start:p.i])}, nil
}

func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return "", p.fail("Invalid UTF-8 middle byte")
			}
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	var sb strings.Builder
	sb.Write(p.b[start:p.i])
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			s := sb.String()
			if !utf8.ValidString(s) {
				return "", p.fail("Invalid UTF-8 middle byte")
			}
			return s, nil
		case c < 0x20:
			return "", p.fail(fmt.Sprintf("Illegal unquoted character ((CTRL-CHAR, code %d)): has to be escaped using backslash to be included in string value", c))
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return "", p.fail("Unexpected end-of-input in character escape sequence")
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
						p.i += 2
						r2, err := p.hex4()
						if err != nil {
							return "", err
						}
						r = utf16.DecodeRune(r, r2)
					} else {
						r = utf8.RuneError
					}
				}
				sb.WriteRune(r)
			default:
				return "", p.fail(fmt.Sprintf("Unrecognized character escape '%c' (code %d)", e, e))
			}
		default:
			sb.WriteByte(c)
			p.i++
		}
	}
	return "", p.fail("Unexpected end-of-input: was expecting closing quote for a string value")
}

func (p *parser) hex4() (rune, error) {
	if p.i+4 > len(p.b) {
		return 0, p.fail("Unexpected end-of-input in character escape sequence")
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, p.fail("Unexpected character in hex escape: expected a hex-digit for character escape sequence")
	}
	p.i += 4
	return rune(n), nil
}
