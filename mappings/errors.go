package mappings

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/beamsync/beamsync/internal/textdist"
)

// ErrNoValue is wrapped by the RowError of a row whose expression reads a
// column the source did not send (change.Unchanged): an unchanged TOASTed
// value, or a column missing from a partial before image.
var ErrNoValue = errors.New("the source sent no value for this column (unchanged TOAST value or partial before image: " +
	"set REPLICA IDENTITY FULL on the table, or do not read the column here)")

// CompileError is a problem found in a mapping file by Parse, Validate or
// Compile. Its Error is "file:line:col: message", followed by the offending
// source line and a caret under the column when the position is known.
type CompileError struct {
	File         string
	Line, Column int    // 1-based position in the file; 0 when unknown
	Message      string // what is wrong, without the position
	Source       string // the file's line at Line ("" when unknown)
	Err          error  // the underlying error, if any (e.g. expr's *file.Error)
}

func (e *CompileError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Message)
	if e.Source != "" && e.Column > 0 {
		b.WriteString("\n    ")
		b.WriteString(e.Source)
		b.WriteString("\n    ")
		// Copy tabs so that the caret lines up whatever the tab width.
		col := 1
		for _, r := range e.Source {
			if col >= e.Column {
				break
			}
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
			col++
		}
		b.WriteByte('^')
	}
	return b.String()
}

func (e *CompileError) Unwrap() error { return e.Err }

// RowError is a runtime failure of a mapping on one row: the row cannot be
// mapped (it becomes a dead letter or fails the pipeline, per on_error), while
// other rows still map.
type RowError struct {
	View  string
	Field string // the output field, "where" or "key"
	Err   error
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("view %s: %v", e.View, e.Err)
	}
	return fmt.Sprintf("view %s: field %s: %v", e.View, e.Field, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// source is a mapping file's text, for positions and snippets in errors.
type source struct {
	file  string
	lines []string // without line terminators
}

func newSource(file string, data []byte) *source {
	s := &source{file: file}
	if data != nil {
		text := strings.ReplaceAll(string(data), "\r\n", "\n")
		s.lines = strings.Split(text, "\n")
	}
	return s
}

// errorf builds a CompileError at a position (line and column 1-based, 0 when
// unknown).
func (s *source) errorf(line, col int, format string, args ...any) *CompileError {
	e := &CompileError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
	var err error
	for _, a := range args {
		if x, ok := a.(error); ok {
			err = x
		}
	}
	e.Err = err
	if s != nil {
		e.File = s.file
		if line > 0 && line <= len(s.lines) {
			e.Source = s.lines[line-1]
		}
	}
	return e
}

// loc is the position of a YAML scalar in its file, kept to turn an offset in
// the scalar's value (an expression) into a position in the file.
type loc struct {
	line, col int // of the node, 1-based; 0 when the spec was not parsed from YAML
	style     yaml.Style
}

func nodeLoc(n *yaml.Node) loc { return loc{line: n.Line, col: n.Column, style: n.Style} }

// at returns the file position of the rune at offset off of the scalar's
// value. It replays the scalar's quoting and escapes over the raw text; when
// that fails it falls back to the node's position.
func (s *source) at(l loc, value string, off int) (line, col int) {
	if l.line == 0 || s == nil || l.line > len(s.lines) {
		return l.line, l.col
	}
	ln, c := l.line, l.col // c is a 1-based rune column
	switch {
	case l.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		ln, c = ln+1, 1 // content starts on the next line
	case l.style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		c++ // skip the opening quote
	}
	r := rawReader{lines: s.lines, line: ln}
	if !r.seek(c) {
		return l.line, l.col
	}
	dq := l.style&yaml.DoubleQuotedStyle != 0
	sq := l.style&yaml.SingleQuotedStyle != 0
	i := 0
	for _, want := range value {
		if i == off {
			break
		}
		if !r.match(want, dq, sq) {
			return l.line, l.col
		}
		i++
	}
	if i < off {
		return l.line, l.col
	}
	// Position of the next value rune (or just past the last one).
	if off < utf8.RuneCountInString(value) {
		want, _ := utf8.DecodeRuneInString(value[runeByteOffset(value, off):])
		save := r
		if r.find(want, dq, sq) {
			return r.line, r.col + 1
		}
		r = save
	}
	return r.line, r.col + 1
}

func runeByteOffset(s string, n int) int {
	i := 0
	for b := range s {
		if i == n {
			return b
		}
		i++
	}
	return len(s)
}

// rawReader walks the raw text of a scalar rune by rune; a line end reads as
// '\n'.
type rawReader struct {
	lines []string
	line  int    // 1-based current line
	col   int    // 0-based rune column within line
	rest  string // the rest of the current line
	eol   bool   // positioned at the line end
}

// seek positions the reader at the 1-based rune column c of its line.
func (r *rawReader) seek(c int) bool {
	if r.line < 1 || r.line > len(r.lines) {
		return false
	}
	r.rest = r.lines[r.line-1]
	for r.col = 0; r.col < c-1; r.col++ {
		if r.rest == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(r.rest)
		r.rest = r.rest[n:]
	}
	r.eol = r.rest == ""
	return true
}

// peek returns the current raw rune ('\n' at a line end) and false at EOF.
func (r *rawReader) peek() (rune, bool) {
	if r.rest == "" {
		if r.line >= len(r.lines) {
			return 0, false
		}
		return '\n', true
	}
	c, _ := utf8.DecodeRuneInString(r.rest)
	return c, true
}

func (r *rawReader) advance() {
	if r.rest == "" {
		r.line++
		r.col = 0
		if r.line <= len(r.lines) {
			r.rest = r.lines[r.line-1]
		}
		return
	}
	_, n := utf8.DecodeRuneInString(r.rest)
	r.rest = r.rest[n:]
	r.col++
}

// decode reads one logical rune at the reader (decoding an escape of a
// double-quoted scalar or a doubled quote of a single-quoted one) without
// consuming it, returning the rune and the number of raw runes it spans.
func (r *rawReader) decode(dq, sq bool) (rune, int, bool) {
	c, ok := r.peek()
	if !ok {
		return 0, 0, false
	}
	if sq && c == '\'' && strings.HasPrefix(r.rest, "''") {
		return '\'', 2, true
	}
	if dq && c == '\\' && len(r.rest) >= 2 {
		e := r.rest[1]
		if v, ok := simpleEscapes[e]; ok {
			return v, 2, true
		}
		width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
		if width > 0 && len(r.rest) >= 2+width {
			var v rune
			for _, h := range r.rest[2 : 2+width] {
				d := hexVal(h)
				if d < 0 {
					return c, 1, true
				}
				v = v<<4 | rune(d)
			}
			return v, 2 + width, true
		}
	}
	return c, 1, true
}

var simpleEscapes = map[byte]rune{'0': 0, 'a': 7, 'b': 8, 't': 9, '\t': 9, 'n': 10, 'v': 11, 'f': 12,
	'r': 13, 'e': 27, ' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xA0, 'L': 0x2028, 'P': 0x2029}

func hexVal(h rune) int {
	switch {
	case h >= '0' && h <= '9':
		return int(h - '0')
	case h >= 'a' && h <= 'f':
		return int(h-'a') + 10
	case h >= 'A' && h <= 'F':
		return int(h-'A') + 10
	}
	return -1
}

// find skips raw runes (indentation, line folds, quotes) up to the next one
// that decodes to want, leaving the reader on it.
func (r *rawReader) find(want rune, dq, sq bool) bool {
	for skipped := 0; skipped < 4096; skipped++ {
		got, _, ok := r.decode(dq, sq)
		if !ok {
			return false
		}
		if got == want {
			return true
		}
		r.advance()
	}
	return false
}

// match finds want and consumes it.
func (r *rawReader) match(want rune, dq, sq bool) bool {
	if !r.find(want, dq, sq) {
		return false
	}
	_, n, _ := r.decode(dq, sq)
	for range n {
		r.advance()
	}
	return true
}

// suggest returns " (did you mean X?)" for the candidate closest to name, or
// "" when none is close.
func suggest(name string, candidates []string) string {
	if len(name) > 64 {
		return ""
	}
	best, bestD := "", -1
	for _, c := range candidates {
		if c == "" || strings.HasPrefix(c, "$") {
			continue
		}
		d := textdist.Distance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, utf8.RuneCountInString(name)/3)
	if bestD < 0 || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}
