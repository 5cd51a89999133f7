package ostest

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// docParser checks one document against an index's mapping, as
// OpenSearch's DocumentParser does, and adds dynamically mapped fields. The
// additions are undone when the document fails.
type docParser struct {
	ix    *index
	id    string
	added []addedField
}

type addedField struct {
	parent *mapper
	name   string
}

// parseDocument checks a document's source against the index's mapping.
func (ix *index) parseDocument(id string, src *value) *osError {
	if src.kind != jObj {
		return mapperParsing("failed to parse").causedBy(
			newError(400, "not_x_content_exception", "Malformed content, must start with an object, but found [%s]", src.kind.tokenName()))
	}
	p := &docParser{ix: ix, id: id}
	if err := p.object(ix.mapping, "true", src); err != nil {
		for i := len(p.added) - 1; i >= 0; i-- {
			delete(p.added[i].parent.props, p.added[i].name)
		}
		return err
	}
	return nil
}

func (p *docParser) object(m *mapper, dyn string, v *value) *osError {
	if m.dynamic != "" {
		dyn = m.dynamic
	}
	for _, f := range v.obj {
		switch {
		case f.name == "":
			return mapperParsing("failed to parse").causedBy(illegalArgument("field name cannot be an empty string"))
		case m.path == "" && metadataFields[f.name]:
			return mapperParsing("Field [%s] is a metadata field and cannot be added inside a document. Use the index API request parameters.", f.name)
		case strings.Contains(f.name, "."):
			return notImplemented("dotted field names in documents ([%s])", f.name)
		}
		child := m.props[f.name]
		if child == nil {
			switch dyn {
			case "strict":
				within := m.path
				if within == "" {
					within = "_doc"
				}
				return newError(400, "strict_dynamic_mapping_exception",
					"mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", f.name, within)
			case "false":
				continue
			}
			if child = p.infer(m, f.name, f.val); child == nil {
				continue
			}
		}
		if err := p.field(child, dyn, f.name, f.val); err != nil {
			return err
		}
	}
	return nil
}

func (p *docParser) field(m *mapper, dyn, name string, v *value) *osError {
	if v.kind == jArr {
		for _, e := range v.arr {
			if err := p.field(m, dyn, name, e); err != nil {
				return err
			}
		}
		return nil
	}
	switch m.typ {
	case "object", "nested":
		switch {
		case !m.enabled || v.kind == jNull:
			return nil
		case v.kind == jObj:
			return p.object(m, dyn, v)
		}
		return mapperParsing("object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", m.path, name)
	case "flat_object":
		if v.kind == jObj || v.kind == jNull {
			return nil
		}
		return p.fieldError(m, v, newError(400, "parsing_exception", "value [%s] for field [%s] is not an object", v.preview(), name))
	}
	if _, cause := m.terms(v); cause != nil && !(m.ignoreMalformed && v.kind != jObj) {
		return p.fieldError(m, v, cause)
	}
	for _, sub := range sortedKeys(m.fields) {
		if err := p.field(m.fields[sub], dyn, name, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *docParser) fieldError(m *mapper, v *value, cause *osError) *osError {
	return mapperParsing("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'",
		m.path, m.typ, p.id, v.preview()).causedBy(cause)
}

// infer maps a new field dynamically as OpenSearch does: whole numbers as
// long, other numbers as float, strings as date (when they look like one)
// or text with a keyword sub-field, objects as object. Nulls and empty
// arrays add nothing.
func (p *docParser) infer(parent *mapper, name string, v *value) *mapper {
	for v.kind == jArr {
		var first *value
		for _, e := range v.arr {
			if e.kind != jNull {
				first = e
				break
			}
		}
		if first == nil {
			return nil
		}
		v = first
	}
	path := joinPath(parent.path, name)
	m := &mapper{path: path, enabled: true, coerce: true, indexed: true, params: map[string]*value{}}
	switch v.kind {
	case jNull:
		return nil
	case jBool:
		m.typ = "boolean"
	case jNum:
		m.typ = "long"
		if strings.ContainsAny(v.s, ".eE") {
			m.typ = "float"
		}
	case jStr:
		if _, ok := parseOptionalTime(v.s); ok && p.ix.dateDetection {
			m.typ = "date"
			m.formats = []string{"strict_date_optional_time", "epoch_millis"}
			m.params["format"] = &value{kind: jStr, s: "strict_date_optional_time||epoch_millis"}
		} else {
			m.typ = "text"
			kw := &mapper{path: path + ".keyword", typ: "keyword", coerce: true, indexed: true, ignoreAbove: 256,
				params: map[string]*value{"ignore_above": {kind: jNum, s: "256"}}}
			m.fields = map[string]*mapper{"keyword": kw}
		}
	case jObj:
		m.typ = "object"
		m.props = map[string]*mapper{}
	}
	parent.props[name] = m
	p.added = append(p.added, addedField{parent, name})
	return m
}

// terms converts a scalar (or null) into the terms the field indexes, or
// the cause for which the value cannot be parsed for the field's type. It
// serves indexing (validation) and term queries alike.
func (m *mapper) terms(v *value) ([]any, *osError) {
	if v.kind == jNull || (v.kind == jStr && v.s == "" && m.isNumeric()) {
		if m.nullValue != nil {
			return m.terms(m.nullValue)
		}
		return nil, nil
	}
	switch m.typ {
	case "keyword", "text":
		if v.kind == jObj {
			return nil, newError(400, "illegal_state_exception", "Can't get text on a START_OBJECT")
		}
		s := v.text()
		if m.typ == "text" {
			return tokens(s), nil
		}
		if m.ignoreAbove > 0 && utf8.RuneCountInString(s) > m.ignoreAbove {
			return nil, nil
		}
		return []any{s}, nil
	case "boolean":
		if v.kind == jBool {
			return []any{v.b}, nil
		}
		if v.kind == jStr && (v.s == "true" || v.s == "false") {
			return []any{v.s == "true"}, nil
		}
		return nil, illegalArgument("Failed to parse value [%s] as only [true] or [false] are allowed.", v.preview())
	case "date", "date_nanos":
		return m.dateTerms(v)
	case "binary":
		if v.kind != jStr {
			return nil, newError(400, "json_parse_exception", "Current token (%s) not VALUE_STRING or VALUE_EMBEDDED_OBJECT, can not access as binary", v.jacksonToken())
		}
		if _, err := base64.StdEncoding.DecodeString(v.s); err != nil {
			if _, err2 := base64.RawStdEncoding.DecodeString(v.s); err2 != nil {
				return nil, newError(400, "json_parse_exception", "Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): %v", err)
			}
		}
		return nil, nil // binary values are not searchable
	}
	return m.numberTerms(v)
}

func (m *mapper) isNumeric() bool {
	switch m.typ {
	case "long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float":
		return true
	}
	return false
}

var intRanges = map[string]struct {
	lo, hi int64
	name   string
}{
	"long":    {math.MinInt64, math.MaxInt64, "a long"},
	"integer": {math.MinInt32, math.MaxInt32, "an integer"},
	"short":   {math.MinInt16, math.MaxInt16, "a short"},
	"byte":    {math.MinInt8, math.MaxInt8, "a byte"},
}

func (m *mapper) numberTerms(v *value) ([]any, *osError) {
	if v.kind != jNum && v.kind != jStr {
		return nil, newError(400, "json_parse_exception", "Current token (%s) not numeric, can not use numeric value accessors", v.jacksonToken())
	}
	t := v.s
	if v.kind == jStr && !m.coerce {
		return nil, illegalArgument("Cannot parse the string [%s] for a numeric field with [coerce] false", t)
	}
	if !javaNumber(t) {
		return nil, newError(400, "number_format_exception", "For input string: \"%s\"", t)
	}
	switch m.typ {
	case "long", "integer", "short", "byte":
		r := intRanges[m.typ]
		n, err := strconv.ParseInt(strings.TrimPrefix(t, "+"), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				if v.kind == jNum && m.typ == "long" {
					return nil, newError(400, "input_coercion_exception", "Numeric value (%s) out of range of long (-9223372036854775808 - 9223372036854775807)", t)
				}
				return nil, illegalArgument("Value [%s] is out of range for %s", t, r.name)
			}
			f, ferr := strconv.ParseFloat(t, 64)
			if ferr != nil && !isRangeErr(ferr) || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, newError(400, "number_format_exception", "For input string: \"%s\"", t)
			}
			if !m.coerce && f != math.Trunc(f) {
				return nil, illegalArgument("Value [%s] has a decimal part", t)
			}
			if f < float64(r.lo) || f >= -float64(r.lo) {
				return nil, illegalArgument("Value [%s] is out of range for %s", t, r.name)
			}
			n = int64(f)
		}
		if n < r.lo || n > r.hi {
			return nil, illegalArgument("Value [%s] is out of range for %s", t, r.name)
		}
		return []any{n}, nil
	case "unsigned_long":
		n, err := strconv.ParseUint(strings.TrimPrefix(t, "+"), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(t, 64)
			if ferr != nil || f < 0 || f >= math.MaxUint64 || math.IsNaN(f) {
				return nil, illegalArgument("Value [%s] is out of range for an unsigned long", t)
			}
			n = uint64(f)
		}
		return []any{n}, nil
	}
	f, err := strconv.ParseFloat(javaFloatText(t), 64)
	if err != nil && !isRangeErr(err) {
		return nil, newError(400, "number_format_exception", "For input string: \"%s\"", t)
	}
	switch m.typ {
	case "float":
		f = float64(float32(f))
	case "half_float":
		if math.Abs(f) > 65504 {
			f = math.Inf(int(math.Copysign(1, f)))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if m.typ == "scaled_float" {
			return nil, illegalArgument("[scaled_float] only supports finite values, but got [%s]", javaDouble(f))
		}
		return nil, illegalArgument("[%s] supports only finite values, but got [%s]", m.typ, javaDouble(f))
	}
	if m.typ == "scaled_float" {
		return []any{math.Round(f * m.scalingFactor)}, nil
	}
	return []any{f}, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// javaNumber reports whether Java's number parsers accept s: a decimal
// number with an optional sign, fraction and exponent, or NaN/Infinity.
func javaNumber(s string) bool {
	switch strings.TrimLeft(s, "+-") {
	case "NaN", "Infinity":
		return len(s)-len(strings.TrimLeft(s, "+-")) <= 1
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start, dot := i, false
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' && !dot) {
		dot = dot || s[i] == '.'
		i++
	}
	if i == start || (i == start+1 && dot) {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == e {
			return false
		}
	}
	return i == len(s)
}

func javaFloatText(s string) string {
	switch strings.TrimPrefix(s, "+") {
	case "Infinity":
		return "+Inf"
	case "-Infinity":
		return "-Inf"
	}
	return s
}

// javaDouble renders a double as Java's Double.toString does for the
// values OpenSearch's finite-value errors show.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var maxNanosTime = time.Unix(0, math.MaxInt64).UTC()

func (m *mapper) dateTerms(v *value) ([]any, *osError) {
	format := strings.Join(m.formats, "||")
	if v.kind == jObj || v.kind == jBool {
		return nil, illegalArgument("failed to parse date field [%s] with format [%s]", v.preview(), format)
	}
	t, ok := parseDate(v.s, m.formats)
	if !ok {
		return nil, illegalArgument("failed to parse date field [%s] with format [%s]", v.s, format).
			causedBy(newError(400, "date_time_parse_exception", "Text '%s' could not be parsed", v.s))
	}
	if m.typ == "date_nanos" {
		switch {
		case t.Before(time.Unix(0, 0)):
			return nil, illegalArgument("date[%s] is before the epoch in 1970 and cannot be stored in nanosecond resolution", t.Format(time.RFC3339Nano))
		case t.After(maxNanosTime):
			return nil, illegalArgument("date[%s] is after 2262-04-11T23:47:16.854775807 and cannot be stored in nanosecond resolution", t.Format(time.RFC3339Nano))
		}
		return []any{t.UnixNano()}, nil
	}
	return []any{t.UnixMilli()}, nil
}

// tokens is the standard analyzer, simplified: lower-cased runs of letters
// and digits.
func tokens(s string) []any {
	var out []any
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

// String helps debugging.
func (m *mapper) String() string { return fmt.Sprintf("%s(%s)", m.path, m.typ) }
