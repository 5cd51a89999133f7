package ostest

import (
	"fmt"
	"strings"
	"testing"
)

func TestSearchQueries(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v", `{"mappings":{"dynamic":"false","properties":{
		"k":{"type":"keyword"},"t":{"type":"text","fields":{"raw":{"type":"keyword"}}},"n":{"type":"long"},
		"b":{"type":"boolean"},"o":{"properties":{"c":{"type":"keyword"}}},"bin":{"type":"binary"}}}}`)
	var lines []string
	for i := 1; i <= 12; i++ {
		lines = append(lines, fmt.Sprintf(`{"index":{"_id":"%d"}}`, i),
			fmt.Sprintf(`{"k":"k%d","t":"Hello World %d","n":%d,"b":%v,"o":{"c":"c%d"},"free":"x","tags":[1,2]}`, i, i, i, i%2 == 0, i%3))
	}
	must(t, s, "POST", "/v/_bulk?refresh=true", ndjson(lines...))
	cases := []struct {
		query string
		want  int
	}{
		{`{"match_all":{}}`, 12},
		{`{"match_none":{}}`, 0},
		{`{"term":{"k":"k3"}}`, 1},
		{`{"term":{"k":{"value":"k3","boost":2}}}`, 1},
		{`{"term":{"t":"hello"}}`, 12},
		{`{"term":{"t":"Hello"}}`, 0}, // term queries are not analyzed
		{`{"term":{"t.raw":"Hello World 1"}}`, 1},
		{`{"term":{"n":"5"}}`, 1},
		{`{"term":{"b":true}}`, 6},
		{`{"term":{"o.c":"c0"}}`, 4},
		{`{"term":{"free":"x"}}`, 0}, // unmapped (dynamic false): not searchable
		{`{"terms":{"n":[1,2,99]}}`, 2},
		{`{"ids":{"values":["1","12","13"]}}`, 2},
		{`{"exists":{"field":"o.c"}}`, 12},
		{`{"bool":{"must_not":{"term":{"b":true}}}}`, 6},
		{`{"bool":{"filter":[{"term":{"b":true}}],"must_not":[{"term":{"n":2}}]}}`, 5},
		{`{"bool":{"should":[{"term":{"n":1}},{"term":{"n":2}}]}}`, 2},
		{`{"bool":{"must":{"term":{"b":false}},"should":[{"term":{"n":2}}]}}`, 6},
	}
	for _, c := range cases {
		r := must(t, s, "POST", "/v/_search", `{"size":100,"query":`+c.query+`}`)
		hits := r.body["hits"].(map[string]any)
		if n := hits["total"].(map[string]any)["value"]; n != float64(c.want) || len(hits["hits"].([]any)) != c.want {
			t.Errorf("%s: total %v, %d hits; want %d", c.query, n, len(hits["hits"].([]any)), c.want)
		}
	}
	r := must(t, s, "POST", "/v/_search", `{"size":5,"from":10,"track_total_hits":3}`)
	hits := r.body["hits"].(map[string]any)
	if tot := hits["total"].(map[string]any); tot["value"] != 3.0 || tot["relation"] != "gte" || len(hits["hits"].([]any)) != 2 {
		t.Fatalf("paging and track_total_hits: %s", r.raw)
	}
	if !strings.Contains(r.raw, `"_source":{"k":"k`) {
		t.Fatalf("hits without their source: %s", r.raw)
	}
	errs := []struct{ path, body, typ, reason string }{
		{"/v/_search", `{"query":{"nope":{}}}`, "parsing_exception", "unknown query [nope]"},
		{"/v/_search", `{"query":{"match":{"t":"x"}}}`, "ostest_not_implemented_exception", "ostest does not implement the [match] query"},
		{"/v/_search", `{"sort":["n"]}`, "ostest_not_implemented_exception", "ostest does not implement the search key [sort]"},
		{"/v/_search", `{"foo":1}`, "parsing_exception", "Unknown key for a VALUE_NUMBER in [foo]."},
		{"/v/_search", `{"size":10001}`, "illegal_argument_exception", "Result window is too large, from + size must be less than or equal to: [10000] but was [10001]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."},
		{"/v/_search", `{"query":{"term":{"n":"abc"}}}`, "search_phase_execution_exception", "all shards failed"},
		{"/v/_search", `{"query":{"term":{"bin":"AA=="}}}`, "search_phase_execution_exception", "all shards failed"},
		{"/v/_count", `{"size":1}`, "parsing_exception", "request does not support [size]"},
		{"/nope/_search", ``, "index_not_found_exception", "no such index [nope]"},
	}
	for _, e := range errs {
		r := do(t, s, "POST", e.path, e.body)
		if typ, reason := r.errorOf(); r.status/100 != 4 || typ != e.typ || reason != e.reason {
			t.Errorf("%s %s: %d %s: %s\nwant %s: %s", e.path, e.body, r.status, typ, reason, e.typ, e.reason)
		}
	}
	if r := must(t, s, "GET", "/v*/_count", ""); r.body["count"] != 12.0 {
		t.Errorf("wildcard count: %s", r.raw)
	}
}

func TestProtocolErrors(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v", "")
	cases := []struct {
		method, path, ctype, body string
		status                    int
		raw                       string // the whole body, or "" to check type and reason
		typ, reason               string
	}{
		{"POST", "/v/_bulk", "", "{}\n", 406, `{"error":"Content-Type header is missing","status":406}`, "", ""},
		{"POST", "/v/_bulk", "text/plain", "{}\n", 406, `{"error":"Content-Type header [text/plain] is not supported","status":406}`, "", ""},
		{"GET", "/_bulk", "", "", 405, `{"error":"Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]","status":405}`, "", ""},
		{"GET", "/a/b/c", "", "", 400, `{"error":"no handler found for uri [/a/b/c] and method [GET]"}`, "", ""},
		{"POST", "/v/_bulk?foo=1", "application/x-ndjson", "{}\n", 400, "", "illegal_argument_exception", "request [/v/_bulk] contains unrecognized parameter: [foo]"},
		{"PUT", "/Upper", "", "", 400, "", "invalid_index_name_exception", "Invalid index name [Upper], must be lowercase"},
		{"PUT", "/v", "", "", 400, "", "resource_already_exists_exception", "index [v/ostest0000000000000001] already exists"},
		{"PUT", "/a,b", "", "", 400, "", "invalid_index_name_exception", `Invalid index name [a,b], must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`},
		{"GET", "/nope/_doc/1", "", "", 404, "", "index_not_found_exception", "no such index [nope]"},
		{"DELETE", "/nope", "", "", 404, "", "index_not_found_exception", "no such index [nope]"},
		{"GET", "/v/_mapping", "", "", 400, "", "ostest_not_implemented_exception", "ostest does not implement GET /v/_mapping"},
	}
	for _, c := range cases {
		req := c.method + " " + c.path
		t.Run(req, func(t *testing.T) {
			r := rawDo(t, s, c.method, c.path, c.ctype, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if c.raw != "" {
				if strings.TrimSpace(r.raw) != c.raw {
					t.Fatalf("body %s, want %s", r.raw, c.raw)
				}
				return
			}
			if typ, reason := r.errorOf(); typ != c.typ || reason != c.reason {
				t.Fatalf("%s: %s, want %s: %s", typ, reason, c.typ, c.reason)
			}
		})
	}
	if r := do(t, s, "HEAD", "/v", ""); r.status != 200 || r.raw != "" {
		t.Fatalf("HEAD /v: %d %q", r.status, r.raw)
	}
	if r := do(t, s, "HEAD", "/nope", ""); r.status != 404 || r.raw != "" {
		t.Fatalf("HEAD /nope: %d %q", r.status, r.raw)
	}
}
