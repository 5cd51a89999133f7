package ostest

import (
	"net/http"
	"strconv"
)

// query is a parsed query of the subset of the query DSL this server
// implements: match_all, match_none, term, terms, ids, exists and bool.
type query interface {
	match(ix *index, d *doc) (bool, *osError)
}

type (
	matchAll   struct{}
	matchNone  struct{}
	termsQuery struct {
		field  string
		values []*value
	}
	idsQuery    struct{ ids map[string]bool }
	existsQuery struct{ field string }
	boolQuery   struct {
		must, filter, should, mustNot []query
		minShould                     int
	}
)

func parsingError(format string, args ...any) *osError {
	return newError(http.StatusBadRequest, "parsing_exception", format, args...)
}

func parseQuery(v *value) (query, *osError) {
	if v == nil || v.kind != jObj {
		return nil, parsingError("[_na] query malformed, must start with start_object")
	}
	if len(v.obj) != 1 {
		if len(v.obj) == 0 {
			return nil, parsingError("query malformed, empty clause found")
		}
		return nil, parsingError("[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]", v.obj[0].name)
	}
	name, body := v.obj[0].name, v.obj[0].val
	if body.kind != jObj {
		return nil, parsingError("[%s] query malformed, no start_object after query name", name)
	}
	switch name {
	case "match_all", "match_none":
		for _, m := range body.obj {
			if m.name != "boost" && m.name != "_name" {
				return nil, parsingError("[%s] query does not support [%s]", name, m.name)
			}
		}
		if name == "match_none" {
			return matchNone{}, nil
		}
		return matchAll{}, nil
	case "term":
		return parseTerm(body)
	case "terms":
		return parseTerms(body)
	case "ids":
		q := idsQuery{ids: map[string]bool{}}
		for _, m := range body.obj {
			switch {
			case m.name == "values" && m.val.kind == jArr:
				for _, e := range m.val.arr {
					q.ids[e.text()] = true
				}
			case m.name == "boost" || m.name == "_name":
			default:
				return nil, parsingError("[ids] query does not support [%s]", m.name)
			}
		}
		return q, nil
	case "exists":
		f := body.get("field")
		if f == nil || f.kind != jStr || len(body.obj) > 1 && body.get("boost") == nil {
			return nil, parsingError("[exists] must be provided with a [field]")
		}
		return existsQuery{field: f.s}, nil
	case "bool":
		return parseBool(body)
	case "match", "range", "prefix", "wildcard", "regexp", "fuzzy", "query_string", "simple_query_string",
		"nested", "multi_match", "match_phrase", "constant_score", "dis_max", "function_score", "script":
		return nil, notImplemented("the [%s] query", name)
	}
	return nil, parsingError("unknown query [%s]", name).
		causedBy(newError(http.StatusBadRequest, "named_object_not_found_exception", "[1:1] unknown field [%s]", name))
}

func parseTerm(body *value) (query, *osError) {
	if len(body.obj) != 1 {
		return nil, parsingError("[term] query doesn't support multiple fields, found [%s] and [%s]", body.obj[0].name, body.obj[len(body.obj)-1].name)
	}
	field, v := body.obj[0].name, body.obj[0].val
	if v.kind == jObj {
		var val *value
		for _, m := range v.obj {
			switch m.name {
			case "value":
				val = m.val
			case "boost", "_name":
			case "case_insensitive":
				return nil, notImplemented("[term] with [case_insensitive]")
			default:
				return nil, parsingError("[term] query does not support [%s]", m.name)
			}
		}
		if val == nil {
			return nil, parsingError("[term] query malformed, no value specified")
		}
		v = val
	}
	if v.kind == jArr || v.kind == jObj || v.kind == jNull {
		return nil, parsingError("[term] query does not support array of values")
	}
	return termsQuery{field: field, values: []*value{v}}, nil
}

func parseTerms(body *value) (query, *osError) {
	var q *termsQuery
	for _, m := range body.obj {
		switch {
		case m.name == "boost" || m.name == "_name":
		case m.val.kind == jArr:
			if q != nil {
				return nil, parsingError("[terms] query does not support multiple fields")
			}
			q = &termsQuery{field: m.name, values: m.val.arr}
		default:
			return nil, notImplemented("[terms] lookup or non-array form")
		}
	}
	if q == nil {
		return nil, parsingError("[terms] query requires a field with an array of values")
	}
	return *q, nil
}

func parseBool(body *value) (query, *osError) {
	q := boolQuery{minShould: -1}
	for _, m := range body.obj {
		var dst *[]query
		switch m.name {
		case "must":
			dst = &q.must
		case "filter":
			dst = &q.filter
		case "should":
			dst = &q.should
		case "must_not", "mustNot":
			dst = &q.mustNot
		case "minimum_should_match":
			n, err := strconv.Atoi(m.val.text())
			if err != nil {
				return nil, notImplemented("minimum_should_match [%s]", m.val.text())
			}
			q.minShould = n
			continue
		case "boost", "_name", "adjust_pure_negative":
			continue
		default:
			return nil, parsingError("[bool] query does not support [%s]", m.name)
		}
		clauses := []*value{m.val}
		if m.val.kind == jArr {
			clauses = m.val.arr
		}
		for _, c := range clauses {
			sub, err := parseQuery(c)
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, sub)
		}
	}
	if q.minShould < 0 {
		q.minShould = 0
		if len(q.should) > 0 && len(q.must) == 0 && len(q.filter) == 0 {
			q.minShould = 1
		}
	}
	return q, nil
}

func (matchAll) match(*index, *doc) (bool, *osError)  { return true, nil }
func (matchNone) match(*index, *doc) (bool, *osError) { return false, nil }

func (q idsQuery) match(_ *index, d *doc) (bool, *osError) { return q.ids[d.id], nil }

func (q existsQuery) match(ix *index, d *doc) (bool, *osError) {
	m, src := resolveField(ix.mapping, q.field)
	if m == nil {
		return false, nil
	}
	found := false
	walkValues(d.parsed, src, func(v *value) {
		if v.kind != jNull {
			found = true
		}
	})
	return found, nil
}

func (q termsQuery) match(ix *index, d *doc) (bool, *osError) {
	m, src := resolveField(ix.mapping, q.field)
	if m == nil || m.props != nil {
		return false, nil // unmapped fields (and objects) match nothing
	}
	if !m.indexed || m.typ == "binary" {
		return false, newError(http.StatusBadRequest, "query_shard_exception", "failed to create query: Cannot search on field [%s] since it is not indexed.", q.field).
			with("index", ix.name).with("index_uuid", ix.uuid)
	}
	want := map[any]bool{}
	for _, v := range q.values {
		if m.typ == "text" { // term queries are not analyzed
			want[v.text()] = true
			continue
		}
		terms, err := m.terms(v)
		if err != nil {
			return false, newError(http.StatusBadRequest, "query_shard_exception", "failed to create query: %s", err.reason).
				with("index", ix.name).with("index_uuid", ix.uuid).causedBy(err)
		}
		for _, t := range terms {
			want[t] = true
		}
	}
	hit := false
	walkValues(d.parsed, src, func(v *value) {
		if hit {
			return
		}
		terms, _ := m.terms(v) // malformed values (ignore_malformed) index nothing
		for _, t := range terms {
			if want[t] {
				hit = true
			}
		}
	})
	return hit, nil
}

func (q boolQuery) match(ix *index, d *doc) (bool, *osError) {
	for _, c := range append(q.must, q.filter...) {
		if ok, err := c.match(ix, d); err != nil || !ok {
			return false, err
		}
	}
	for _, c := range q.mustNot {
		if ok, err := c.match(ix, d); err != nil || ok {
			return false, err
		}
	}
	n := 0
	for _, c := range q.should {
		ok, err := c.match(ix, d)
		if err != nil {
			return false, err
		}
		if ok {
			n++
		}
	}
	return n >= q.minShould, nil
}

// resolveField finds the mapper of a dotted field path and the path of the
// source values it indexes (a multi-field indexes its parent's values).
func resolveField(root *mapper, path string) (*mapper, []string) {
	cur := root
	var src []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		seg := path[start:i]
		start = i + 1
		switch {
		case cur.props != nil && cur.props[seg] != nil:
			cur = cur.props[seg]
			src = append(src, seg)
		case cur.fields != nil && cur.fields[seg] != nil:
			cur = cur.fields[seg]
		default:
			return nil, nil
		}
	}
	return cur, src
}

// walkValues calls fn for every scalar found at a path of a source,
// flattening arrays as OpenSearch does.
func walkValues(v *value, path []string, fn func(*value)) {
	if v == nil {
		return
	}
	if v.kind == jArr {
		for _, e := range v.arr {
			walkValues(e, path, fn)
		}
		return
	}
	if len(path) == 0 {
		fn(v)
		return
	}
	walkValues(v.get(path[0]), path[1:], fn)
}
