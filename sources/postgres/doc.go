// Package postgres reads PostgreSQL tables as a consistent, parallel
// snapshot of change.Change rows (op "r"), and captures their changes by
// logical replication (see "Change capture").
//
// [Describe] checks the configured tables and returns their schemas;
// [Snapshot] reads them:
//
//  1. One connection opens BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
//     and runs SELECT pg_export_snapshot(), pg_current_wal_lsn(), now().
//  2. Inside that transaction it checks the tables against the catalog and
//     takes ACCESS SHARE locks on them (as pg_dump does: a TRUNCATE or a
//     table rewrite is not MVCC-safe and must not slip under the readers).
//     The transaction stays open, and the locks held, until every reader
//     is done — in particular until every reader has imported the snapshot.
//  3. Config.Parallelism reader connections each open the same kind of
//     transaction and SET TRANSACTION SNAPSHOT to the exported name.
//     Meanwhile the exporting connection, inside the same snapshot, plans
//     chunks: one pass over each primary-key index emits the key of every
//     ChunkSize-th row (a recursive query that skips ChunkSize keys per
//     step). Boundaries travel as the server's text and are cast back with
//     the column's type.
//  4. Chunks are half-open key ranges (lower, upper] compared as rows,
//     (k1, k2) > ($1, $2) AND (k1, k2) <= ($3, $4); the first has no lower
//     and the last no upper bound. Chunks of all tables share one queue that
//     the readers serve; a table without a primary key (when allowed) is a
//     single chunk.
//  5. Readers stream their chunk with one query each (no cursor), decode the
//     raw values themselves and hand batches of BatchSize rows over a
//     bounded channel to the calling goroutine, the only one that calls
//     emit. It emits them in chunk order: batches of a later chunk wait for
//     the earlier ones, with Parallelism to 2 × Parallelism chunks in
//     flight, as many as keep the waiting rows under Parallelism × 16384
//     (with chunks larger than that allows, order is given up rather than
//     memory). A table read by index scans thus arrives sorted by primary
//     key, and a sink that sorts by key (the file sink) can stream it.
//     Chunk queries are index range scans, and like every index scan they
//     read the heap through the server's buffer pool (a whole-table
//     sequential scan would use a small ring instead): on a server whose
//     pool is smaller than the tables being read, a large snapshot evicts
//     pages other queries use and reads each page from the OS.
//
// # Invariants
//
//   - Every row of every table is emitted exactly once: the chunks of a
//     table partition the key space, whatever the boundaries are. (Each
//     boundary is found with the same > operator the readers use, so the
//     boundaries strictly increase under it; the ORDER BY of the planning
//     query only decides how many rows a chunk gets.)
//   - All rows show the database at one instant (the exported snapshot):
//     changes committed after the export are never seen.
//   - Every snapshot row carries Position = the snapshot's LSN (hi<<32|lo)
//     shifted left by 12 bits (see Positions),
//     SourcePos "snapshot@<LSN>", CommitTime = the exporting transaction's
//     now() in UTC, Op 'r', Key = the primary-key values (nil without a
//     key) and After = the row aligned with Table.Columns.
//   - Nothing from a configuration is pasted into SQL: identifiers are
//     quoted with pgx.Identifier.Sanitize and values are parameters.
//
// # Values
//
// Values follow the value set of package change (see change/doc.go):
//
//	int2, int4, int8, oid            int64            (KindInt)
//	numeric                          change.Decimal   (KindDecimal) exact text, "NaN", "Infinity"
//	money                            change.Decimal   (KindDecimal) exact, "-92233720368547758.08": read cast to numeric, whatever lc_monetary
//	float4, float8                   float64          (KindFloat) NaN and ±Inf kept; float4 via its shortest decimal
//	bool                             bool             (KindBool)
//	bytea                            []byte           (KindBytes)
//	date                             change.Date      (KindDate) "2024-02-29", "infinity", "0044-03-15 BC"
//	time, timetz                     change.TimeOfDay (KindTime) "15:04:05.5", "15:04:05+02:00"
//	timestamp, timestamptz           time.Time UTC    (KindTimestamp) µs kept; a timestamp's wall clock read as UTC
//	interval                         change.Interval  (KindInterval) ISO 8601, "P1Y2M3DT4H5M6.5S"
//	json, jsonb                      change.JSON      (KindJSON) the server's text
//	uuid                             string           (KindString) canonical lower case
//	text, varchar, char, name, enums string           (KindString)
//	arrays of any type               []any            (KindArray) NULL elements nil, dimensions nested
//	anything else                    string           (KindString) the type's text form (inet, ranges, ...)
//
// Infinite timestamps read as [TimestampInfinity] and [TimestampNegInfinity]
// (change.TimestampInfinity and change.TimestampNegInfinity: sentinels no
// finite value can be, which every output renders as "infinity" and
// "-infinity"); infinite dates as the Date text "infinity" and "-infinity".
// A finite 0001-01-01 00:00:00 stays itself.
// Domains read as their base type. Array lower bounds are dropped.
//
// Hot types are fetched in binary and decoded without reflection; numeric,
// json, interval, time, enums and unknown types in text. Every connection
// sets TimeZone UTC, DateStyle ISO, IntervalStyle iso_8601 and
// extra_float_digits 3 (so text forms, and chunk boundaries, round-trip
// exactly), turns statement, lock and idle-in-transaction timeouts off for
// the bulk read (as pg_dump does), plans each chunk with its own bounds and
// turns JIT off. PostgreSQL 12 or later is required.
//
// # Change capture
//
// [SnapshotAndStream] and [OpenStream] return a change.Stream read with
// pglogrepl from a logical replication slot with the pgoutput plugin
// (protocol 1, text values) over the publication of the captured tables:
//
//   - Setup: wal_level must be logical and the role may replicate (superuser
//     or REPLICATION); the publication (StreamConfig.Publication, default
//     "beamsync_<name>") is created, or completed with the missing tables.
//     A table with REPLICA IDENTITY NOTHING is refused; one with columns of
//     non-plain storage (TOASTable) needs REPLICA IDENTITY FULL unless
//     StreamConfig.Toast is "unchanged" (see TOAST below).
//   - Handoff: SnapshotAndStream drops a slot of the same name, creates it
//     with CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT and reads the snapshot
//     in the exported snapshot (the exporting connection imports it rather
//     than exporting its own), while the replication connection stays idle
//     so the snapshot stays valid; then it starts replication at the slot's
//     consistent point. Every transaction visible in the snapshot committed
//     before that point and every later one is streamed: nothing is missed
//     or read twice.
//   - Resume: OpenStream starts at a checkpoint (an LSN: the end of a
//     transaction, or a keepalive position). PostgreSQL streams every
//     transaction that commits after it. A checkpoint before the slot's
//     confirmed_flush_lsn is refused (those changes are gone); without a
//     checkpoint the stream starts at the slot's confirmed position (the
//     slot is created, at the current WAL end, when missing). A slot still
//     held by a dying connection (a crash) is waited for up to 15 s.
//   - Progress: Next returns whole transactions, several coalesced when
//     they are already there (up to 8,192 changes), batched by table in
//     commit order; Checkpoint is the last transaction's end LSN. A
//     keepalive received between transactions is a Progress without
//     changes at the server's sent position: every transaction committed
//     before it has been received, so acknowledging it lets the slot move
//     on while the captured tables are idle and others write. Every
//     StatusInterval the stream asks for a keepalive.
//   - Acknowledgement: Ack only records the position; the goroutine that
//     owns the replication connection reports it (write = flush = apply =
//     the acknowledged LSN) within 100 ms, every StatusInterval, when the
//     server asks, and on Close. Nothing not acknowledged is ever reported.
//   - Changes: inserts are op c; updates op u with the old row as Before
//     (REPLICA IDENTITY FULL; with the default identity Before holds only
//     the key, other columns Unchanged, and only when the key changed); an
//     update that changes the primary key is a delete of the old key and a
//     create of the new; deletes op d with the old row (or its key). Values
//     are decoded from text into exactly the snapshot's value set.
//   - TOAST: an update that leaves a TOASTed value unchanged sends no value
//     for it; with REPLICA IDENTITY FULL it is taken from the old row,
//     otherwise it is change.Unchanged (a view that reads it dead-letters
//     the row, never writing null).
//   - Relation messages: when a captured table's columns (names and kinds)
//     differ from the described table, its changes carry a new change.Table
//     (same name and key), so that the views' schema_change policy applies.
//     A key column that disappears stops the stream.
//   - Stored generated columns (GENERATED ALWAYS AS (...) STORED): pgoutput
//     leaves them out of its messages. Describe reads their expressions
//     (change.Column.Generated); a Relation message that lacks exactly them
//     is the unchanged schema, and their value in each row image is
//     computed by PostgreSQL from the row's sent values on the catalog
//     connection (one pipelined batch of queries per transaction), so the
//     view holds what a snapshot reads. A generated value whose expression
//     reads an unchanged TOAST value that was not sent is change.Unchanged.
//     A generated column in the primary key stops the stream.
//   - TRUNCATE of a captured table stops the stream (Truncate "fail", the
//     default: the views need a new snapshot) or is ignored with a warning.
//
// # Positions
//
// Position = LSN << 12 | seq. Snapshot rows: the snapshot's LSN, seq 0.
// Changes: the commit LSN of their transaction and seq = the change's
// number in the transaction (1, 2, …); past the 2,048th change, seq counts
// the occurrences of the change's key instead (2,048 + n, capped at 4,095),
// so that the changes of one key are always ordered while a huge
// transaction still fits. Commit LSNs of streamed transactions are at or
// after the snapshot's consistent point, so a change always outranks the
// snapshot row it follows, and later transactions outrank earlier ones.
// SourcePos is the commit LSN. 52 bits of LSN cover 4 PiB of WAL.
package postgres
