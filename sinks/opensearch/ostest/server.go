package ostest

import (
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is an in-process OpenSearch test server. Its clock is injectable
// (Advance, SetClock) so that tests can let index.gc_deletes pass.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string

	t  testing.TB
	hs *httptest.Server

	mu      sync.Mutex
	indices map[string]*index
	clock   func() time.Time
	offset  time.Duration
	uuids   int

	requests atomic.Int64
}

// NewServer starts a server that stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, indices: map[string]*index{}, clock: time.Now}
	s.hs = httptest.NewServer(s)
	s.URL = s.hs.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// Now returns the server's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return s.clock().Add(s.offset) }

// Advance moves the server's clock forward, e.g. past index.gc_deletes.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetClock replaces the server's clock (time.Now by default).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock, s.offset = now, 0
}

// Requests returns how many requests the server answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// StoredDoc is a document as the server stores it.
type StoredDoc struct {
	Index, ID string
	Source    []byte // as sent
	Version   int64
	SeqNo     int64
}

// Indices returns the names of the concrete indices, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.indices)
}

// AliasIndices returns the sorted indices an alias points to.
func (s *Server) AliasIndices(alias string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ix := range s.aliasTargets(alias) {
		out = append(out, ix.name)
	}
	sort.Strings(out)
	return out
}

// Doc returns a live document (realtime, as GET by id sees it) of an index
// or of the one index an alias points to.
func (s *Server) Doc(indexOrAlias, id string) (StoredDoc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[indexOrAlias]
	if ix == nil {
		if t := s.aliasTargets(indexOrAlias); len(t) == 1 {
			ix = t[0]
		}
	}
	if ix == nil {
		return StoredDoc{}, false
	}
	d, ok := ix.docs[id]
	if !ok {
		return StoredDoc{}, false
	}
	return StoredDoc{Index: ix.name, ID: id, Source: d.source, Version: d.version, SeqNo: d.seqNo}, true
}

// DocCount returns the number of live documents of a concrete index.
func (s *Server) DocCount(indexName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.indices[indexName]; ix != nil {
		return len(ix.docs)
	}
	return 0
}

func (s *Server) newUUID() string {
	s.uuids++
	return fmt.Sprintf("ostest%016x", s.uuids)
}

// aliasTargets returns the indices that hold an alias.
func (s *Server) aliasTargets(alias string) []*index {
	var out []*index
	for _, name := range sortedKeys(s.indices) {
		if _, ok := s.indices[name].aliases[alias]; ok {
			out = append(out, s.indices[name])
		}
	}
	return out
}

// request is a parsed HTTP request.
type request struct {
	method string
	path   string   // as sent
	segs   []string // unescaped path segments
	vars   map[string]string
	params url.Values
	body   []byte
}

func (r *request) param(name string) (string, bool) {
	v, ok := r.params[name]
	if !ok || len(v) == 0 {
		return "", ok
	}
	return v[len(v)-1], true
}

// boolParam reads a boolean query parameter ("" and "true" are true).
func (r *request) boolParam(name string) (bool, *osError) {
	v, ok := r.param(name)
	switch {
	case !ok:
		return false, nil
	case v == "" || v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	return false, illegalArgument("Failed to parse value [%s] as only [true] or [false] are allowed.", v)
}

// result is a handler's answer: a JSON body, or an OpenSearch error.
type result struct {
	status int
	body   any
}

type handler func(s *Server, r *request) (result, *osError)

type route struct {
	pattern []string // literal segments, or "{name}"
	methods map[string]handler
	params  []string // query parameters the route recognises
}

var commonParams = []string{"pretty", "human", "error_trace"}

// Query parameters OpenSearch knows but this server does not implement.
var unimplementedQueryParams = map[string]bool{"filter_path": true, "pipeline": true, "routing": true,
	"_source": true, "_source_includes": true, "_source_excludes": true, "q": true, "sort": true,
	"ignore_unavailable": true, "allow_no_indices": true, "expand_wildcards": true, "rest_total_hits_as_int": true,
	"stored_fields": true, "preference": true, "version": true, "version_type": true, "if_seq_no": true,
	"if_primary_term": true, "local": true, "flat_settings": true, "include_defaults": true, "h": true, "s": true,
	"bytes": true, "scroll": true, "search_type": true, "request_cache": true}

var routes []route

func init() {
	timeouts := []string{"timeout", "master_timeout", "cluster_manager_timeout"}
	routes = []route{
		{nil, map[string]handler{"GET": (*Server).info, "HEAD": (*Server).info}, nil},
		{[]string{"_bulk"}, map[string]handler{"POST": (*Server).bulk, "PUT": (*Server).bulk}, bulkParams},
		{[]string{"_aliases"}, map[string]handler{"POST": (*Server).updateAliases}, timeouts},
		{[]string{"_alias"}, map[string]handler{"GET": (*Server).getAlias}, nil},
		{[]string{"_alias", "{name}"}, map[string]handler{"GET": (*Server).getAlias, "HEAD": (*Server).getAlias}, nil},
		{[]string{"_refresh"}, map[string]handler{"POST": (*Server).refreshIndices, "GET": (*Server).refreshIndices}, nil},
		{[]string{"_search"}, map[string]handler{"GET": (*Server).search, "POST": (*Server).search}, searchParams},
		{[]string{"_count"}, map[string]handler{"GET": (*Server).count, "POST": (*Server).count}, nil},
		{[]string{"_cat", "indices"}, map[string]handler{"GET": (*Server).catIndices}, []string{"format", "v"}},
		{[]string{"_cat", "indices", "{index}"}, map[string]handler{"GET": (*Server).catIndices}, []string{"format", "v"}},
		{[]string{"{index}"}, map[string]handler{"PUT": (*Server).createIndex, "DELETE": (*Server).deleteIndex,
			"HEAD": (*Server).indexExists, "GET": (*Server).getIndex}, append([]string{"wait_for_active_shards"}, timeouts...)},
		{[]string{"{index}", "_bulk"}, map[string]handler{"POST": (*Server).bulk, "PUT": (*Server).bulk}, bulkParams},
		{[]string{"{index}", "_doc", "{id}"}, map[string]handler{"GET": (*Server).getDoc, "HEAD": (*Server).getDoc}, []string{"realtime", "refresh"}},
		{[]string{"{index}", "_search"}, map[string]handler{"GET": (*Server).search, "POST": (*Server).search}, searchParams},
		{[]string{"{index}", "_count"}, map[string]handler{"GET": (*Server).count, "POST": (*Server).count}, nil},
		{[]string{"{index}", "_refresh"}, map[string]handler{"POST": (*Server).refreshIndices, "GET": (*Server).refreshIndices}, nil},
		{[]string{"{index}", "_alias"}, map[string]handler{"GET": (*Server).getAlias}, nil},
		{[]string{"{index}", "_alias", "{name}"}, map[string]handler{"GET": (*Server).getAlias, "HEAD": (*Server).getAlias}, nil},
		{[]string{"{index}", "_settings"}, map[string]handler{"PUT": (*Server).putSettings}, timeouts},
	}
}

func (rt route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(rt.pattern) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range rt.pattern {
		if strings.HasPrefix(p, "{") {
			vars[strings.Trim(p, "{}")] = segs[i]
		} else if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	s.requests.Add(1)
	var in io.Reader = hr.Body
	switch enc := hr.Header.Get("Content-Encoding"); enc {
	case "":
	case "gzip": // http.compression: OpenSearch accepts gzipped request bodies
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			writeError(w, illegalArgument("reading the gzipped request body: %v", err))
			return
		}
		in = zr
	default:
		writeError(w, notImplemented("the Content-Encoding [%s]", enc))
		return
	}
	body, err := io.ReadAll(in)
	if err != nil {
		writeError(w, illegalArgument("reading the request body: %v", err))
		return
	}
	r := &request{method: hr.Method, path: hr.URL.EscapedPath(), params: hr.URL.Query(), body: body}
	for _, seg := range strings.Split(strings.Trim(r.path, "/"), "/") {
		if seg == "" {
			continue
		}
		u, err := url.PathUnescape(seg)
		if err != nil {
			writeError(w, illegalArgument("unable to decode the path segment [%s]", seg))
			return
		}
		r.segs = append(r.segs, u)
	}
	if len(body) > 0 {
		if status, msg := checkContentType(hr.Header.Get("Content-Type")); status != 0 {
			writeStringError(w, status, msg)
			return
		}
	}

	s.mu.Lock()
	res, oerr := s.dispatch(r)
	s.mu.Unlock()

	switch {
	case oerr != nil && oerr.status == http.StatusMethodNotAllowed:
		writeStringError(w, oerr.status, oerr.reason)
	case oerr != nil && oerr.typ == "":
		writeJSON(w, oerr.status, map[string]any{"error": oerr.reason})
	case oerr != nil:
		if oerr.typ == "ostest_not_implemented_exception" {
			s.t.Logf("ostest: %s %s: %s", r.method, r.path, oerr.reason)
		}
		if r.method == http.MethodHead {
			w.WriteHeader(oerr.status)
			return
		}
		writeError(w, oerr)
	case r.method == http.MethodHead:
		w.WriteHeader(res.status)
	default:
		writeJSON(w, res.status, res.body)
	}
}

func checkContentType(ct string) (int, string) {
	if ct == "" {
		return http.StatusNotAcceptable, "Content-Type header is missing"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return http.StatusNotAcceptable, "Content-Type header [" + ct + "] is not supported"
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/vnd.opensearch+json", "application/vnd.opensearch+x-ndjson":
		return 0, ""
	}
	return http.StatusNotAcceptable, "Content-Type header [" + ct + "] is not supported"
}

func (s *Server) dispatch(r *request) (result, *osError) {
	for _, rt := range routes {
		vars, ok := rt.match(r.segs)
		if !ok {
			continue
		}
		h, ok := rt.methods[r.method]
		if !ok {
			allowed := sortedKeys(rt.methods)
			return result{}, &osError{status: http.StatusMethodNotAllowed, reason: fmt.Sprintf(
				"Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]", r.path, r.method, strings.Join(allowed, ", "))}
		}
		if err := checkParams(r, rt.params); err != nil {
			return result{}, err
		}
		r.vars = vars
		return h(s, r)
	}
	for _, seg := range r.segs {
		if strings.HasPrefix(seg, "_") {
			return result{}, notImplemented("%s %s", r.method, r.path)
		}
	}
	return result{}, &osError{status: http.StatusBadRequest,
		reason: fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.path, r.method)}
}

func checkParams(r *request, allowed []string) *osError {
	var unknown []string
	for _, name := range sortedKeys(r.params) {
		if contains(allowed, name) || contains(commonParams, name) {
			continue
		}
		if unimplementedQueryParams[name] {
			return notImplemented("the query parameter [%s] on %s %s", name, r.method, r.path)
		}
		unknown = append(unknown, "["+name+"]")
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return illegalArgument("request [%s] contains unrecognized parameter: %s", r.path, unknown[0])
	}
	return illegalArgument("request [%s] contains unrecognized parameters: %s", r.path, strings.Join(unknown, ", "))
}

// jsonBody parses a request's JSON body (nil when empty).
func jsonBody(r *request) (*value, *osError) {
	if len(strings.TrimSpace(string(r.body))) == 0 {
		return nil, nil
	}
	v, err := parseJSON(r.body)
	if err != nil {
		return nil, newError(http.StatusBadRequest, "json_parse_exception", "%s", err.Error())
	}
	return v, nil
}

func (s *Server) info(_ *request) (result, *osError) {
	return result{http.StatusOK, map[string]any{
		"name": "ostest", "cluster_name": "ostest", "cluster_uuid": "ostest-cluster",
		"version": map[string]any{"distribution": "opensearch", "number": "2.19.0", "build_type": "ostest",
			"lucene_version": "9.12.1", "minimum_wire_compatibility_version": "7.10.0",
			"minimum_index_compatibility_version": "7.0.0"},
		"tagline": "The OpenSearch Project: https://opensearch.org/",
	}}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
