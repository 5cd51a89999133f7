// Package opensearch is beamsync's OpenSearch sink: it keeps one index per
// view in sync with the view's records, with version-guarded _bulk writes,
// so that what readers see is effectively exactly once under at-least-once
// delivery.
//
// # Layout
//
// Readers use the view's alias (Config.Index, default "{view}"). The alias
// points to exactly one index: <alias>-000001 in upsert mode (EnsureIndex
// creates it with the alias), <alias>-<UTC timestamp> after a full refresh.
// The alias carries the filter must_not term _beamsync_deleted: true, so
// readers of the alias never see tombstones.
//
// # Versions
//
// Every record is a _bulk "index" action whose _id is change.KeyString of
// its key and whose version is its Position, with version_type external.
// OpenSearch refuses a version that is not newer than the stored one with
// 409 version_conflict_engine_exception: the writer counts it as
// SkippedOlder, not as an error. Hence replays, Beam's bundle retries and
// out-of-order deliveries (retried items included) never overwrite a newer
// document, and the same batch written twice leaves the same index.
// Every document carries _beamsync_version (the position) for readers and
// for reconciliation. Writes to the alias use require_alias=true, so that a
// missing alias fails the write instead of auto-creating a concrete index
// under the alias's name.
//
// # Deletes
//
// OpenSearch remembers the version of a deleted document only for
// index.gc_deletes (default 60s); after that a late, older update of the
// key would be accepted and resurrect the row. The default, "tombstone",
// therefore indexes a delete as a document {"_beamsync_deleted": true,
// "_beamsync_version": N} at external version N. The tombstone is a live
// document: it never expires, and the external version refuses any older
// update for ever. A newer record of the key replaces it (the key comes
// back). Trade-offs:
//
//   - GET by id on the raw index returns the tombstone (through the alias
//     too: GET by id ignores alias filters); searches and counts through the
//     alias do not see it. Queries on the concrete index must filter on
//     _beamsync_deleted themselves.
//   - Tombstones take space. Purging those older than a retention window is
//     left to an operator (delete by query on _beamsync_deleted: true and
//     _beamsync_version below a position every source has passed); the sink
//     has no command for it. A purged tombstone reopens the gc_deletes
//     hazard for records older than it, which is why the window must exceed
//     any possible redelivery delay. A full refresh drops them all.
//
// "hard" deletes the document with the external version instead: no
// tombstones, but once gc_deletes has passed a late, older update of the
// key resurrects it. Use it only where no record can arrive later than
// gc_deletes after a newer one.
//
// # Mappings
//
// The index mappings are derived from the view's field kinds, with
// "dynamic": "false" (fields the view does not declare are kept in _source
// but not mapped, instead of being typed by whichever document comes first):
//
//	bool       boolean
//	int        long (an unsigned value above 2^63-1 does not fit: dead letter)
//	float      double (NaN and ±Inf, which OpenSearch refuses: dead letter)
//	decimal    keyword, with a "double" sub-field (ignore_malformed)
//	string     text, with a "keyword" sub-field (ignore_above 256)
//	bytes      binary (base64)
//	timestamp  date, format strict_date_optional_time_nanos
//	date       date, format strict_date_optional_time
//	time       keyword
//	interval   keyword
//	json       object with "enabled": false
//	object     object with the nested fields' mappings
//	array      the element kind's mapping (OpenSearch fields hold lists)
//	any        not mapped
//
// Why: a decimal is a keyword because only text keeps every digit: term
// queries and terms aggregations see the exact canonical value; the
// approximate double sub-field (price.double) serves ranges, sorts and sums
// — a scaled_float would need a scale per field that views do not declare,
// and would round. Strings follow OpenSearch's own dynamic default (full
// text on the field, exact match and aggregations on .keyword). Timestamps
// keep nanoseconds in _source and are searchable as dates (date, not
// date_nanos, which cannot hold times before 1970). A json value may be an
// object, an array or a scalar, of any shape from one document to the next:
// "enabled": false stores it untouched and never conflicts (it is not
// searchable; override with flat_object where values are objects).
// _source holds every value exactly as change.AppendJSON wrote it.
//
// Infinite timestamps and dates (PostgreSQL's 'infinity' and '-infinity',
// change.TimestampInfinity and "infinity" dates), which a date field cannot
// hold, follow Config.Infinity, at any depth of the document: dead_letter
// (the default: the record is dead-lettered, no value silently changes),
// clamp (9999-12-31T23:59:59.999999Z / 0001-01-01T00:00:00Z, dates
// 9999-12-31 / 0001-01-01) or null. Every clamped or nulled value is
// counted (Stats.InfinityClamped, Stats.InfinityNulled; runstats
// infinity_clamped and infinity_nulled per view@sink).
//
// Config.Settings and Config.Mappings are merged over the derived ones:
// objects merge key by key, except that a field definition under
// "properties" that names a "type" replaces the derived definition. The
// sink's own fields (_beamsync_*) cannot be overridden.
//
// # Errors
//
// One function, classify, decides from the status and OpenSearch's error
// type: 409 version conflicts are "older"; 429, 500, 502, 503, 504 and
// rejected-execution or circuit-breaker errors are retried under
// Config.Retry (the whole request when the request failed, only the failed
// items when single items failed; timeouts, resets and cut responses are
// retried too); a missing or closed index, a block or a refused
// authentication fails the write; anything else refused for one document
// (mapper_parsing_exception, ...) becomes a dead letter carrying the
// server's reason. Records that can never be sent (an id over 512 bytes, a
// position above 2^63-1) become dead letters before sending. Retries that
// run out fail the write (the bundle): a transient failure never turns into
// a dead letter.
//
// # Full refresh
//
// BeginRefresh creates <alias>-<timestamp>; writers write the whole view
// into it (WithTargetIndex); CommitRefresh refreshes it, then moves the
// alias with one atomic _aliases request (add to the new index, remove from
// the old), then deletes the old indices. A reader of the alias sees the
// old view or the new one, never an empty or partial one. A concrete index
// that bears the alias's name is removed in the same atomic request. An
// index of a refresh that never committed (a failed run) stays behind
// until an operator deletes it; it is not under the alias.
//
// # Beam
//
// Write is the pipeline transform: a DoFn on beam.Impulse prepares the
// indices at run time (no I/O at construction), writers take the view →
// index map as a side input, and in replace mode a final DoFn, with the
// writers' counts as a side input, commits every refresh once all writes
// are done. Counts go to runstats as "<view>@<sink>" and to Beam counters.
//
// The ostest sub-package is the strict in-process OpenSearch the tests run
// against; with OPENSEARCH_URL set they run against a real server as well.
package opensearch
