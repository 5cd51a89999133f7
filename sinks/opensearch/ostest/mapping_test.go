package ostest

import (
	"fmt"
	"strings"
	"testing"
)

func TestFieldTypeChecks(t *testing.T) {
	cases := []struct {
		mapping, value string
		cause          string // "" when the value is accepted
	}{
		{`{"type":"long"}`, `1`, ""},
		{`{"type":"long"}`, `"12"`, ""},
		{`{"type":"long"}`, `1.9`, ""},
		{`{"type":"long"}`, `null`, ""},
		{`{"type":"long"}`, `[1,"2",null]`, ""},
		{`{"type":"long"}`, `"abc"`, `number_format_exception: For input string: "abc"`},
		{`{"type":"long"}`, `9223372036854775808`, "input_coercion_exception: Numeric value (9223372036854775808) out of range of long (-9223372036854775808 - 9223372036854775807)"},
		{`{"type":"long"}`, `"9223372036854775808"`, "illegal_argument_exception: Value [9223372036854775808] is out of range for a long"},
		{`{"type":"long"}`, `true`, "json_parse_exception: Current token (VALUE_TRUE) not numeric, can not use numeric value accessors"},
		{`{"type":"long","coerce":false}`, `"12"`, "illegal_argument_exception"},
		{`{"type":"integer"}`, `2147483648`, "illegal_argument_exception: Value [2147483648] is out of range for an integer"},
		{`{"type":"byte"}`, `-129`, "illegal_argument_exception: Value [-129] is out of range for a byte"},
		{`{"type":"double"}`, `1.5e300`, ""},
		{`{"type":"double"}`, `"NaN"`, "illegal_argument_exception: [double] supports only finite values, but got [NaN]"},
		{`{"type":"double"}`, `"-Infinity"`, "illegal_argument_exception: [double] supports only finite values, but got [-Infinity]"},
		{`{"type":"double"}`, `1e400`, "illegal_argument_exception: [double] supports only finite values, but got [Infinity]"},
		{`{"type":"float"}`, `1e39`, "illegal_argument_exception: [float] supports only finite values, but got [Infinity]"},
		{`{"type":"double","ignore_malformed":true}`, `"x"`, ""},
		{`{"type":"scaled_float","scaling_factor":100}`, `12.345`, ""},
		{`{"type":"boolean"}`, `"true"`, ""},
		{`{"type":"boolean"}`, `"yes"`, "illegal_argument_exception: Failed to parse value [yes] as only [true] or [false] are allowed."},
		{`{"type":"boolean"}`, `1`, "illegal_argument_exception: Failed to parse value [1] as only [true] or [false] are allowed."},
		{`{"type":"date"}`, `"2024-01-01T10:00:00Z"`, ""},
		{`{"type":"date"}`, `"2024-01"`, ""},
		{`{"type":"date"}`, `1700000000000`, ""},
		{`{"type":"date"}`, `"2024-02-30"`, "illegal_argument_exception: failed to parse date field [2024-02-30] with format [strict_date_optional_time||epoch_millis]"},
		{`{"type":"date","format":"strict_date_optional_time_nanos"}`, `"2024-01-01T10:00:00.123456789+02:00"`, ""},
		{`{"type":"date","format":"strict_date_optional_time_nanos"}`, `1700000000000`, "illegal_argument_exception: failed to parse date field [1700000000000] with format [strict_date_optional_time_nanos]"},
		{`{"type":"date","format":"strict_date"}`, `"2024-01-01T00:00:00Z"`, "illegal_argument_exception"},
		{`{"type":"date_nanos"}`, `"1969-12-31T23:59:59Z"`, "illegal_argument_exception: date[1969-12-31T23:59:59Z] is before the epoch in 1970 and cannot be stored in nanosecond resolution"},
		{`{"type":"keyword"}`, `12`, ""},
		{`{"type":"keyword"}`, `{"a":1}`, "illegal_state_exception: Can't get text on a START_OBJECT"},
		{`{"type":"text"}`, `false`, ""},
		{`{"type":"binary"}`, `"AAEC/w=="`, ""},
		{`{"type":"binary"}`, `"!!"`, "json_parse_exception"},
		{`{"type":"object","enabled":false}`, `42`, ""},
		{`{"type":"object","enabled":false}`, `[1,{"a":[]}]`, ""},
		{`{"type":"flat_object"}`, `{"a":{"b":1}}`, ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s=%s", c.mapping, c.value), func(t *testing.T) {
			s := NewServer(t)
			must(t, s, "PUT", "/v", `{"mappings":{"properties":{"f":`+c.mapping+`}}}`)
			r := must(t, s, "POST", "/v/_bulk", ndjson(`{"index":{"_id":"d`+fmt.Sprint(i)+`"}}`, `{"f":`+c.value+`}`))
			it := r.item(0)
			typ, reason := itemError(it)
			if c.cause == "" {
				if typ != "" {
					t.Fatalf("refused: %s: %s", typ, reason)
				}
				return
			}
			var preview string
			if v, err := parseJSON([]byte(c.value)); err == nil {
				preview = v.preview()
			}
			m, _ := parseJSON([]byte(c.mapping))
			want := fmt.Sprintf("failed to parse field [f] of type [%s] in document with id 'd%d'. Preview of field's value: '%s'",
				m.get("type").s, i, preview)
			ct, cr := causeOf(it)
			if itemStatus(it) != 400 || typ != "mapper_parsing_exception" || reason != want || !strings.HasPrefix(ct+": "+cr, c.cause) {
				t.Fatalf("got %d %s: %s (caused by %s: %s)\nwant 400 mapper_parsing_exception: %s (caused by %s)",
					itemStatus(it), typ, reason, ct, cr, want, c.cause)
			}
		})
	}
}

func TestObjectsAndDynamicMapping(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/strict", `{"mappings":{"dynamic":"strict","properties":{"o":{"properties":{"a":{"type":"long"}}},"f":{"type":"object","dynamic":"false"}}}}`)
	must(t, s, "PUT", "/dyn", "")
	cases := []struct {
		index, doc  string
		typ, reason string
	}{
		{"strict", `{"o":{"a":1},"f":{"anything":true}}`, "", ""},
		{"strict", `{"extra":1}`, "strict_dynamic_mapping_exception", "mapping set to strict, dynamic introduction of [extra] within [_doc] is not allowed"},
		{"strict", `{"o":{"b":1}}`, "strict_dynamic_mapping_exception", "mapping set to strict, dynamic introduction of [b] within [o] is not allowed"},
		{"strict", `{"o":"concrete"}`, "mapper_parsing_exception", "object mapping for [o] tried to parse field [o] as object, but found a concrete value"},
		{"strict", `{"_id":"x"}`, "mapper_parsing_exception", "Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters."},
		{"strict", `{"o":{"a":1},"o":{"a":2}}`, "mapper_parsing_exception", "failed to parse"},
		{"strict", `[1]`, "mapper_parsing_exception", "failed to parse"},
		{"dyn", `{"n":1,"s":"text","d":"2024-01-01","b":true,"x":1.5,"obj":{"k":"v"}}`, "", ""},
		{"dyn", `{"n":"not a number"}`, "mapper_parsing_exception", "failed to parse field [n] of type [long] in document with id '8'. Preview of field's value: 'not a number'"},
		{"dyn", `{"fresh":1,"d":"not a date"}`, "mapper_parsing_exception", "failed to parse field [d] of type [date] in document with id '9'. Preview of field's value: 'not a date'"},
	}
	for i, c := range cases {
		r := must(t, s, "POST", "/"+c.index+"/_bulk", ndjson(fmt.Sprintf(`{"index":{"_id":"%d"}}`, i), c.doc))
		typ, reason := itemError(r.item(0))
		if typ != c.typ || reason != c.reason {
			t.Errorf("%s %s: %s: %s\nwant %s: %s", c.index, c.doc, typ, reason, c.typ, c.reason)
		}
	}
	props := must(t, s, "GET", "/dyn", "").body["dyn"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	want := map[string]string{"n": "long", "s": "text", "d": "date", "b": "boolean", "x": "float"}
	for f, typ := range want {
		if m, _ := props[f].(map[string]any); m["type"] != typ {
			t.Errorf("dynamic mapping of %s = %v, want %s", f, props[f], typ)
		}
	}
	if kw := props["s"].(map[string]any)["fields"].(map[string]any)["keyword"].(map[string]any); kw["type"] != "keyword" || kw["ignore_above"] != 256.0 {
		t.Errorf("text without a keyword sub-field: %v", props["s"])
	}
	if _, ok := props["fresh"]; ok {
		t.Error("a refused document's new field was mapped")
	}
}

func TestMappingDefinitionErrors(t *testing.T) {
	cases := []struct{ body, typ, reason string }{
		{`{"mappings":{"properties":{"n":{"type":"long","foo":1}}}}`, "mapper_parsing_exception", "unknown parameter [foo] on mapper [n] of type [long]"},
		{`{"mappings":{"properties":{"n":{"type":"strang"}}}}`, "mapper_parsing_exception", "No handler for type [strang] declared on field [n]"},
		{`{"mappings":{"properties":{"o":{"properties":{},"foo":"bar"}}}}`, "mapper_parsing_exception", "Mapping definition for [o] has unsupported parameters:  [foo : bar]"},
		{`{"mappings":{"_doc":{"properties":{}}}}`, "mapper_parsing_exception", "Root mapping definition has unsupported parameters:  [_doc : {properties={}}]"},
		{`{"mappings":{"properties":{"p":{"type":"scaled_float"}}}}`, "mapper_parsing_exception", "Field [scaling_factor] is required"},
		{`{"mappings":{"properties":{"k":{"type":"keyword","fields":{"o":{"type":"object"}}}}}}`, "mapper_parsing_exception", "Type [object] cannot be used in multi field"},
		{`{"settings":{"index":{"foo":1}}}`, "illegal_argument_exception", "unknown setting [index.foo] please check that any required plugins are installed, or check the breaking changes documentation for removed settings"},
		{`{"settings":{"number_of_shards":0}}`, "illegal_argument_exception", "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1"},
		{`{"settings":{"index.gc_deletes":"5 parsecs"}}`, "illegal_argument_exception", "failed to parse setting [index.gc_deletes] with value [5 parsecs] as a time value: unit is missing or unrecognized"},
		{`{"settings":{},"foo":{}}`, "parse_exception", "unknown key [foo] for create index"},
		{`{"mappings":{"properties":{"r":{"type":"ip"}}}}`, "ostest_not_implemented_exception", "ostest does not implement the field type [ip] (field [r])"},
	}
	for _, c := range cases {
		s := NewServer(t)
		r := do(t, s, "PUT", "/v", c.body)
		if typ, reason := r.errorOf(); r.status != 400 || typ != c.typ || reason != c.reason {
			t.Errorf("%s: %d %s: %s\nwant 400 %s: %s", c.body, r.status, typ, reason, c.typ, c.reason)
		}
		if len(s.Indices()) != 0 {
			t.Errorf("%s: the index was created", c.body)
		}
	}
}
