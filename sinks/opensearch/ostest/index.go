package ostest

import (
	"net/http"
	"strings"
	"time"
)

// index is one OpenSearch index: settings, mapping, aliases and documents.
type index struct {
	name, uuid    string
	created       time.Time
	settings      settings
	mapping       *mapper
	dateDetection bool
	aliases       map[string]*aliasMeta

	docs    map[string]*doc      // live documents (what GET by id sees)
	deleted map[string]tombstone // versions of deleted documents, kept for gc_deletes
	seqNo   int64

	searchable  map[string]*doc // the documents as of the last refresh (what search sees)
	lastRefresh time.Time
	changed     bool // written since the last refresh
}

type doc struct {
	id             string
	source         []byte // as sent
	parsed         *value
	version, seqNo int64
}

// tombstone remembers the version of a deleted document, as OpenSearch's
// live version map does until index.gc_deletes has passed.
type tombstone struct {
	version int64
	at      time.Time
}

type aliasMeta struct {
	filter       *value // as given
	query        query  // parsed
	isWriteIndex *bool
}

func newIndex(name, uuid string, now time.Time) *index {
	return &index{name: name, uuid: uuid, created: now, settings: defaultSettings(), mapping: newRoot(),
		dateDetection: true, aliases: map[string]*aliasMeta{}, docs: map[string]*doc{},
		deleted: map[string]tombstone{}, searchable: map[string]*doc{}, lastRefresh: now}
}

// version returns the current version of a document id as the engine sees
// it: a live document's, or a deleted one's while gc_deletes has not passed.
func (ix *index) version(id string, now time.Time) (v int64, found, deleted bool) {
	if d, ok := ix.docs[id]; ok {
		return d.version, true, false
	}
	if t, ok := ix.deleted[id]; ok {
		if now.Sub(t.at) <= ix.settings.gcDeletes {
			return t.version, true, true
		}
		delete(ix.deleted, id) // forgotten: gc_deletes has passed
	}
	return 0, false, false
}

func (ix *index) nextSeqNo() int64 {
	s := ix.seqNo
	ix.seqNo++
	ix.changed = true
	return s
}

// refresh makes every write so far visible to search.
func (ix *index) refresh(now time.Time) {
	ix.lastRefresh = now
	if !ix.changed {
		return
	}
	snap := make(map[string]*doc, len(ix.docs))
	for id, d := range ix.docs {
		snap[id] = d
	}
	ix.searchable = snap
	ix.changed = false
}

// refreshIfDue refreshes before a search when refresh_interval has passed
// since the last refresh (OpenSearch's periodic refresh, run lazily).
func (ix *index) refreshIfDue(now time.Time) {
	if ri := ix.settings.refreshInterval; ri >= 0 && now.Sub(ix.lastRefresh) >= ri {
		ix.refresh(now)
	}
}

func (ix *index) render() map[string]any {
	aliases := map[string]any{}
	for name, a := range ix.aliases {
		aliases[name] = a.render()
	}
	mappings := ix.mapping.render()
	return map[string]any{
		"aliases":  aliases,
		"mappings": mappings,
		"settings": ix.settings.nested(ix.name, ix.uuid, ix.created),
	}
}

func (a *aliasMeta) render() map[string]any {
	m := map[string]any{}
	if a.filter != nil {
		m["filter"] = a.filter.toAny()
	}
	if a.isWriteIndex != nil {
		m["is_write_index"] = *a.isWriteIndex
	}
	return m
}

// validateName applies OpenSearch's rules for index and alias names.
func validateName(name string, invalid func(desc string) *osError) *osError {
	switch {
	case name == "":
		return invalid("must not be empty")
	case strings.ContainsAny(name, "\\/*?\"<>| ,"):
		return invalid(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	case strings.Contains(name, "#"):
		return invalid("must not contain '#'")
	case strings.Contains(name, ":"):
		return invalid("must not contain ':'")
	case name[0] == '_' || name[0] == '-' || name[0] == '+':
		return invalid("must not start with '_', '-', or '+'")
	case len(name) > 255:
		return invalid("index name is too long, (" + itoa(len(name)) + " > 255)")
	case name == "." || name == "..":
		return invalid("must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return invalid("must be lowercase")
	}
	return nil
}

func invalidIndexName(name string) func(string) *osError {
	return func(desc string) *osError {
		return newError(http.StatusBadRequest, "invalid_index_name_exception", "Invalid index name [%s], %s", name, desc).
			with("index", name).with("index_uuid", "_na_")
	}
}

func invalidAliasName(name string) func(string) *osError {
	return func(desc string) *osError {
		return newError(http.StatusBadRequest, "invalid_alias_name_exception", "Invalid alias name [%s], %s", name, desc)
	}
}
