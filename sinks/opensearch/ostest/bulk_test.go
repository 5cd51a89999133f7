package ostest

import (
	"strings"
	"testing"
	"time"
)

func TestBulkRequestValidation(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v", "")
	long := strings.Repeat("i", 513)
	cases := []struct {
		name, path, body, typ, reason string
	}{
		{"not newline-terminated", "/v/_bulk", `{"index":{"_id":"1"}}` + "\n" + `{"a":1}`,
			"illegal_argument_exception", `The bulk request must be terminated by a newline [\n]`},
		{"empty body", "/v/_bulk", "", "parse_exception", "request body is required"},
		{"no actions", "/v/_bulk", "\n\n", "action_request_validation_exception", "Validation Failed: 1: no requests added;"},
		{"unknown action", "/v/_bulk", ndjson(`{"upsert":{"_id":"1"}}`, `{}`),
			"illegal_argument_exception", "Malformed action/metadata line [1], expected one of [create, delete, index, update] but found [upsert]"},
		{"unknown parameter", "/v/_bulk", ndjson(`{"index":{"_id":"1","_version":2}}`, `{}`),
			"illegal_argument_exception", "Action/metadata line [1] contains an unknown parameter [_version]"},
		{"external without a version", "/v/_bulk", ndjson(`{"index":{"_id":"1","version_type":"external"}}`, `{}`),
			"action_request_validation_exception", "Validation Failed: 1: illegal version value [-3] for version type [EXTERNAL];"},
		{"negative external version", "/v/_bulk", ndjson(`{"delete":{"_id":"1","version":-1,"version_type":"external_gte"}}`),
			"action_request_validation_exception", "Validation Failed: 1: illegal version value [-1] for version type [EXTERNAL_GTE];"},
		{"create with external versioning", "/v/_bulk", ndjson(`{"create":{"_id":"1","version":3,"version_type":"external"}}`, `{}`),
			"action_request_validation_exception", "Validation Failed: 1: create operations only support internal versioning. use index instead;"},
		{"internal version", "/v/_bulk", ndjson(`{"index":{"_id":"1","version":3}}`, `{}`),
			"action_request_validation_exception", "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;"},
		{"id too long", "/v/_bulk", ndjson(`{"delete":{"_id":"` + long + `"}}`),
			"action_request_validation_exception", "Validation Failed: 1: id [" + long + "] is too long, must be no longer than 512 bytes but was: 513;"},
		{"no index", "/_bulk", ndjson(`{"index":{"_id":"1"}}`, `{}`),
			"action_request_validation_exception", "Validation Failed: 1: index is missing;"},
		{"every problem at once", "/_bulk", ndjson(`{"index":{"_id":"1"}}`, `{}`, `{"delete":{"_index":"v"}}`),
			"action_request_validation_exception", "Validation Failed: 1: index is missing;2: id is missing;"},
		{"bad version type", "/v/_bulk", ndjson(`{"index":{"_id":"1","version_type":"force"}}`, `{}`),
			"illegal_argument_exception", "No version type match [force]"},
		{"action not an object", "/v/_bulk", ndjson(`["index"]`),
			"illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]"},
		{"array metadata", "/v/_bulk", ndjson(`{"index":{"_id":["1"]}}`, `{}`),
			"illegal_argument_exception", "Malformed action/metadata line [1], expected a simple value for field [_id] but found [START_ARRAY]"},
		{"bad refresh", "/v/_bulk?refresh=always", ndjson(`{"delete":{"_id":"1"}}`),
			"illegal_argument_exception", "Unknown value for refresh: [always]."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, s, "POST", c.path, c.body)
			if typ, reason := r.errorOf(); r.status != 400 || typ != c.typ || reason != c.reason {
				t.Fatalf("got %d %s: %s\nwant 400 %s: %s", r.status, typ, reason, c.typ, c.reason)
			}
			if r.body["status"] != 400.0 {
				t.Fatalf("no status in %s", r.raw)
			}
		})
	}
	if n := s.DocCount("v"); n != 0 {
		t.Fatalf("refused requests wrote %d documents", n)
	}
}

func TestBulkExternalVersioning(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v", "")
	steps := []struct {
		action string
		status int
		result string // or the error reason
	}{
		{`{"index":{"_id":"1","version":5,"version_type":"external"}}`, 201, "created"},
		{`{"index":{"_id":"1","version":3,"version_type":"external"}}`, 409, "[1]: version conflict, current version [5] is higher or equal to the one provided [3]"},
		{`{"index":{"_id":"1","version":5,"version_type":"external"}}`, 409, "[1]: version conflict, current version [5] is higher or equal to the one provided [5]"},
		{`{"index":{"_id":"1","version":5,"version_type":"external_gte"}}`, 200, "updated"},
		{`{"index":{"_id":"1","version":4,"version_type":"external_gte"}}`, 409, "[1]: version conflict, current version [5] is higher than the one provided [4]"},
		{`{"create":{"_id":"1"}}`, 409, "[1]: version conflict, document already exists (current version [5])"},
		{`{"delete":{"_id":"1","version":4,"version_type":"external"}}`, 409, "[1]: version conflict, current version [5] is higher or equal to the one provided [4]"},
		{`{"delete":{"_id":"1","version":9,"version_type":"external"}}`, 200, "deleted"},
		{`{"index":{"_id":"1","version":8,"version_type":"external"}}`, 409, "[1]: version conflict, current version [9] is higher or equal to the one provided [8]"},
		{`{"delete":{"_id":"2","version":10,"version_type":"external"}}`, 404, "not_found"},
		{`{"index":{"_id":"2","version":10,"version_type":"external"}}`, 409, "[2]: version conflict, current version [10] is higher or equal to the one provided [10]"},
		{`{"index":{"_id":"2","version":11,"version_type":"external"}}`, 201, "created"},
		{`{"index":{"_id":"3"}}`, 201, "created"},
		{`{"index":{"_id":"3"}}`, 200, "updated"},
		{`{"create":{"_id":"4"}}`, 201, "created"},
	}
	var lines []string
	for _, st := range steps {
		lines = append(lines, st.action)
		if !strings.HasPrefix(st.action, `{"delete"`) {
			lines = append(lines, `{"n":1}`)
		}
	}
	r := must(t, s, "POST", "/v/_bulk", ndjson(lines...))
	if r.body["errors"] != true {
		t.Fatalf("errors = %v, want true", r.body["errors"])
	}
	for i, st := range steps {
		it := r.item(i)
		got := it["result"]
		if typ, reason := itemError(it); typ != "" {
			got = reason
			if typ != "version_conflict_engine_exception" {
				t.Errorf("step %d: error type %s", i, typ)
			}
			if e := it["error"].(map[string]any); e["index"] != "v" || e["shard"] != "0" || e["index_uuid"] == nil {
				t.Errorf("step %d: error without index, shard and index_uuid: %v", i, e)
			}
		}
		if itemStatus(it) != st.status || got != st.result {
			t.Errorf("step %d %s: %d %v, want %d %s", i, st.action, itemStatus(it), got, st.status, st.result)
		}
	}
	if v := r.item(9)["_version"]; v != 10.0 {
		t.Errorf("a not_found external delete reports _version %v, want 10", v)
	}
	if v := r.item(13)["_version"]; v != 2.0 {
		t.Errorf("internal versioning: _version %v, want 2", v)
	}
	if d, ok := s.Doc("v", "1"); ok {
		t.Errorf("document 1 survived its delete: %+v", d)
	}
}

func TestGCDeletes(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/dflt", "")
	must(t, s, "PUT", "/short", `{"settings":{"index":{"gc_deletes":"5s"}}}`)
	for _, ix := range []string{"dflt", "short"} {
		must(t, s, "POST", "/"+ix+"/_bulk", ndjson(`{"index":{"_id":"1","version":3,"version_type":"external"}}`, `{}`,
			`{"delete":{"_id":"1","version":10,"version_type":"external"}}`))
	}
	older := ndjson(`{"index":{"_id":"1","version":5,"version_type":"external"}}`, `{}`)
	status := func(ix string) int { return itemStatus(must(t, s, "POST", "/"+ix+"/_bulk", older).item(0)) }

	s.Advance(4 * time.Second)
	if st := status("short"); st != 409 {
		t.Fatalf("within gc_deletes (5s): %d, want 409", st)
	}
	s.Advance(2 * time.Second)
	if st := status("short"); st != 201 {
		t.Fatalf("after gc_deletes (5s): %d, want 201: the deleted version is forgotten", st)
	}
	if st := status("dflt"); st != 409 {
		t.Fatalf("default gc_deletes (60s) after 6s: %d, want 409", st)
	}
	s.Advance(55 * time.Second)
	if st := status("dflt"); st != 201 {
		t.Fatalf("default gc_deletes after 61s: %d, want 201", st)
	}
	r := must(t, s, "GET", "/dflt", "")
	if gc := r.body["dflt"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["gc_deletes"]; gc != nil {
		t.Fatalf("GET shows gc_deletes %v for an index that did not set it", gc)
	}
	r = must(t, s, "GET", "/short", "")
	if gc := r.body["short"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)["gc_deletes"]; gc != "5s" {
		t.Fatalf("GET shows gc_deletes %v, want 5s", gc)
	}
}

func TestBulkTargets(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/a1", `{"aliases":{"a":{}}}`)
	must(t, s, "PUT", "/b1", `{"aliases":{"b":{}}}`)
	must(t, s, "PUT", "/b2", `{"aliases":{"b":{}}}`)
	r := must(t, s, "POST", "/_bulk?require_alias=true", ndjson(
		`{"index":{"_index":"a","_id":"1"}}`, `{}`, // through an alias: the concrete index answers
		`{"index":{"_index":"a1","_id":"2"}}`, `{}`, // a concrete index, but an alias is required
		`{"index":{"_index":"b","_id":"3"}}`, `{}`, // two indices, no write index
		`{"index":{"_index":"nope","_id":"4","require_alias":false}}`, `{}`, // created on write
		`{"index":{"_index":"Bad","_id":"5","require_alias":false}}`, `{}`,
		`{"index":{"_index":"a","_id":""}}`, `{}`,
	))
	want := []struct {
		status     int
		typ, index string
		reason     string
	}{
		{201, "", "a1", ""},
		{404, "index_not_found_exception", "a1", "no such index [a1] and [require_alias] request flag is [true] and [a1] is not an alias"},
		{400, "illegal_argument_exception", "b", "no write index is defined for alias [b]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"},
		{201, "", "nope", ""},
		{400, "invalid_index_name_exception", "Bad", "Invalid index name [Bad], must be lowercase"},
		{400, "illegal_argument_exception", "a1", "if _id is specified it must not be empty"},
	}
	for i, w := range want {
		it := r.item(i)
		typ, reason := itemError(it)
		if itemStatus(it) != w.status || typ != w.typ || reason != w.reason || it["_index"] != w.index {
			t.Errorf("item %d: %d %s %q on %v\nwant %d %s %q on %s", i, itemStatus(it), typ, reason, it["_index"], w.status, w.typ, w.reason, w.index)
		}
	}
	if got := s.Indices(); strings.Join(got, ",") != "a1,b1,b2,nope" {
		t.Fatalf("indices = %v", got)
	}
}

func TestSourceKeptByteForByte(t *testing.T) {
	s := NewServer(t)
	src := `{ "b" : 1.50, "a":"x\u00e9" ,"c":[ ] }`
	must(t, s, "POST", "/v/_bulk", ndjson(`{"index":{"_id":"k/1"}}`, src))
	r := must(t, s, "GET", "/v/_doc/k%2F1", "")
	if !strings.Contains(r.raw, `"_source":`+src) {
		t.Fatalf("GET = %s, want the source as sent: %s", r.raw, src)
	}
	if r.body["_version"] != 1.0 || r.body["found"] != true || r.body["_id"] != "k/1" {
		t.Fatalf("GET = %s", r.raw)
	}
	r = do(t, s, "GET", "/v/_doc/missing", "")
	if r.status != 404 || r.body["found"] != false || r.body["_index"] != "v" {
		t.Fatalf("missing doc: %d %s", r.status, r.raw)
	}
}

func TestRefreshVisibility(t *testing.T) {
	s := NewServer(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return t0 })
	must(t, s, "PUT", "/v", "")
	must(t, s, "POST", "/v/_bulk", ndjson(`{"index":{"_id":"1"}}`, `{}`))
	count := func() float64 { return must(t, s, "GET", "/v/_count", "").body["count"].(float64) }
	if n := count(); n != 0 {
		t.Fatalf("a search before any refresh saw %v documents", n)
	}
	if _, ok := s.Doc("v", "1"); !ok {
		t.Fatal("GET by id is realtime")
	}
	s.Advance(time.Second) // refresh_interval
	if n := count(); n != 1 {
		t.Fatalf("after refresh_interval: %v documents", n)
	}
	must(t, s, "POST", "/v/_bulk?refresh=true", ndjson(`{"index":{"_id":"2"}}`, `{}`))
	if n := count(); n != 2 {
		t.Fatalf("after ?refresh=true: %v documents", n)
	}
	must(t, s, "PUT", "/manual", `{"settings":{"refresh_interval":"-1"}}`)
	must(t, s, "POST", "/manual/_bulk", ndjson(`{"index":{"_id":"1"}}`, `{}`))
	s.Advance(time.Hour)
	if n := must(t, s, "GET", "/manual/_count", "").body["count"]; n != 0.0 {
		t.Fatalf("refresh_interval -1 refreshed: %v", n)
	}
	must(t, s, "POST", "/manual/_refresh", "")
	if n := must(t, s, "GET", "/manual/_count", "").body["count"]; n != 1.0 {
		t.Fatalf("after _refresh: %v", n)
	}
}
