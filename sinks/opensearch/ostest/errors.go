package ostest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// osError is an OpenSearch exception as the REST layer renders it: a type,
// a reason, metadata (index, index_uuid, shard, ...) and an optional cause.
type osError struct {
	status int
	typ    string
	reason string
	meta   map[string]any
	cause  *osError
}

func (e *osError) Error() string { return e.typ + ": " + e.reason }

// body renders the exception object ({"type", "reason", ..., "caused_by"}).
func (e *osError) body() map[string]any {
	m := map[string]any{"type": e.typ, "reason": e.reason}
	for k, v := range e.meta {
		m[k] = v
	}
	if e.cause != nil {
		m["caused_by"] = e.cause.body()
	}
	return m
}

// response renders a whole-request failure: {"error": {...}, "status": n}.
func (e *osError) response() map[string]any {
	root := map[string]any{"type": e.typ, "reason": e.reason}
	for k, v := range e.meta {
		root[k] = v
	}
	b := e.body()
	b["root_cause"] = []any{root}
	return map[string]any{"error": b, "status": e.status}
}

func newError(status int, typ, format string, args ...any) *osError {
	return &osError{status: status, typ: typ, reason: fmt.Sprintf(format, args...)}
}

func (e *osError) with(k string, v any) *osError {
	if e.meta == nil {
		e.meta = map[string]any{}
	}
	e.meta[k] = v
	return e
}

func (e *osError) causedBy(c *osError) *osError { e.cause = c; return e }

func illegalArgument(format string, args ...any) *osError {
	return newError(http.StatusBadRequest, "illegal_argument_exception", format, args...)
}

func indexNotFound(name string) *osError {
	return newError(http.StatusNotFound, "index_not_found_exception", "no such index [%s]", name).
		with("index", name).with("index_uuid", "_na_").
		with("resource.type", "index_or_alias").with("resource.id", name)
}

// validationFailed is OpenSearch's ActionRequestValidationException.
func validationFailed(problems []string) *osError {
	reason := "Validation Failed: "
	for i, p := range problems {
		reason += fmt.Sprintf("%d: %s;", i+1, p)
	}
	return newError(http.StatusBadRequest, "action_request_validation_exception", "%s", reason)
}

func mapperParsing(format string, args ...any) *osError {
	return newError(http.StatusBadRequest, "mapper_parsing_exception", format, args...)
}

// notImplemented marks a request that is valid for OpenSearch but that this
// test server does not implement: never answered as if it were wrong, never
// silently ignored.
func notImplemented(format string, args ...any) *osError {
	return newError(http.StatusBadRequest, "ostest_not_implemented_exception", "ostest does not implement "+format, args...)
}

// preencoded is a response body already in JSON form.
type preencoded []byte

// withRawField renders an object with one more field whose value is raw
// JSON kept byte for byte (a document's _source, as OpenSearch returns it).
func withRawField(fields map[string]any, name string, raw []byte) preencoded {
	b, _ := json.Marshal(fields)
	b = b[:len(b)-1]
	if len(fields) > 0 {
		b = append(b, ',')
	}
	nb, _ := json.Marshal(name)
	b = append(b, nb...)
	b = append(b, ':')
	b = append(b, raw...)
	return append(b, '}')
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if p, ok := v.(preencoded); ok {
		_, _ = w.Write(p)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *osError) { writeJSON(w, e.status, e.response()) }

// writeStringError answers with the short shape some REST handlers use:
// {"error": "text", "status": n}.
func writeStringError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "status": status})
}
