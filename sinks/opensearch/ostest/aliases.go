package ostest

import (
	"net/http"
	"path"
	"strings"
)

// parseAliasMeta parses an alias definition ({"filter": ..., "is_write_index": ...}).
func (s *Server) parseAliasMeta(name string, v *value) (*aliasMeta, *osError) {
	if err := validateName(name, invalidAliasName(name)); err != nil {
		return nil, err
	}
	meta := &aliasMeta{}
	if v == nil || v.kind == jNull {
		return meta, nil
	}
	if v.kind != jObj {
		return nil, newError(http.StatusBadRequest, "parse_exception", "alias [%s] must be an object", name)
	}
	for _, m := range v.obj {
		if err := meta.set(name, m); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

func (a *aliasMeta) set(alias string, m member) *osError {
	switch m.name {
	case "filter":
		q, err := parseQuery(m.val)
		if err != nil {
			return illegalArgument("failed to parse filter for alias [%s]", alias).causedBy(err)
		}
		a.filter, a.query = m.val, q
	case "is_write_index":
		b, ok := boolParam(m.val)
		if !ok {
			return illegalArgument("Failed to parse value [%s] as only [true] or [false] are allowed.", m.val.preview())
		}
		a.isWriteIndex = &b
	case "routing", "index_routing", "search_routing", "is_hidden":
		return notImplemented("the alias parameter [%s]", m.name)
	default:
		return newError(http.StatusBadRequest, "x_content_parse_exception", "[alias] unknown field [%s]", m.name)
	}
	return nil
}

// aliasAction is one action of POST /_aliases.
type aliasAction struct {
	kind      string // add, remove, remove_index
	indices   []string
	aliases   []string
	mustExist *bool
	meta      *aliasMeta
}

func (s *Server) updateAliases(r *request) (result, *osError) {
	body, err := jsonBody(r)
	if err != nil {
		return result{}, err
	}
	acts := body.get("actions")
	if acts == nil || acts.kind == jArr && len(acts.arr) == 0 {
		return result{}, validationFailed([]string{"Must specify at least one alias action"})
	}
	if body.kind != jObj || len(body.obj) != 1 || acts.kind != jArr {
		return result{}, newError(http.StatusBadRequest, "parse_exception", "[aliases] expects a single field [actions] holding an array")
	}
	var actions []aliasAction
	var problems []string
	for _, av := range acts.arr {
		a, err := parseAliasAction(av)
		if err != nil {
			return result{}, err
		}
		if len(a.indices) == 0 {
			problems = append(problems, "One of [index] or [indices] is required")
		}
		if a.kind != "remove_index" && len(a.aliases) == 0 {
			problems = append(problems, "One of [alias] or [aliases] is required")
		}
		actions = append(actions, a)
	}
	if len(problems) > 0 {
		return result{}, validationFailed(problems)
	}

	// Apply to copies; install only when every action succeeded: the
	// request is atomic. remove_index actions go first, as in OpenSearch.
	pending := map[string]map[string]*aliasMeta{}
	for name, ix := range s.indices {
		cp := make(map[string]*aliasMeta, len(ix.aliases))
		for k, v := range ix.aliases {
			cp[k] = v
		}
		pending[name] = cp
	}
	removed := map[string]bool{}
	for _, a := range actions {
		if a.kind != "remove_index" {
			continue
		}
		for _, expr := range a.indices {
			ixs, err := s.concrete(expr)
			if err != nil {
				return result{}, err
			}
			for _, ix := range ixs {
				removed[ix.name] = true
				delete(pending, ix.name)
			}
		}
	}
	for _, a := range actions {
		if a.kind == "remove_index" {
			continue
		}
		names, err := s.actionIndices(a.indices, removed)
		if err != nil {
			return result{}, err
		}
		switch a.kind {
		case "add":
			for _, alias := range a.aliases {
				if err := validateName(alias, invalidAliasName(alias)); err != nil {
					return result{}, err
				}
				if s.indices[alias] != nil && !removed[alias] {
					return result{}, invalidAliasName(alias)("an index exists with the same name as the alias")
				}
				for _, name := range names {
					pending[name][alias] = a.meta
				}
			}
		case "remove":
			for _, expr := range a.aliases {
				found := false
				for _, name := range names {
					for alias := range pending[name] {
						if ok, _ := path.Match(expr, alias); ok {
							delete(pending[name], alias)
							found = true
						}
					}
				}
				if !found && (a.mustExist == nil || *a.mustExist) {
					return result{}, newError(http.StatusNotFound, "aliases_not_found_exception", "aliases [%s] missing", expr).
						with("resource.type", "aliases").with("resource.id", expr)
				}
			}
		}
	}
	for name := range removed {
		delete(s.indices, name)
	}
	for name, aliases := range pending {
		s.indices[name].aliases = aliases
	}
	return result{http.StatusOK, map[string]any{"acknowledged": true}}, nil
}

// actionIndices resolves the index expressions of an add or remove action
// to concrete names (aliases resolve to their indices).
func (s *Server) actionIndices(exprs []string, removed map[string]bool) ([]string, *osError) {
	var out []string
	for _, expr := range exprs {
		targets, err := s.resolve(expr)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			if removed[t.ix.name] {
				return nil, indexNotFound(t.ix.name)
			}
			out = append(out, t.ix.name)
		}
	}
	return out, nil
}

func parseAliasAction(v *value) (aliasAction, *osError) {
	if v.kind != jObj || len(v.obj) != 1 {
		return aliasAction{}, newError(http.StatusBadRequest, "parse_exception", "an alias action must be an object with a single action")
	}
	a := aliasAction{kind: v.obj[0].name, meta: &aliasMeta{}}
	switch a.kind {
	case "add", "remove", "remove_index":
	default:
		return a, newError(http.StatusBadRequest, "parse_exception", "Unknown alias action [%s]", a.kind)
	}
	body := v.obj[0].val
	if body.kind != jObj {
		return a, newError(http.StatusBadRequest, "parse_exception", "alias action [%s] must be an object", a.kind)
	}
	strs := func(m member) ([]string, *osError) {
		if m.val.kind == jStr {
			return []string{m.val.s}, nil
		}
		if m.val.kind == jArr {
			var out []string
			for _, e := range m.val.arr {
				if e.kind != jStr {
					return nil, newError(http.StatusBadRequest, "parse_exception", "[%s] must hold strings", m.name)
				}
				out = append(out, e.s)
			}
			return out, nil
		}
		return nil, newError(http.StatusBadRequest, "parse_exception", "[%s] must be a string or an array of strings", m.name)
	}
	for _, m := range body.obj {
		var err *osError
		switch {
		case m.name == "index" || m.name == "indices":
			a.indices, err = strs(m)
		case (m.name == "alias" || m.name == "aliases") && a.kind != "remove_index":
			a.aliases, err = strs(m)
		case m.name == "must_exist" && a.kind != "add":
			b, ok := boolParam(m.val)
			if !ok {
				return a, illegalArgument("Failed to parse value [%s] as only [true] or [false] are allowed.", m.val.preview())
			}
			a.mustExist = &b
		case a.kind == "add" && m.name != "must_exist" && m.name != "alias" && m.name != "aliases":
			alias := ""
			if len(a.aliases) > 0 {
				alias = a.aliases[0]
			}
			err = a.meta.set(alias, m)
		default:
			return a, validationFailed([]string{"[" + m.name + "] is unsupported for [" + a.kind + "]"})
		}
		if err != nil {
			return a, err
		}
	}
	if a.kind == "add" {
		for _, alias := range a.aliases {
			if strings.Contains(alias, "*") {
				return a, validationFailed([]string{"Alias [" + alias + "] must not contain wildcards for [add]"})
			}
		}
	}
	return a, nil
}

func (s *Server) getAlias(r *request) (result, *osError) {
	var targets []*target
	if expr, ok := r.vars["index"]; ok {
		t, err := s.resolve(expr)
		if err != nil {
			return result{}, err
		}
		targets = t
	} else {
		for _, name := range sortedKeys(s.indices) {
			targets = append(targets, &target{ix: s.indices[name]})
		}
	}
	patterns, named := []string{"*"}, false
	if n, ok := r.vars["name"]; ok {
		patterns, named = strings.Split(n, ","), true
	}
	out := map[string]any{}
	matched := map[string]bool{}
	for _, t := range targets {
		aliases := map[string]any{}
		for alias, meta := range t.ix.aliases {
			for _, p := range patterns {
				if ok, _ := path.Match(p, alias); ok {
					aliases[alias] = meta.render()
					matched[p] = true
				}
			}
		}
		if len(aliases) > 0 || !named {
			out[t.ix.name] = map[string]any{"aliases": aliases}
		}
	}
	var missing []string
	for _, p := range patterns {
		if named && !matched[p] && !strings.Contains(p, "*") {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		word := "alias"
		if len(missing) > 1 {
			word = "aliases"
		}
		out["error"] = word + " [" + strings.Join(missing, ",") + "] missing"
		out["status"] = http.StatusNotFound
		return result{http.StatusNotFound, out}, nil
	}
	return result{http.StatusOK, out}, nil
}
