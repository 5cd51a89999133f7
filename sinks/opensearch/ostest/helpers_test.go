package ostest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// reply is a decoded response.
type reply struct {
	status int
	raw    string
	body   map[string]any
}

// do sends a request with a JSON body (Content-Type application/json when
// there is a body).
func do(t *testing.T, s *Server, method, path, body string) reply {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return rawDo(t, s, method, path, ctype, body)
}

// rawDo sends a request with a given Content-Type ("" for none).
func rawDo(t *testing.T, s *Server, method, path, ctype, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(b)}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &r.body)
	}
	return r
}

// must sends a request that has to succeed.
func must(t *testing.T, s *Server, method, path, body string) reply {
	t.Helper()
	r := do(t, s, method, path, body)
	if r.status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
	}
	return r
}

// errorOf returns the type and reason of a whole-request error.
func (r reply) errorOf() (typ, reason string) {
	e, _ := r.body["error"].(map[string]any)
	typ, _ = e["type"].(string)
	reason, _ = e["reason"].(string)
	return typ, reason
}

// item returns a _bulk item's response.
func (r reply) item(i int) map[string]any {
	items, _ := r.body["items"].([]any)
	if i >= len(items) {
		return nil
	}
	for _, v := range items[i].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}

func itemStatus(it map[string]any) int { n, _ := it["status"].(float64); return int(n) }

func itemError(it map[string]any) (typ, reason string) {
	e, _ := it["error"].(map[string]any)
	typ, _ = e["type"].(string)
	reason, _ = e["reason"].(string)
	return typ, reason
}

func causeOf(it map[string]any) (typ, reason string) {
	e, _ := it["error"].(map[string]any)
	c, _ := e["caused_by"].(map[string]any)
	typ, _ = c["type"].(string)
	reason, _ = c["reason"].(string)
	return typ, reason
}

// ndjson joins lines into a _bulk body, each newline-terminated.
func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
