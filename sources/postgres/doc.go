// Package postgres reads PostgreSQL tables as a consistent, parallel
// snapshot of change.Change rows (op "r"). Change data capture comes
// separately.
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
//     emit.
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
//   - Every snapshot row carries Position = the snapshot's LSN (hi<<32|lo),
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
//	anything else                    string           (KindString) the type's text form (inet, money, ranges, ...)
//
// Infinite timestamps read as [TimestampInfinity] and [TimestampNegInfinity].
// Domains read as their base type. Array lower bounds are dropped.
//
// Hot types are fetched in binary and decoded without reflection; numeric,
// json, interval, time, enums and unknown types in text. Every connection
// sets TimeZone UTC, DateStyle ISO, IntervalStyle iso_8601 and
// extra_float_digits 3 (so text forms, and chunk boundaries, round-trip
// exactly), turns statement, lock and idle-in-transaction timeouts off for
// the bulk read (as pg_dump does), plans each chunk with its own bounds and
// turns JIT off. PostgreSQL 12 or later is required.
package postgres
