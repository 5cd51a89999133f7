package ostest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

var searchParams = []string{"size", "from", "track_total_hits"}

// Search body keys OpenSearch knows but this server does not implement.
var unimplementedSearchKeys = map[string]bool{"sort": true, "aggs": true, "aggregations": true, "_source": true,
	"highlight": true, "search_after": true, "post_filter": true, "fields": true, "docvalue_fields": true,
	"stored_fields": true, "min_score": true, "timeout": true, "terminate_after": true, "version": true,
	"seq_no_primary_term": true, "explain": true, "collapse": true, "suggest": true, "script_fields": true,
	"indices_boost": true, "profile": true, "rescore": true, "pit": true, "slice": true, "stats": true,
	"track_scores": true, "ext": true}

// searchRequest is a parsed search or count request.
type searchRequest struct {
	q         query
	from      int
	size      int
	trackHits int // -1: exact; 0: not tracked
}

func (s *Server) parseSearch(r *request, count bool) (searchRequest, *osError) {
	sr := searchRequest{q: matchAll{}, size: 10, trackHits: 10000}
	body, err := jsonBody(r)
	if err != nil {
		return sr, err
	}
	if body != nil {
		if body.kind != jObj {
			return sr, parsingError("Expected [START_OBJECT] but found [%s]", body.kind.tokenName())
		}
		for _, m := range body.obj {
			switch {
			case m.name == "query":
				if sr.q, err = parseQuery(m.val); err != nil {
					return sr, err
				}
			case count:
				return sr, parsingError("request does not support [%s]", m.name)
			case m.name == "size" || m.name == "from":
				n, e := strconv.Atoi(m.val.text())
				if e != nil || m.val.kind != jNum && m.val.kind != jStr {
					return sr, parsingError("[%s] must be a number", m.name)
				}
				if m.name == "size" {
					sr.size = n
				} else {
					sr.from = n
				}
			case m.name == "track_total_hits":
				if sr.trackHits, err = trackHits(m.val.text()); err != nil {
					return sr, err
				}
			case unimplementedSearchKeys[m.name]:
				return sr, notImplemented("the search key [%s]", m.name)
			default:
				return sr, parsingError("Unknown key for a %s in [%s].", m.val.kind.tokenName(), m.name)
			}
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"size", &sr.size}, {"from", &sr.from}} {
		if v, ok := r.param(p.name); ok {
			n, e := strconv.Atoi(v)
			if e != nil {
				return sr, illegalArgument("Failed to parse int parameter [%s] with value [%s]", p.name, v)
			}
			*p.dst = n
		}
	}
	if v, ok := r.param("track_total_hits"); ok {
		if sr.trackHits, err = trackHits(v); err != nil {
			return sr, err
		}
	}
	if sr.size < 0 {
		return sr, illegalArgument("[size] parameter cannot be negative, found [%d]", sr.size)
	}
	if sr.from < 0 {
		return sr, illegalArgument("[from] parameter cannot be negative, found [%d]", sr.from)
	}
	return sr, nil
}

func trackHits(v string) (int, *osError) {
	switch v {
	case "true":
		return -1, nil
	case "false":
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < -1 {
		return 0, illegalArgument("Failed to parse value [%s] for [track_total_hits]", v)
	}
	return n, nil
}

// hits runs a search over its targets and returns the matching documents
// in a stable order (index name, then document id).
func (s *Server) hits(r *request, sr searchRequest) ([]*target, []hit, *osError) {
	expr := r.vars["index"]
	if expr == "" {
		expr = "_all"
	}
	targets, err := s.resolve(expr)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	var out []hit
	for _, t := range targets {
		if sr.from+sr.size > t.ix.settings.maxResultWindow {
			return nil, nil, illegalArgument("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.",
				t.ix.settings.maxResultWindow, sr.from+sr.size)
		}
		t.ix.refreshIfDue(now)
		for _, id := range sortedKeys(t.ix.searchable) {
			d := t.ix.searchable[id]
			ok, err := t.visible(d)
			if err == nil && ok {
				ok, err = sr.q.match(t.ix, d)
			}
			if err != nil {
				return nil, nil, newError(http.StatusBadRequest, "search_phase_execution_exception", "all shards failed").
					with("phase", "query").with("grouped", true).causedBy(err)
			}
			if ok {
				out = append(out, hit{t.ix, d})
			}
		}
	}
	return targets, out, nil
}

type hit struct {
	ix *index
	d  *doc
}

// visible reports whether a document passes the filters of the aliases
// the search reached the index through.
func (t *target) visible(d *doc) (bool, *osError) {
	if t.all {
		return true, nil
	}
	for _, f := range t.filters {
		ok, err := f.match(t.ix, d)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func shardsBody(targets []*target) map[string]any {
	n := 0
	for _, t := range targets {
		n += t.ix.settings.shards
	}
	return map[string]any{"total": n, "successful": n, "skipped": 0, "failed": 0}
}

func (s *Server) search(r *request) (result, *osError) {
	sr, err := s.parseSearch(r, false)
	if err != nil {
		return result{}, err
	}
	targets, hits, err := s.hits(r, sr)
	if err != nil {
		return result{}, err
	}
	page := []hit{}
	if sr.from < len(hits) {
		page = hits[sr.from:min(len(hits), sr.from+sr.size)]
	}
	var arr bytes.Buffer
	arr.WriteByte('[')
	for i, h := range page {
		if i > 0 {
			arr.WriteByte(',')
		}
		arr.Write(withRawField(map[string]any{"_index": h.ix.name, "_id": h.d.id, "_score": 1.0}, "_source", h.d.source))
	}
	arr.WriteByte(']')
	const placeholder = "\u0000ostest-hits\u0000"
	hitsObj := map[string]any{"max_score": nil, "hits": placeholder}
	if len(page) > 0 {
		hitsObj["max_score"] = 1.0
	}
	switch n := len(hits); {
	case sr.trackHits == 0:
	case sr.trackHits > 0 && n > sr.trackHits:
		hitsObj["total"] = map[string]any{"value": sr.trackHits, "relation": "gte"}
	default:
		hitsObj["total"] = map[string]any{"value": n, "relation": "eq"}
	}
	body, _ := json.Marshal(map[string]any{"took": 0, "timed_out": false, "_shards": shardsBody(targets), "hits": hitsObj})
	quoted, _ := json.Marshal(placeholder)
	return result{http.StatusOK, preencoded(bytes.Replace(body, quoted, arr.Bytes(), 1))}, nil
}

func (s *Server) count(r *request) (result, *osError) {
	sr, err := s.parseSearch(r, true)
	if err != nil {
		return result{}, err
	}
	sr.size = 0
	targets, hits, err := s.hits(r, sr)
	if err != nil {
		return result{}, err
	}
	return result{http.StatusOK, map[string]any{"count": len(hits), "_shards": shardsBody(targets)}}, nil
}
