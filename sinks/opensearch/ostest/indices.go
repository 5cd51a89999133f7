package ostest

import (
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// target is an index a read request reaches, with the filters of the
// aliases it was reached through (none when reached by name).
type target struct {
	ix      *index
	filters []query // OR-ed; nil filters with unfiltered set means all documents
	all     bool    // reached by name or through an unfiltered alias
}

// resolve resolves a comma-separated expression of index names, aliases
// and wildcards ("_all", "*", "view-*") for a read request.
func (s *Server) resolve(expr string) ([]*target, *osError) {
	byName := map[string]*target{}
	add := func(ix *index, f query) {
		t := byName[ix.name]
		if t == nil {
			t = &target{ix: ix}
			byName[ix.name] = t
		}
		if f == nil {
			t.all = true
		} else {
			t.filters = append(t.filters, f)
		}
	}
	for _, part := range strings.Split(expr, ",") {
		switch {
		case part == "_all" || part == "*" || part == "":
			for _, ix := range s.indices {
				add(ix, nil)
			}
		case strings.Contains(part, "*"):
			for name, ix := range s.indices {
				if ok, _ := path.Match(part, name); ok {
					add(ix, nil)
				}
				for alias, a := range ix.aliases {
					if ok, _ := path.Match(part, alias); ok {
						add(ix, a.query)
					}
				}
			}
		case s.indices[part] != nil:
			add(s.indices[part], nil)
		default:
			targets := s.aliasTargets(part)
			if len(targets) == 0 {
				return nil, indexNotFound(part)
			}
			for _, ix := range targets {
				add(ix, ix.aliases[part].query)
			}
		}
	}
	out := make([]*target, 0, len(byName))
	for _, name := range sortedKeys(byName) {
		out = append(out, byName[name])
	}
	return out, nil
}

// concrete resolves an expression of concrete index names and wildcards,
// refusing aliases (for deletes).
func (s *Server) concrete(expr string) ([]*index, *osError) {
	seen := map[string]bool{}
	var out []*index
	for _, part := range strings.Split(expr, ",") {
		switch {
		case part == "_all" || strings.Contains(part, "*"):
			for _, name := range sortedKeys(s.indices) {
				if ok, _ := path.Match(part, name); (ok || part == "_all") && !seen[name] {
					seen[name] = true
					out = append(out, s.indices[name])
				}
			}
		case s.indices[part] != nil:
			if !seen[part] {
				seen[part] = true
				out = append(out, s.indices[part])
			}
		case len(s.aliasTargets(part)) > 0:
			return nil, illegalArgument("The provided expression [%s] matches an alias, specify the corresponding concrete indices instead.", part)
		default:
			return nil, indexNotFound(part)
		}
	}
	return out, nil
}

func (s *Server) createIndex(r *request) (result, *osError) {
	name := r.vars["index"]
	if err := validateName(name, invalidIndexName(name)); err != nil {
		return result{}, err
	}
	if ix := s.indices[name]; ix != nil {
		return result{}, newError(http.StatusBadRequest, "resource_already_exists_exception", "index [%s/%s] already exists", name, ix.uuid).
			with("index", name).with("index_uuid", ix.uuid)
	}
	if len(s.aliasTargets(name)) > 0 {
		return result{}, invalidIndexName(name)("already exists as alias")
	}
	body, err := jsonBody(r)
	if err != nil {
		return result{}, err
	}
	ix := newIndex(name, s.newUUID(), s.now())
	if body != nil {
		if body.kind != jObj {
			return result{}, newError(http.StatusBadRequest, "parse_exception", "Failed to derive xcontent")
		}
		for _, m := range body.obj {
			switch m.name {
			case "settings":
				flat, err := flattenSettings(m.val)
				if err != nil {
					return result{}, err
				}
				if err := ix.settings.apply(flat, false, name, ix.uuid); err != nil {
					return result{}, err
				}
			case "mappings":
				root, opts, err := parseMappings(m.val)
				if err != nil {
					return result{}, err
				}
				ix.mapping, ix.dateDetection = root, opts.dateDetection
			case "aliases":
				if m.val.kind != jObj {
					return result{}, newError(http.StatusBadRequest, "parse_exception", "key [aliases] must be an object")
				}
				for _, a := range m.val.obj {
					if a.name == name {
						return result{}, invalidAliasName(a.name)("an index or data stream exists with the same name as the alias")
					}
					meta, err := s.parseAliasMeta(a.name, a.val)
					if err != nil {
						return result{}, err
					}
					ix.aliases[a.name] = meta
				}
			default:
				return result{}, newError(http.StatusBadRequest, "parse_exception", "unknown key [%s] for create index", m.name)
			}
		}
	}
	s.indices[name] = ix
	return result{http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name}}, nil
}

func (s *Server) deleteIndex(r *request) (result, *osError) {
	ixs, err := s.concrete(r.vars["index"])
	if err != nil {
		return result{}, err
	}
	for _, ix := range ixs {
		delete(s.indices, ix.name)
	}
	return result{http.StatusOK, map[string]any{"acknowledged": true}}, nil
}

func (s *Server) indexExists(r *request) (result, *osError) {
	if _, err := s.resolve(r.vars["index"]); err != nil {
		return result{}, err
	}
	return result{status: http.StatusOK}, nil
}

func (s *Server) getIndex(r *request) (result, *osError) {
	targets, err := s.resolve(r.vars["index"])
	if err != nil {
		return result{}, err
	}
	out := map[string]any{}
	for _, t := range targets {
		out[t.ix.name] = t.ix.render()
	}
	return result{http.StatusOK, out}, nil
}

func (s *Server) putSettings(r *request) (result, *osError) {
	ixs, err := s.concreteOrAliased(r.vars["index"])
	if err != nil {
		return result{}, err
	}
	body, err := jsonBody(r)
	if err != nil {
		return result{}, err
	}
	if body == nil {
		return result{}, validationFailed([]string{"no settings to update"})
	}
	if s := body.get("settings"); s != nil {
		body = s
	}
	flat, err := flattenSettings(body)
	if err != nil {
		return result{}, err
	}
	for _, ix := range ixs { // validate on copies, then apply: all or nothing
		cp := ix.settings
		cp.given = map[string]string{}
		if err := cp.apply(flat, true, ix.name, ix.uuid); err != nil {
			return result{}, err
		}
	}
	for _, ix := range ixs {
		_ = ix.settings.apply(flat, true, ix.name, ix.uuid)
	}
	return result{http.StatusOK, map[string]any{"acknowledged": true}}, nil
}

// concreteOrAliased resolves names and aliases to their indices, without
// alias filters (for settings and refresh).
func (s *Server) concreteOrAliased(expr string) ([]*index, *osError) {
	targets, err := s.resolve(expr)
	if err != nil {
		return nil, err
	}
	out := make([]*index, len(targets))
	for i, t := range targets {
		out[i] = t.ix
	}
	return out, nil
}

func (s *Server) refreshIndices(r *request) (result, *osError) {
	expr := r.vars["index"]
	ixs, err := s.concreteOrAliased(expr)
	if err != nil {
		return result{}, err
	}
	now := s.now()
	total := 0
	for _, ix := range ixs {
		ix.refresh(now)
		total += ix.settings.shards
	}
	return result{http.StatusOK, map[string]any{"_shards": map[string]any{"total": total * 2, "successful": total, "failed": 0}}}, nil
}

func (s *Server) getDoc(r *request) (result, *osError) {
	name, id := r.vars["index"], r.vars["id"]
	if targets := s.aliasTargets(name); len(targets) > 1 && s.indices[name] == nil {
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = t.name
		}
		return result{}, illegalArgument("alias [%s] has more than one index associated with it [%s], can't execute a single index op",
			name, strings.Join(names, ", "))
	}
	ix, err := s.writeIndex(name, false)
	if err != nil {
		return result{}, err
	}
	if ok, err := r.boolParam("refresh"); err != nil {
		return result{}, err
	} else if ok {
		ix.refresh(s.now())
	}
	docs := ix.docs
	if rt, ok := r.param("realtime"); ok && rt == "false" {
		docs = ix.searchable
	}
	d, ok := docs[id]
	if !ok {
		return result{http.StatusNotFound, map[string]any{"_index": ix.name, "_id": id, "found": false}}, nil
	}
	return result{http.StatusOK, withRawField(map[string]any{"_index": ix.name, "_id": id, "_version": d.version,
		"_seq_no": d.seqNo, "_primary_term": 1, "found": true}, "_source", d.source)}, nil
}

// writeIndex resolves a name for a single-index operation (a write or a
// GET by id): a concrete index, or an alias with one index or a write index.
func (s *Server) writeIndex(name string, requireAlias bool) (*index, *osError) {
	if ix := s.indices[name]; ix != nil {
		if requireAlias {
			return nil, indexNotFound(name).withReason("no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias", name, name)
		}
		return ix, nil
	}
	targets := s.aliasTargets(name)
	switch {
	case len(targets) == 0:
		if requireAlias {
			return nil, indexNotFound(name).withReason("no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias", name, name)
		}
		return nil, indexNotFound(name)
	case len(targets) == 1 && (targets[0].aliases[name].isWriteIndex == nil || *targets[0].aliases[name].isWriteIndex):
		return targets[0], nil
	}
	for _, ix := range targets {
		if w := ix.aliases[name].isWriteIndex; w != nil && *w {
			return ix, nil
		}
	}
	return nil, illegalArgument("no write index is defined for alias [%s]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index", name)
}

func (e *osError) withReason(format string, args ...any) *osError {
	cp := *e
	cp.reason = fmt.Sprintf(format, args...)
	return &cp
}

func (s *Server) catIndices(r *request) (result, *osError) {
	expr := r.vars["index"]
	if expr == "" {
		expr = "_all"
	}
	targets, err := s.resolve(expr)
	if err != nil {
		return result{}, err
	}
	var rows []map[string]any
	for _, t := range targets {
		ix := t.ix
		rows = append(rows, map[string]any{
			"health": "yellow", "status": "open", "index": ix.name, "uuid": ix.uuid,
			"pri": strconv.Itoa(ix.settings.shards), "rep": strconv.Itoa(ix.settings.replicas),
			"docs.count": strconv.Itoa(len(ix.searchable)), "docs.deleted": "0",
			"store.size": "0b", "pri.store.size": "0b",
		})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i]["index"].(string) < rows[j]["index"].(string) })
	if f, _ := r.param("format"); f == "json" {
		if rows == nil {
			rows = []map[string]any{}
		}
		return result{http.StatusOK, rows}, nil
	} else if f != "" {
		return result{}, notImplemented("_cat format [%s]", f)
	}
	return result{}, notImplemented("_cat/indices in text form (use format=json)")
}
