package ostest

import (
	"strings"
	"testing"
)

func TestAliasesAtomic(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v1", `{"aliases":{"v":{}}}`)
	must(t, s, "PUT", "/v2", "")
	// One failing action: nothing is applied.
	r := do(t, s, "POST", "/_aliases", `{"actions":[{"add":{"index":"v2","alias":"v"}},{"remove":{"index":"v1","alias":"nope"}}]}`)
	if typ, reason := r.errorOf(); r.status != 404 || typ != "aliases_not_found_exception" || reason != "aliases [nope] missing" {
		t.Fatalf("got %d %s: %s", r.status, typ, reason)
	}
	if got := s.AliasIndices("v"); strings.Join(got, ",") != "v1" {
		t.Fatalf("a failed request changed the alias: %v", got)
	}
	r = do(t, s, "POST", "/_aliases", `{"actions":[{"add":{"index":"missing","alias":"v"}}]}`)
	if typ, reason := r.errorOf(); r.status != 404 || typ != "index_not_found_exception" || reason != "no such index [missing]" {
		t.Fatalf("got %d %s: %s", r.status, typ, reason)
	}
	// The swap.
	must(t, s, "POST", "/_aliases", `{"actions":[{"add":{"index":"v2","alias":"v"}},{"remove":{"index":"v1","alias":"v"}}]}`)
	if got := s.AliasIndices("v"); strings.Join(got, ",") != "v2" {
		t.Fatalf("alias = %v", got)
	}
	// remove_index runs first: an alias can take the name of the index it removes.
	must(t, s, "PUT", "/legacy", "")
	must(t, s, "POST", "/_aliases", `{"actions":[{"add":{"index":"v2","alias":"legacy"}},{"remove_index":{"index":"legacy"}}]}`)
	if got := s.Indices(); strings.Join(got, ",") != "v1,v2" {
		t.Fatalf("indices = %v", got)
	}
	cases := []struct {
		body           string
		status         int
		typ, reason    string
		indicesAfter   string
		aliasAfterOfV1 string
	}{
		{`{"actions":[{"add":{"index":"v1","alias":"v2"}}]}`, 400, "invalid_alias_name_exception", "Invalid alias name [v2], an index exists with the same name as the alias", "v1,v2", ""},
		{`{"actions":[{"add":{"index":"v1","alias":"Upper"}}]}`, 400, "invalid_alias_name_exception", "Invalid alias name [Upper], must be lowercase", "v1,v2", ""},
		{`{"actions":[{"add":{"index":"v1"}}]}`, 400, "action_request_validation_exception", "Validation Failed: 1: One of [alias] or [aliases] is required;", "v1,v2", ""},
		{`{"actions":[]}`, 400, "action_request_validation_exception", "Validation Failed: 1: Must specify at least one alias action;", "v1,v2", ""},
		{`{"actions":[{"remove_index":{"index":"v"}}]}`, 400, "illegal_argument_exception", "The provided expression [v] matches an alias, specify the corresponding concrete indices instead.", "v1,v2", ""},
		{`{"actions":[{"add":{"index":"v1","alias":"f","filter":{"nope":{}}}}]}`, 400, "illegal_argument_exception", "failed to parse filter for alias [f]", "v1,v2", ""},
	}
	for _, c := range cases {
		r := do(t, s, "POST", "/_aliases", c.body)
		if typ, reason := r.errorOf(); r.status != c.status || typ != c.typ || reason != c.reason {
			t.Errorf("%s: %d %s: %s\nwant %d %s: %s", c.body, r.status, typ, reason, c.status, c.typ, c.reason)
		}
	}
}

func TestFilteredAlias(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v1", `{"mappings":{"properties":{"gone":{"type":"boolean"},"n":{"type":"long"}}},
		"aliases":{"v":{"filter":{"bool":{"must_not":{"term":{"gone":true}}}}}}}`)
	must(t, s, "POST", "/v/_bulk?refresh=true", ndjson(
		`{"index":{"_id":"1"}}`, `{"n":1}`,
		`{"index":{"_id":"2"}}`, `{"n":2,"gone":true}`,
		`{"index":{"_id":"3"}}`, `{"n":3,"gone":false}`))
	count := func(path, body string) float64 { return must(t, s, "POST", path, body).body["count"].(float64) }
	if n := count("/v/_count", ""); n != 2 {
		t.Fatalf("count through the filtered alias = %v, want 2", n)
	}
	if n := count("/v1/_count", ""); n != 3 {
		t.Fatalf("count of the index = %v, want 3", n)
	}
	if n := count("/v/_count", `{"query":{"term":{"n":2}}}`); n != 0 {
		t.Fatalf("a query through the alias found a filtered document")
	}
	r := must(t, s, "POST", "/v/_search", `{"query":{"match_all":{}}}`)
	hits := r.body["hits"].(map[string]any)
	if hits["total"].(map[string]any)["value"] != 2.0 || len(hits["hits"].([]any)) != 2 {
		t.Fatalf("search through the alias: %s", r.raw)
	}
	// GET by id through the alias is not filtered, as in OpenSearch.
	if r := must(t, s, "GET", "/v/_doc/2", ""); r.body["found"] != true {
		t.Fatalf("GET through the alias: %s", r.raw)
	}
	got := must(t, s, "GET", "/_alias/v", "")
	if f := got.body["v1"].(map[string]any)["aliases"].(map[string]any)["v"].(map[string]any)["filter"]; f == nil {
		t.Fatalf("GET _alias lost the filter: %s", got.raw)
	}
	missing := do(t, s, "GET", "/_alias/nope", "")
	if missing.status != 404 || missing.raw != `{"error":"alias [nope] missing","status":404}`+"\n" {
		t.Fatalf("missing alias: %d %s", missing.status, missing.raw)
	}
	if r := do(t, s, "HEAD", "/_alias/nope", ""); r.status != 404 || r.raw != "" {
		t.Fatalf("HEAD missing alias: %d %q", r.status, r.raw)
	}
	r = do(t, s, "DELETE", "/v", "")
	if typ, reason := r.errorOf(); typ != "illegal_argument_exception" || reason != "The provided expression [v] matches an alias, specify the corresponding concrete indices instead." {
		t.Fatalf("DELETE through an alias: %s", r.raw)
	}
}
