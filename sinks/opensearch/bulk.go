package opensearch

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/beamsync/beamsync/change"
)

// maxIDBytes is OpenSearch's limit on a document id.
const maxIDBytes = 512

// errNotWritable explains why a record can never be written; it becomes
// the record's dead letter before anything is sent.
var errNotWritable = errors.New("record cannot be written to OpenSearch")

// bulkItem locates one record's action in a _bulk body, with what its
// dead letter needs.
type bulkItem struct {
	start, end int // the action (and source) lines in the body
	docEnd     int // where the document's own fields end in the source (0: no document)
	del        bool
	key        []any
	pos        change.Position
	sourcePos  string
}

// bulkEncoder writes records as _bulk actions: the key is the _id, the
// position the external version.
type bulkEncoder struct {
	tombstones bool
	inf        *infinity
}

// append appends a record's action to body. A record that can never be
// written returns an error wrapping errNotWritable and leaves body as is.
func (e bulkEncoder) append(body []byte, r *change.Record) ([]byte, bulkItem, error) {
	it := bulkItem{start: len(body), del: r.Delete, key: r.Key, pos: r.Position, sourcePos: r.SourcePos}
	switch {
	case len(r.Key) == 0:
		return body, it, fmt.Errorf("%w: the record has no key", errNotWritable)
	case uint64(r.Position) > math.MaxInt64:
		return body, it, fmt.Errorf("%w: position %d exceeds OpenSearch's largest version (2^63-1)", errNotWritable, r.Position)
	case !r.Delete && r.Doc == nil:
		return body, it, fmt.Errorf("%w: the record is not a delete and has no document", errNotWritable)
	}
	id := change.KeyString(r.Key)
	if len(id) > maxIDBytes {
		return body, it, fmt.Errorf("%w: the document id (the key as text) is %d bytes, OpenSearch allows %d",
			errNotWritable, len(id), maxIDBytes)
	}
	action := `{"index":{"_id":`
	if r.Delete && !e.tombstones {
		action = `{"delete":{"_id":`
	}
	body = append(body, action...)
	body = change.AppendJSON(body, id)
	// Invariant: every write carries the record's position as an external
	// version, so OpenSearch never lets an older record replace a newer one.
	body = append(body, `,"version":`...)
	body = strconv.AppendUint(body, uint64(r.Position), 10)
	body = append(body, `,"version_type":"external"}}`+"\n"...)
	switch {
	case r.Delete && e.tombstones:
		// Invariant: a delete leaves a live tombstone at its version, which
		// refuses older updates for ever (OpenSearch forgets the versions of
		// deleted documents after index.gc_deletes).
		body = append(body, `{"`+DeletedField+`":true,"`+VersionField+`":`...)
		body = strconv.AppendUint(body, uint64(r.Position), 10)
		body = append(body, "}\n"...)
	case !r.Delete:
		doc, err := e.inf.apply(r.Doc)
		if err != nil {
			return body[:it.start], it, err
		}
		body = change.AppendJSON(body, doc)
		body = body[:len(body)-1] // the closing brace
		it.docEnd = len(body)
		if len(doc.Names) > 0 {
			body = append(body, ',')
		}
		body = append(body, `"`+VersionField+`":`...)
		body = strconv.AppendUint(body, uint64(r.Position), 10)
		body = append(body, "}\n"...)
	}
	it.end = len(body)
	return body, it, nil
}

// docJSON returns the record's view row as it was encoded (without the
// sink's fields), for a dead letter.
func (it bulkItem) docJSON(body []byte) change.JSON {
	if it.docEnd == 0 {
		return nil
	}
	start := it.start
	for body[start] != '\n' {
		start++
	}
	row := append([]byte(nil), body[start+1:it.docEnd]...)
	return append(row, '}')
}
