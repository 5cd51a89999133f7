// Package yamlspec decodes beamsync's YAML files strictly: an unknown key, a
// value of the wrong type or malformed YAML is reported with the file, line,
// column and dotted field path, and every problem of a file is reported at
// once rather than the first only.
package yamlspec

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/beamsync/beamsync/internal/textdist"
)

// Error is one problem at a place in a YAML file.
type Error struct {
	File         string
	Line, Column int
	Path         string // dotted field path, e.g. "source.chunk_size"
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At returns an error at a node.
func At(file string, n *yaml.Node, path, format string, args ...any) *Error {
	e := &Error{File: file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Parse parses YAML text into its document node.
func Parse(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, convertYAMLError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, At(file, root, "", "expected a mapping of fields at the top level, found %s", kindName(root))
	}
	return root, nil
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func convertYAMLError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, m := range te.Errors {
			errs = append(errs, lineError(file, m))
		}
		return errors.Join(errs...)
	}
	return lineError(file, err.Error())
}

func lineError(file, msg string) error {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: m[2]}
	}
	return &Error{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// Decode checks node against out's struct type (unknown keys, with a
// did-you-mean; values of the wrong kind) and decodes it into out.
// Fields tagged `yaml:"-"` are not accepted from YAML; a field of type
// yaml.Node receives its subtree unchecked.
func Decode(file string, node *yaml.Node, path string, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer {
		panic("yamlspec.Decode: out must be a pointer")
	}
	var errs []error
	check(file, node, path, rv.Elem().Type(), &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := node.Decode(out); err != nil {
		return convertYAMLError(file, err)
	}
	return nil
}

// Fields returns the YAML field names of a struct type.
func Fields(t reflect.Type) []string {
	var names []string
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline := tagName(f)
		switch {
		case inline:
			names = append(names, Fields(f.Type)...)
		case name != "":
			names = append(names, name)
		}
	}
	return names
}

func tagName(f reflect.StructField) (name string, inline bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return "", false
	}
	parts := strings.Split(tag, ",")
	for _, p := range parts[1:] {
		if p == "inline" {
			return "", true
		}
	}
	if parts[0] != "" {
		return parts[0], false
	}
	return strings.ToLower(f.Name), false
}

func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline := tagName(f)
		if inline {
			if ft, ok := fieldType(derefType(f.Type), key); ok {
				return ft, true
			}
			continue
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var (
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

func check(file string, n *yaml.Node, path string, t reflect.Type, errs *[]error) {
	t = derefType(t)
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return // checked by the type itself
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return
		}
		if n.Kind != yaml.MappingNode {
			*errs = append(*errs, At(file, n, path, "expected a mapping of fields, found %s", kindName(n)))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, At(file, k, p, "field given twice"))
				continue
			}
			seen[k.Value] = true
			ft, ok := fieldType(t, k.Value)
			if !ok {
				*errs = append(*errs, At(file, k, p, "unknown field%s; valid fields: %s",
					DidYouMean(k.Value, Fields(t)), strings.Join(Fields(t), ", ")))
				continue
			}
			check(file, v, p, ft, errs)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return
		}
		if n.Kind != yaml.SequenceNode {
			*errs = append(*errs, At(file, n, path, "expected a list, found %s", kindName(n)))
			return
		}
		for i, e := range n.Content {
			check(file, e, fmt.Sprintf("%s[%d]", path, i), t.Elem(), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			*errs = append(*errs, At(file, n, path, "expected a mapping, found %s", kindName(n)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			check(file, n.Content[i+1], join(path, n.Content[i].Value), t.Elem(), errs)
		}
	case reflect.Interface:
	default:
		if n.Kind != yaml.ScalarNode {
			*errs = append(*errs, At(file, n, path, "expected a %s value, found %s", scalarName(t), kindName(n)))
			return
		}
		var probe = reflect.New(t)
		if err := n.Decode(probe.Interface()); err != nil {
			*errs = append(*errs, At(file, n, path, "expected a %s value, found %q", scalarName(t), n.Value))
		}
	}
}

func scalarName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.String() == "time.Duration" {
			return "duration (e.g. 30s, 5m)"
		}
		return "whole-number"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "text"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// DidYouMean returns ` (did you mean "x"?)` for the closest candidate within a
// small edit distance, or "".
func DidYouMean(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := textdist.Distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && bestD <= max(2, len(s)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// SortErrors orders joined errors by line for stable messages.
func SortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		var a, b *Error
		if errors.As(errs[i], &a) && errors.As(errs[j], &b) {
			return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
		}
		return false
	})
}
