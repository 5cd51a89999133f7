// Package verify reconciles a view with its source and names the keys that
// differ. It is plain Go (no Beam): the runner's verify command feeds it the
// rows the source holds now, mapped by the view's mapping ([Expected]), and
// the rows a sink holds (read by a per-sink reader), and [Compare] says
// which keys are missing, extra, changed or carry a stale version.
//
// # Rows
//
// A [Row] is a view row reduced to text that compares equal exactly when
// the values are equal: its key and its document in canonical JSON
// ([Canonical]): object members sorted by name, numbers as exact decimals
// (1.50, 1.5 and 15E-1 are one number; no float64 on the way), timestamps in
// UTC RFC 3339 with nanoseconds, trailing zeros cut. Each sink's reader
// drops the sink's own bookkeeping (_version, _beamsync_version,
// _beamsync_deleted, _deleted, _expires_at, _key) and skips tombstones, so
// a stored row and the mapped source row are the same text when the sink
// holds the right value. Representations a sink changes on the way are
// documented by the readers (runner verify's help text): BigQuery cuts
// timestamps to microseconds and reads a null array as an empty one.
//
// # Comparison
//
// Both sides are sorted by canonical key (the text of the key, not the
// view's key order: the bisection only needs one total order that both
// sides share; the differences are reported in the view's key order). Both
// sides are held in memory, as canonical rows: verify needs memory in
// proportion to the view. [Compare] first counts the rows,
// then computes a checksum (FNV-1a over key, document and version state) of
// every key range on both sides, starting with the whole key space, and
// splits a range in two at a key of its middle while the checksums differ,
// down to ranges of a few keys that are compared key by key. Ranges whose
// checksums agree are not looked into. The checksums are computed here, on
// rows the readers fetched: no sink hashes on the server side, so verify
// reads the whole view (and the whole source table) once. Each sink is read
// whole and sorted here, even the file sink, whose file is sorted in the
// view's key order rather than the canonical one.
//
// A key is
//
//   - missing: in the source's view, not in the sink;
//   - extra: in the sink, not in the source's view (a row deleted at the
//     source, or filtered out by where, still held by the sink);
//   - changed: in both, with different documents;
//   - stale: in both with the same document, but the stored version is
//     ahead of the position of the source's snapshot (a later change of the
//     row, carrying a lower position, would be dropped by the sink's
//     version guard as older) or the sink keeps versions and holds none
//     for the key.
//
// # Consistency
//
// The expected side is the source as of verify's own snapshot. A view that
// a running stream is writing changes while verify reads it: rows changed
// in flight show up as differences. Run verify while the job is idle (after
// a batch run, or with the stream stopped and caught up), or read repeated
// differences as lag.
package verify
