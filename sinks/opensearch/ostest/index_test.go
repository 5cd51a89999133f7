package ostest

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"
	"time"
)

func TestUpdateSettings(t *testing.T) {
	s := NewServer(t)
	must(t, s, "PUT", "/v", `{"settings":{"number_of_shards":2}}`)
	must(t, s, "PUT", "/v/_settings", `{"index":{"gc_deletes":"2s","number_of_replicas":0}}`)
	idx := must(t, s, "GET", "/v", "").body["v"].(map[string]any)["settings"].(map[string]any)["index"].(map[string]any)
	if idx["gc_deletes"] != "2s" || idx["number_of_replicas"] != "0" || idx["number_of_shards"] != "2" {
		t.Fatalf("settings = %v", idx)
	}
	r := do(t, s, "PUT", "/v/_settings", `{"index.number_of_shards":3}`)
	if typ, reason := r.errorOf(); typ != "illegal_argument_exception" || reason != "Can't update non dynamic settings [[index.number_of_shards]] for open indices [[v/ostest0000000000000001]]" {
		t.Fatalf("static setting: %s", r.raw)
	}
	// gc_deletes applies at once.
	must(t, s, "POST", "/v/_bulk", ndjson(`{"delete":{"_id":"1","version":5,"version_type":"external"}}`))
	s.Advance(3 * time.Second)
	r = must(t, s, "POST", "/v/_bulk", ndjson(`{"index":{"_id":"1","version":1,"version_type":"external"}}`, `{}`))
	if itemStatus(r.item(0)) != 201 {
		t.Fatalf("after the updated gc_deletes: %s", r.raw)
	}
}

func TestGzippedBody(t *testing.T) {
	s := NewServer(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(ndjson(`{"index":{"_id":"1"}}`, `{"a":1}`)))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/v/_bulk", &buf)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := s.Doc("v", "1"); resp.StatusCode != 200 || !ok {
		t.Fatalf("gzipped bulk: %d, stored %v", resp.StatusCode, ok)
	}
}
