// Package file is beamsync's file sink: every view becomes a JSON-lines file
// <dir>/<view>.jsonl, one object per line (change.AppendJSON of the record's
// Doc), sorted by view key and holding one line per key.
//
// The package is plain Go; the Beam DoFns call it in two steps:
//
//  1. Workers feed the records of a view to a [RunWriter] (Add), which
//     buffers up to Config.SpillRows records, sorts them and spills them as a
//     run: a binary file in <dir>/.runs/<view>/ with a random name, holding
//     only the winning record of each key. Flush (at the end of a bundle)
//     returns the paths of the runs written.
//     While records arrive in strictly increasing key order (a snapshot read
//     in primary-key order), the writer buffers nothing: it streams them to
//     a view run, the view lines and versions frames that a commit of those
//     records alone would write, byte for byte (viewrun.go). The first record
//     out of order ends the view run; the rest of the bundle is buffered.
//  2. One [Commit] per view merges all the runs (a k-way merge over a heap,
//     in several passes beyond 64 runs) into the view file and removes them.
//     View runs are merged like the existing view of an upsert; a commit
//     whose only input is one view run hard-links its two files into place
//     (and fsyncs them) instead of copying them.
//
// Memory is bounded by SpillRows (and 256 MiB of buffered rows), whatever the
// number of rows: the sort is an external merge sort.
//
// # Invariants
//
//   - One line per key: the record with the greatest Position wins; if it
//     is a delete, the key is absent. Among equal positions a delete wins,
//     then the record whose JSON row is greater (bytewise): the file does not
//     depend on the order in which records arrive, how they were split into
//     bundles or runs, or how often a record was replayed.
//   - Lines are sorted by key in change.CompareKeys order.
//   - The view file is replaced atomically: Commit writes a temporary file in
//     dir, fsyncs it, renames it over <view>.jsonl and fsyncs dir. A reader,
//     or a crash, sees the old view or the new one.
//   - Replace mode: the view becomes exactly the committed runs' rows.
//     Upsert mode: the existing view is merged in as the oldest input.
//   - Versions: <dir>/.state/<view>.versions records, for every key ever
//     committed, its winning position and whether it is deleted (a
//     tombstone). Upsert reads it alongside the view, so an update older
//     than a delete does not resurrect the row and a stale update never
//     overwrites a newer one. Tombstones are kept forever (a replace commit
//     starts afresh). The sidecar is a sorted binary file streamed during
//     the merge (never loaded whole): frames of key, position and flags,
//     with a footer holding the size and CRC-32C of the view file it
//     describes. Upsert refuses a view file that does not match its sidecar
//     (edited by hand) rather than guess.
//   - The sidecar is installed in three renames (versions -> .next, view,
//     .next -> versions); the next Commit completes or undoes an
//     installation that a crash interrupted, by checking the view file
//     against the staged sidecar's footer.
//   - Commit removes the runs it merged only once the view is installed; a
//     failed Commit can be retried with the same runs. Runs listed twice
//     are merged once. Commits of one view must not run concurrently.
//   - Runs are scratch files: written without fsync, they live only until
//     the commit that merges them, in the same process (a crash abandons
//     them and the view stays as last committed). The commit fsyncs the
//     view file and the versions sidecar it installs, and the directory.
//   - Run, versions and dead-letter run files end with an end marker and a
//     footer counting their frames: a file truncated by a crash is refused.
//     A view run's footer also holds its lines file's size (and CRC-32C,
//     checked when it is merged): a lines file that does not match is
//     refused.
//
// # Streams: a change log per view
//
// A stream ([WriteStream], [StreamWriter]) does not merge every bundle into
// the view file, which would cost each bundle the view's size. It works
// like an LSM tree:
//
//   - Each bundle's records are sorted into runs as above, each run is
//     fsynced and renamed into the view's change log <dir>/.log/<view>/ as
//     a segment (<24 hex digits>.seg: frames of key, position, delete flag
//     and row, end marker, footer), and the log directory is fsynced. Only
//     then is the bundle acknowledged: a bundle counts as written once its
//     segments are durable. Segments are immutable; their order does not
//     matter (the merge is decided by positions).
//   - A compactor per view runs in the background: every
//     Config.CompactInterval (10s) when the log is not empty, or at once
//     when it holds Config.CompactBytes (64 MiB) or an eighth of the view
//     file's size (so a small view is compacted after almost every bundle,
//     and the rewriting a compaction costs per logged byte is bounded
//     whatever the view's size), it merges the whole log
//     into the view file with an upsert Commit (the view and its versions
//     sidecar are the oldest input), replacing them as any commit does,
//     and then removes the merged segments. In between, once the log has
//     Config.CompactSegments (32) segments, it merges them into one segment
//     (a cost of the log's size). Compactions and commits of a view are
//     serialized within the process and, by a lock file in the log
//     directory, across processes.
//   - The view file is the compacted state: it trails the log by at most
//     the compaction interval (plus one compaction). The log and the view
//     file together are the view. A clean stop compacts every log
//     ([CompactLogs]), so the view file is then exact; readers that need
//     the exact state while a stream runs compact first ([CompactLog];
//     runner verify does).
//   - The version guard and tombstones hold across log and view: a
//     compaction is an upsert commit of the segments, so a record older
//     than the view's version or tombstone of its key, or than a record of
//     another segment, loses; compacting segments twice (after a crash
//     between the installation and their removal) changes nothing.
//   - Crash safety: a kill at any moment leaves the last installed view
//     file (and its sidecar, repaired by the next commit as above) and a
//     log of complete segments; temporary files of a killed compaction are
//     removed by the next one, which folds the whole log in.
//   - A replace commit (a batch rebuild) removes the view's log: replayed
//     into the rebuilt view it could bring back rows it no longer holds.
//
// # Keys
//
// Keys made of nil, bool, int64, text, time.Time and []byte components are
// stored in an order-preserving byte form and compared with bytes.Compare
// (with their first 16 bytes kept beside the sort slice); any other key
// (uint64, float64, Decimal, JSON, ...) is stored with change.AppendValues,
// decoded once and compared with change.CompareKeys. Both forms order keys
// exactly as change.CompareKeys does.
//
// # Dead letters
//
// A job's dead letters go to <dir>/_dead_letters.jsonl, one JSON object per
// line with change.DeadLetter's field names (key and row embedded as JSON),
// sorted by view, position, key and reason, through the same run + commit
// scheme ([DeadLetterWriter], [CommitDeadLetters]). Identical lines are
// written once. Replace mode replaces the file; upsert mode merges into it.
package file
