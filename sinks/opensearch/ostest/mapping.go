package ostest

import (
	"sort"
	"strconv"
	"strings"
)

// mapper is one node of an index mapping: the root, an object or a leaf
// field (with its multi-fields).
type mapper struct {
	path string // full dotted path ("" for the root)
	typ  string // "object" for the root and objects

	// Objects.
	props   map[string]*mapper
	dynamic string // "true", "false", "strict"; "" inherits
	enabled bool

	// Leaves.
	fields          map[string]*mapper // multi-fields
	coerce          bool
	ignoreMalformed bool
	indexed         bool
	ignoreAbove     int // 0: none
	formats         []string
	scalingFactor   float64
	nullValue       *value

	// params keeps the parameters as given, for GET /{index}.
	params map[string]*value
}

// The root mapping's own settings.
type rootOptions struct {
	dateDetection bool
	meta          *value
}

// Parameters each type accepts (besides "type"). Parameters that
// OpenSearch accepts but this server does not implement are in
// unimplementedParams.
var typeParams = map[string][]string{
	"long":          numericParams,
	"integer":       numericParams,
	"short":         numericParams,
	"byte":          numericParams,
	"double":        numericParams,
	"float":         numericParams,
	"half_float":    numericParams,
	"unsigned_long": numericParams,
	"scaled_float":  append([]string{"scaling_factor"}, numericParams...),
	"keyword":       {"ignore_above", "doc_values", "index", "null_value", "store", "meta", "fields", "eager_global_ordinals", "norms", "index_options", "boost", "similarity"},
	"text":          {"analyzer", "search_analyzer", "search_quote_analyzer", "fields", "index", "store", "norms", "fielddata", "index_options", "position_increment_gap", "term_vector", "meta", "eager_global_ordinals", "index_phrases", "boost", "similarity"},
	"date":          dateParams,
	"date_nanos":    dateParams,
	"boolean":       {"doc_values", "index", "null_value", "store", "meta", "fields", "boost"},
	"binary":        {"doc_values", "store", "meta"},
	"object":        {"properties", "dynamic", "enabled"},
	"nested":        {"properties", "dynamic"},
	"flat_object":   {},
}

var (
	numericParams = []string{"coerce", "doc_values", "ignore_malformed", "index", "null_value", "store", "meta", "fields", "boost"}
	dateParams    = []string{"format", "locale", "ignore_malformed", "index", "doc_values", "store", "null_value", "meta", "fields", "boost"}

	unimplementedParams = map[string]bool{"normalizer": true, "copy_to": true, "include_in_parent": true,
		"include_in_root": true, "index_prefixes": true, "split_queries_on_whitespace": true}
	unimplementedTypes = map[string]bool{"ip": true, "geo_point": true, "geo_shape": true, "knn_vector": true,
		"alias": true, "join": true, "percolator": true, "rank_feature": true, "rank_features": true,
		"integer_range": true, "long_range": true, "float_range": true, "double_range": true, "date_range": true,
		"ip_range": true, "completion": true, "search_as_you_type": true, "token_count": true, "match_only_text": true,
		"wildcard": true, "constant_keyword": true, "derived": true, "star_tree": true, "semantic": true}

	// metadataFields cannot appear inside documents.
	metadataFields = map[string]bool{"_id": true, "_index": true, "_source": true, "_routing": true,
		"_version": true, "_seq_no": true, "_primary_term": true, "_field_names": true, "_ignored": true,
		"_type": true, "_data_stream_timestamp": true, "_doc_count": true, "_nested_path": true}
)

func newRoot() *mapper {
	return &mapper{typ: "object", props: map[string]*mapper{}, enabled: true, dynamic: "true", params: map[string]*value{}}
}

// parseMappings parses the "mappings" of a create-index request.
func parseMappings(v *value) (*mapper, rootOptions, *osError) {
	root := newRoot()
	opts := rootOptions{dateDetection: true}
	if v == nil || v.kind == jNull {
		return root, opts, nil
	}
	if v.kind != jObj {
		return nil, opts, mapperParsing("Failed to parse mapping: mapping must be an object")
	}
	var unsupported []string
	for _, m := range v.obj {
		switch m.name {
		case "properties":
			if err := parseProperties(root, m.val); err != nil {
				return nil, opts, err
			}
		case "dynamic":
			d, err := parseDynamic(m.val)
			if err != nil {
				return nil, opts, err
			}
			root.dynamic = d
			root.params["dynamic"] = m.val
		case "date_detection":
			b, ok := boolParam(m.val)
			if !ok {
				return nil, opts, mapperParsing("Failed to parse mapping: Could not convert [date_detection] to boolean")
			}
			opts.dateDetection = b
			root.params["date_detection"] = m.val
		case "_meta":
			opts.meta = m.val
			root.params["_meta"] = m.val
		case "dynamic_templates", "_source", "_routing", "numeric_detection", "dynamic_date_formats", "_size", "_field_names":
			return nil, opts, notImplemented("the root mapping parameter [%s]", m.name)
		default:
			unsupported = append(unsupported, "["+m.name+" : "+m.val.preview()+"]")
		}
	}
	if len(unsupported) > 0 {
		return nil, opts, mapperParsing("Root mapping definition has unsupported parameters:  %s", strings.Join(unsupported, " "))
	}
	return root, opts, nil
}

func parseProperties(parent *mapper, v *value) *osError {
	if v.kind != jObj {
		return mapperParsing("Expected map for property [properties] on field [%s] but got a %s", parent.path, v.kind.tokenName())
	}
	for _, m := range v.obj {
		if m.name == "" {
			return mapperParsing("name cannot be empty string")
		}
		if strings.Contains(m.name, ".") {
			return notImplemented("dotted field names in mappings ([%s])", m.name)
		}
		child, err := parseField(joinPath(parent.path, m.name), m.val, false)
		if err != nil {
			return err
		}
		parent.props[m.name] = child
	}
	return nil
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func parseField(path string, v *value, multi bool) (*mapper, *osError) {
	if v.kind != jObj {
		return nil, mapperParsing("Expected map for property [fields] on field [%s] but got a %s", path, v.kind.tokenName())
	}
	typ := "object"
	if t := v.get("type"); t != nil {
		if t.kind != jStr {
			return nil, mapperParsing("No type specified for field [%s]", path)
		}
		typ = t.s
	}
	if unimplementedTypes[typ] {
		return nil, notImplemented("the field type [%s] (field [%s])", typ, path)
	}
	allowed, ok := typeParams[typ]
	if !ok {
		return nil, mapperParsing("No handler for type [%s] declared on field [%s]", typ, path)
	}
	if multi && (typ == "object" || typ == "nested" || typ == "flat_object") {
		return nil, mapperParsing("Type [%s] cannot be used in multi field", typ)
	}
	m := &mapper{path: path, typ: typ, enabled: true, coerce: true, indexed: true, params: map[string]*value{}}
	if typ == "object" || typ == "nested" {
		m.props = map[string]*mapper{}
	}
	var unknown []member
	for _, p := range v.obj {
		if p.name == "type" {
			continue
		}
		if unimplementedParams[p.name] || (p.name == "analyzer" || p.name == "search_analyzer") && p.val.text() != "standard" {
			return nil, notImplemented("the mapping parameter [%s: %s] (field [%s])", p.name, p.val.preview(), path)
		}
		if !contains(allowed, p.name) {
			unknown = append(unknown, p)
			continue
		}
		if err := m.setParam(p.name, p.val); err != nil {
			return nil, err
		}
	}
	if len(unknown) > 0 {
		if m.props == nil && typ != "flat_object" { // a parametrized field mapper
			return nil, mapperParsing("unknown parameter [%s] on mapper [%s] of type [%s]", unknown[0].name, path, typ)
		}
		list := make([]string, len(unknown))
		for i, p := range unknown {
			list[i] = "[" + p.name + " : " + p.val.preview() + "]"
		}
		return nil, mapperParsing("Mapping definition for [%s] has unsupported parameters:  %s", path, strings.Join(list, " "))
	}
	if typ == "scaled_float" && m.scalingFactor == 0 {
		return nil, mapperParsing("Field [scaling_factor] is required")
	}
	if (typ == "date" || typ == "date_nanos") && m.formats == nil {
		m.formats = []string{"strict_date_optional_time", "epoch_millis"}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (m *mapper) setParam(name string, v *value) *osError {
	bad := func() *osError {
		return mapperParsing("Failed to parse mapping: failed to parse parameter [%s] of field [%s] with value [%s]", name, m.path, v.preview())
	}
	switch name {
	case "properties":
		return parseProperties(m, v)
	case "dynamic":
		d, err := parseDynamic(v)
		if err != nil {
			return err
		}
		m.dynamic = d
	case "enabled":
		b, ok := boolParam(v)
		if !ok {
			return bad()
		}
		m.enabled = b
	case "coerce":
		b, ok := boolParam(v)
		if !ok {
			return bad()
		}
		m.coerce = b
	case "ignore_malformed":
		b, ok := boolParam(v)
		if !ok {
			return bad()
		}
		m.ignoreMalformed = b
	case "index":
		b, ok := boolParam(v)
		if !ok {
			return bad()
		}
		m.indexed = b
	case "ignore_above":
		n, err := strconv.Atoi(v.text())
		if err != nil || v.kind == jObj || v.kind == jArr || n < 0 {
			return bad()
		}
		m.ignoreAbove = n
	case "scaling_factor":
		f, err := strconv.ParseFloat(v.text(), 64)
		if err != nil || v.kind != jNum && v.kind != jStr || f <= 0 {
			return mapperParsing("[scaling_factor] must be a positive number, got [%s]", v.preview())
		}
		m.scalingFactor = f
	case "format":
		if v.kind != jStr {
			return bad()
		}
		m.formats = strings.Split(v.s, "||")
		for _, f := range m.formats {
			if !dateFormatKnown(f) {
				return notImplemented("the date format [%s] (field [%s])", f, m.path)
			}
		}
	case "null_value":
		if v.kind == jObj || v.kind == jArr {
			return bad()
		}
		if v.kind != jNull {
			m.nullValue = v
		}
	case "fields":
		if v.kind != jObj {
			return bad()
		}
		m.fields = map[string]*mapper{}
		for _, f := range v.obj {
			sub, err := parseField(m.path+"."+f.name, f.val, true)
			if err != nil {
				return err
			}
			m.fields[f.name] = sub
		}
	}
	if name != "properties" && name != "fields" {
		m.params[name] = v
	}
	return nil
}

func parseDynamic(v *value) (string, *osError) {
	switch t := v.text(); {
	case (v.kind == jBool || v.kind == jStr) && (t == "true" || t == "false" || t == "strict"):
		return t, nil
	}
	return "", mapperParsing("Failed to parse mapping: Could not convert [dynamic] to boolean or [strict]: [%s]", v.preview())
}

func boolParam(v *value) (bool, bool) {
	switch {
	case v.kind == jBool:
		return v.b, true
	case v.kind == jStr && (v.s == "true" || v.s == "false"):
		return v.s == "true", true
	}
	return false, false
}

// lookup resolves a dotted path ("name.keyword", "address.city") to its
// mapper, following object properties and multi-fields.
func (m *mapper) lookup(path string) *mapper {
	cur := m
	parts := strings.Split(path, ".")
	for i := 0; i < len(parts); i++ {
		var next *mapper
		if cur.props != nil {
			next = cur.props[parts[i]]
		} else if cur.fields != nil {
			next = cur.fields[parts[i]]
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// render renders the mapping as GET /{index} shows it.
func (m *mapper) render() map[string]any {
	out := map[string]any{}
	for k, v := range m.params {
		out[k] = v.toAny()
	}
	if m.path != "" && (m.typ != "object" || len(m.props) == 0) {
		out["type"] = m.typ
	}
	if len(m.props) > 0 {
		props := map[string]any{}
		for _, name := range sortedKeys(m.props) {
			props[name] = m.props[name].render()
		}
		out["properties"] = props
	}
	if len(m.fields) > 0 {
		fields := map[string]any{}
		for name, f := range m.fields {
			fields[name] = f.render()
		}
		out["fields"] = fields
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
