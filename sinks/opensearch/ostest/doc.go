// Package ostest is a strict in-process OpenSearch test server for the
// OpenSearch sink's tests (no OpenSearch can run on the machines the tests
// run on). It implements the documented behaviour of the APIs the sink uses,
// with OpenSearch's status codes, error types and reason texts:
//
//   - PUT/GET/HEAD/DELETE /{index} with settings (number_of_shards,
//     number_of_replicas, gc_deletes, refresh_interval, max_result_window),
//     mappings and aliases; index and alias name rules.
//   - Mappings: long, integer, short, byte, unsigned_long, double, float,
//     half_float, scaled_float, keyword, text, boolean, date, date_nanos
//     (named formats only), binary, object (enabled, dynamic true/false/strict),
//     nested (stored as object) and flat_object, with multi-fields, coerce,
//     ignore_malformed, ignore_above and null_value. A value a mapped field
//     cannot parse fails its document with mapper_parsing_exception ("failed
//     to parse field [f] of type [t] in document with id 'x'. Preview of
//     field's value: 'v'"); unmapped fields are mapped dynamically as
//     OpenSearch does (long, float, date detection, text + keyword).
//   - POST /_bulk and /{index}/_bulk: index, create and delete actions with
//     _index, _id, version, version_type (internal, external, external_gte),
//     require_alias and ?refresh; whole-request validation errors
//     (action_request_validation_exception), per-item 201/200/404/409/400
//     with version_conflict_engine_exception's exact reasons, "errors": true
//     when an item failed, a newline-terminated body required, indices
//     created on write as action.auto_create_index does.
//   - Versions of deleted documents are remembered for index.gc_deletes
//     (default 60s) on the server's clock, then forgotten. The clock is
//     injectable (Advance, SetClock).
//   - GET /{index}/_doc/{id} (realtime), _refresh, and near-real-time search:
//     _search and _count see the documents of the last refresh (explicit,
//     ?refresh, or refresh_interval passed on the server clock before a
//     search). Queries: match_all, match_none, term, terms, ids, exists and
//     bool; size, from, track_total_hits. Scores are not modelled (1.0).
//   - POST /_aliases with add, remove and remove_index applied atomically
//     (remove_index first, as OpenSearch does), filtered aliases honoured by
//     _search and _count, GET /_alias/{name} and /{index}/_alias/{name}.
//   - GET /_cat/indices?format=json.
//
// What it does not implement (other query types, sort, aggregations,
// routing, ingest pipelines, custom analyzers, ...) is answered with a 400
// of type ostest_not_implemented_exception — never silently ignored, never
// reported as a client error OpenSearch would not give. Unknown query
// parameters get OpenSearch's "contains unrecognized parameter" error.
package ostest
