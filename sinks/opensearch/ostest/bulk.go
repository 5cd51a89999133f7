package ostest

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
)

var bulkParams = []string{"refresh", "require_alias", "timeout", "wait_for_active_shards"}

// OpenSearch's special version values.
const (
	matchAny     = -3 // no version given
	matchDeleted = -4 // create: the document must not exist
)

// bulkItem is one action of a _bulk request.
type bulkItem struct {
	action       string // index, create, delete
	index        string
	id           *string
	version      int64
	versionType  string // internal, external, external_gte
	requireAlias bool
	source       []byte
}

func (it *bulkItem) idText() string {
	if it.id == nil {
		return ""
	}
	return *it.id
}

// parseBulk splits a _bulk body into actions the way OpenSearch's
// BulkRequestParser does: every line is terminated by a newline, blank
// lines are skipped, an action needing a source takes the next line.
func parseBulk(data []byte, defaultIndex string, defaultRequireAlias bool) ([]*bulkItem, *osError) {
	var items []*bulkItem
	line, from := 0, 0
	next := func() (int, *osError) {
		i := bytes.IndexByte(data[from:], '\n')
		if i < 0 {
			if from != len(data) {
				return -1, illegalArgument(`The bulk request must be terminated by a newline [\n]`)
			}
			return -1, nil
		}
		return from + i, nil
	}
	for {
		end, err := next()
		if err != nil {
			return nil, err
		}
		if end < 0 {
			break
		}
		line++
		actionLine := bytes.TrimRight(data[from:end], "\r")
		from = end + 1
		if len(bytes.TrimSpace(actionLine)) == 0 {
			continue
		}
		it, err := parseAction(actionLine, line, defaultIndex, defaultRequireAlias)
		if err != nil {
			return nil, err
		}
		if it.action != "delete" {
			end, err := next()
			if err != nil {
				return nil, err
			}
			if end < 0 {
				break // an action without its source line is dropped, as in OpenSearch
			}
			line++
			it.source = bytes.TrimRight(data[from:end], "\r")
			from = end + 1
		}
		items = append(items, it)
	}
	return items, nil
}

func parseAction(b []byte, line int, defaultIndex string, defaultRequireAlias bool) (*bulkItem, *osError) {
	v, perr := parseJSON(b)
	if perr != nil {
		return nil, newError(http.StatusBadRequest, "json_parse_exception", "%s", perr.Error())
	}
	if v.kind != jObj {
		return nil, illegalArgument("Malformed action/metadata line [%d], expected START_OBJECT but found [%s]", line, v.kind.tokenName())
	}
	if len(v.obj) == 0 {
		return nil, illegalArgument("Malformed action/metadata line [%d], expected FIELD_NAME but found [END_OBJECT]", line)
	}
	it := &bulkItem{action: v.obj[0].name, index: defaultIndex, version: matchAny, versionType: "internal", requireAlias: defaultRequireAlias}
	switch it.action {
	case "index", "create", "delete":
	case "update":
		return nil, notImplemented("the bulk action [update]")
	default:
		return nil, illegalArgument("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but found [%s]", line, it.action)
	}
	meta := v.obj[0].val
	if meta.kind != jObj {
		return nil, illegalArgument("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [%s]", line, meta.kind.tokenName())
	}
	opType := ""
	for _, m := range meta.obj {
		if m.val.kind == jArr || m.val.kind == jObj {
			return nil, illegalArgument("Malformed action/metadata line [%d], expected a simple value for field [%s] but found [%s]", line, m.name, m.val.kind.tokenName())
		}
		if m.val.kind == jNull {
			continue
		}
		switch m.name {
		case "_index":
			it.index = m.val.text()
		case "_id":
			id := m.val.text()
			it.id = &id
		case "op_type":
			opType = m.val.text()
		case "version":
			n, err := strconv.ParseInt(m.val.text(), 10, 64)
			if err != nil {
				return nil, illegalArgument("Action/metadata line [%d]: [version] must be a long, got [%s]", line, m.val.text())
			}
			it.version = n
		case "version_type":
			switch t := m.val.text(); t {
			case "internal", "external", "external_gte":
				it.versionType = t
			case "external_gt":
				it.versionType = "external"
			default:
				return nil, illegalArgument("No version type match [%s]", t)
			}
		case "require_alias":
			b, ok := boolParam(m.val)
			if !ok {
				return nil, illegalArgument("Failed to parse value [%s] as only [true] or [false] are allowed.", m.val.text())
			}
			it.requireAlias = b
		case "retry_on_conflict":
		case "routing", "pipeline", "if_seq_no", "if_primary_term", "_source":
			return nil, notImplemented("the bulk metadata parameter [%s]", m.name)
		default:
			return nil, illegalArgument("Action/metadata line [%d] contains an unknown parameter [%s]", line, m.name)
		}
	}
	if it.action == "index" && opType == "create" {
		it.action = "create"
	} else if opType != "" && opType != "create" && opType != "index" {
		return nil, illegalArgument("opType must be 'create' or 'index', found: [%s]", opType)
	}
	return it, nil
}

// validate is OpenSearch's request validation (IndexRequest/DeleteRequest
// validate): any problem fails the whole _bulk request.
func (it *bulkItem) validate() []string {
	var p []string
	if it.index == "" {
		p = append(p, "index is missing")
	}
	if it.action == "delete" && it.id == nil {
		p = append(p, "id is missing")
	}
	version := it.version
	if it.action == "create" {
		if it.versionType != "internal" {
			return append(p, "create operations only support internal versioning. use index instead")
		}
		if version != matchAny {
			return append(p, "create operations do not support explicit versions. use index instead")
		}
		version = matchDeleted
	}
	if it.id == nil && it.action != "delete" && (it.versionType != "internal" || version != matchAny && version != matchDeleted) {
		p = append(p, "an id must be provided if version type or value are set")
	}
	if it.versionType != "internal" && version < 0 {
		p = append(p, fmt.Sprintf("illegal version value [%d] for version type [%s]", version, upper(it.versionType)))
	}
	if it.versionType == "internal" && version != matchAny && version != matchDeleted {
		p = append(p, "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead")
	}
	if it.id != nil && len(*it.id) > 512 {
		p = append(p, fmt.Sprintf("id [%s] is too long, must be no longer than 512 bytes but was: %d", *it.id, len(*it.id)))
	}
	return p
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func (s *Server) bulk(r *request) (result, *osError) {
	refresh, _ := r.param("refresh")
	_, hasRefresh := r.params["refresh"]
	switch refresh {
	case "", "true", "false", "wait_for":
	default:
		return result{}, illegalArgument("Unknown value for refresh: [%s].", refresh)
	}
	forced := hasRefresh && (refresh == "" || refresh == "true")
	requireAlias, err := r.boolParam("require_alias")
	if err != nil {
		return result{}, err
	}
	if len(r.body) == 0 {
		return result{}, newError(http.StatusBadRequest, "parse_exception", "request body is required")
	}
	items, err := parseBulk(r.body, r.vars["index"], requireAlias)
	if err != nil {
		return result{}, err
	}
	var problems []string
	for _, it := range items {
		problems = append(problems, it.validate()...)
	}
	if len(items) == 0 {
		problems = append(problems, "no requests added")
	}
	if len(problems) > 0 {
		return result{}, validationFailed(problems)
	}

	touched := map[*index]bool{}
	out := make([]any, len(items))
	hasErrors := false
	for i, it := range items {
		res, ix := s.applyItem(it)
		if ix != nil {
			touched[ix] = true
			if forced && res["error"] == nil {
				res["forced_refresh"] = true
			}
		}
		if res["error"] != nil {
			hasErrors = true
		}
		out[i] = map[string]any{it.action: res}
	}
	if hasRefresh && refresh != "false" {
		now := s.now()
		for ix := range touched {
			ix.refresh(now)
		}
	}
	return result{http.StatusOK, map[string]any{"took": 0, "errors": hasErrors, "items": out}}, nil
}

// applyItem executes one action and renders its item response.
func (s *Server) applyItem(it *bulkItem) (map[string]any, *index) {
	fail := func(ix string, e *osError) map[string]any {
		return map[string]any{"_index": ix, "_id": it.idText(), "status": e.status, "error": e.body()}
	}
	ix, err := s.writeIndex(it.index, it.requireAlias)
	if err != nil && err.typ == "index_not_found_exception" && !it.requireAlias &&
		(it.action != "delete" || it.versionType != "internal") {
		ix, err = s.autoCreate(it.index) // action.auto_create_index defaults to true
	}
	if err != nil {
		return fail(it.index, err), nil
	}
	if it.id != nil && *it.id == "" {
		return fail(ix.name, illegalArgument("if _id is specified it must not be empty")), nil
	}
	if it.id == nil {
		id := fmt.Sprintf("ostest-%012d", ix.seqNo)
		it.id = &id
	}
	id := *it.id
	withShard := func(e *osError) *osError {
		return e.with("index", ix.name).with("index_uuid", ix.uuid).with("shard", "0")
	}
	var parsed *value
	if it.action != "delete" {
		v, perr := parseJSON(it.source)
		if perr != nil {
			return fail(ix.name, withShard(mapperParsing("failed to parse").causedBy(
				newError(http.StatusBadRequest, "json_parse_exception", "%s", perr.Error())))), ix
		}
		if err := ix.parseDocument(id, v); err != nil {
			return fail(ix.name, withShard(err)), ix
		}
		parsed = v
	}

	now := s.now()
	cur, found, deleted := ix.version(id, now)
	if e := versionConflict(it, id, cur, found, deleted); e != nil {
		return fail(ix.name, withShard(e)), ix
	}
	newVersion := it.version
	if it.versionType == "internal" {
		newVersion = 1
		if found {
			newVersion = cur + 1
		}
	}
	seq := ix.nextSeqNo()
	res := map[string]any{"_index": ix.name, "_id": id, "_version": newVersion, "_seq_no": seq, "_primary_term": 1,
		"_shards": map[string]any{"total": 1 + ix.settings.replicas, "successful": 1, "failed": 0}}
	live := found && !deleted
	if it.action == "delete" {
		delete(ix.docs, id)
		ix.deleted[id] = tombstone{version: newVersion, at: now}
		res["result"], res["status"] = "not_found", http.StatusNotFound
		if live {
			res["result"], res["status"] = "deleted", http.StatusOK
		}
		return res, ix
	}
	ix.docs[id] = &doc{id: id, source: append([]byte(nil), it.source...), parsed: parsed, version: newVersion, seqNo: seq}
	delete(ix.deleted, id)
	res["result"], res["status"] = "created", http.StatusCreated
	if live {
		res["result"], res["status"] = "updated", http.StatusOK
	}
	return res, ix
}

// versionConflict applies OpenSearch's VersionType rules for writes.
func versionConflict(it *bulkItem, id string, cur int64, found, deleted bool) *osError {
	conflict := func(explain string) *osError {
		return newError(http.StatusConflict, "version_conflict_engine_exception", "[%s]: version conflict, %s", id, explain)
	}
	switch {
	case it.action == "create":
		if found && !deleted {
			return conflict(fmt.Sprintf("document already exists (current version [%d])", cur))
		}
	case it.versionType == "external":
		if found && cur >= it.version {
			return conflict(fmt.Sprintf("current version [%d] is higher or equal to the one provided [%d]", cur, it.version))
		}
	case it.versionType == "external_gte":
		if found && cur > it.version {
			return conflict(fmt.Sprintf("current version [%d] is higher than the one provided [%d]", cur, it.version))
		}
	}
	return nil
}

// autoCreate creates a missing index on a write, as OpenSearch does by
// default (action.auto_create_index: true), with default settings and a
// dynamic mapping.
func (s *Server) autoCreate(name string) (*index, *osError) {
	if err := validateName(name, invalidIndexName(name)); err != nil {
		return nil, err
	}
	ix := newIndex(name, s.newUUID(), s.now())
	s.indices[name] = ix
	return ix, nil
}
