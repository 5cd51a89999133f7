// Package bigquery is beamsync's BigQuery sink: it keeps one table per view
// equal to the newest record of every key.
//
// [Write] is the Beam entry point. Beneath it, plain Go: [NewClient], then
// per view and run [NewView], [View.Prepare], writers ([View.NewWriter],
// or [View.NewCDCWriter]) that append the run's records, and
// [View.Commit] once every writer has flushed. Delivery is at least once
// (Beam retries bundles, sources replay after a restart); every write is
// idempotent and guarded by the record's version, the position, so that
// what a reader of a view sees is effectively exactly once.
//
// # Tables
//
// A view named v is held in the dataset's table Config.Table ("{view}" by
// default) with the view's fields and _beamsync_version (NUMERIC: a
// position is an unsigned 64-bit number, beyond INT64). Beside it:
//
//	v__staging_<run>   replace mode: the run's records (expires after 7 days if a run dies)
//	v__changes         upsert mode: records not merged yet, with _beamsync_deleted
//	v__tombstones      upsert mode: deleted keys with the delete's version and time
//	v__merge_<run>     upsert mode: the newest change per key, during a merge
//
// Tables are created with DDL (never through the tables API), and a run's
// writers append to them with load jobs of newline-delimited JSON sent in
// the request itself (a media upload, one request per batch: no Cloud
// Storage bucket is involved). Load jobs rather than insertAll: they are
// free, atomic, and their rows can be changed by DML at once, where rows
// streamed with insertAll sit in a streaming buffer that UPDATE, DELETE and
// MERGE refuse to touch. BigQuery allows 1,500 load jobs per table and day:
// every flush is one (batch_rows, batch_bytes and flush_interval set how
// many).
//
// # Modes
//
//   - replace (the default): a full refresh. Writers load into the run's
//     staging table; the commit replaces the view's rows by the newest
//     staged record of every key whose newest record is not a delete, and
//     drops the staging table.
//   - upsert: writers append to the change table; the commit builds the
//     merge source, the newest change of every key that is newer than the
//     key's tombstone (CREATE TABLE ... AS SELECT ... QUALIFY
//     ROW_NUMBER() ...), and applies it with a version-guarded MERGE,
//     updates the tombstones, and removes the change rows it merged.
//   - storage_write_cdc (real BigQuery only, implies upsert): writers send
//     UPSERT and DELETE rows through the Storage Write API's default stream
//     straight into the view, whose table has a PRIMARY KEY (the view key,
//     NOT ENFORCED) and max_staleness; _CHANGE_SEQUENCE_NUMBER is the
//     position as 16 hexadecimal digits, so BigQuery applies the newest
//     change of a key whatever the order of arrival. The commit does
//     nothing. How long BigQuery remembers a deleted key's sequence number
//     against a later-arriving older upsert is BigQuery's to decide.
//
// # Types
//
// Columns follow the view's field kinds:
//
//	int        INT64; a uint64 above INT64's maximum is dead-lettered (its field
//	           should be mapped to a decimal; the kind alone cannot tell)
//	decimal    BIGNUMERIC, always: the view schema carries no precision, and
//	           NUMERIC (29 integer and 9 fraction digits) cannot hold a 38-digit
//	           numeric(38,x); values with more than 38 fraction digits, which
//	           BigQuery would round, and NaN/Infinity are dead-lettered
//	float      FLOAT64; NaN and ±Infinity are written as "NaN", "Infinity",
//	           "-Infinity", which BigQuery reads into FLOAT64
//	string     STRING (values of other kinds as their JSON text)
//	bytes      BYTES (base64 in the load file)
//	bool       BOOL
//	timestamp  TIMESTAMP in UTC; digits finer than microseconds are cut off,
//	           years outside 1..9999 are dead-lettered; ±infinity follows
//	           Config.Infinity (below)
//	date       DATE; ±infinity follows Config.Infinity; other text BigQuery
//	           cannot read as a date is refused by BigQuery and dead-lettered
//	time       TIME; values outside 00:00:00-23:59:59.999999 (a MySQL TIME
//	           of 100 hours) or with a zone offset (timetz) are dead-lettered
//	           rather than changed: map such fields to strings
//	interval   STRING, the ISO 8601 text ("P1Y2M3DT4H5M6.5S"), which
//	           CAST(x AS INTERVAL) reads
//	json, any  JSON
//	array      ARRAY<elem> for arrays of one scalar kind; BigQuery arrays
//	           cannot hold NULL, so a row with a null element is
//	           dead-lettered (filter nulls in the mapping, or map the field to
//	           json), and a null array reads back as an empty one. Arrays of
//	           mixed, unknown, array or object elements are one JSON value:
//	           a joined view's each: fields and many-join aliases (arrays of
//	           objects, *change.Doc or map[string]any elements) included, with
//	           their nested objects; ScanView reads them back parsed
//	object     STRUCT of its fields (fields of the value beyond them are not
//	           written); an object without declared fields is JSON
//
// Key fields must be of a kind BigQuery can group and join by (not float,
// json, array or object).
//
// Infinite timestamps and dates (PostgreSQL's 'infinity' and '-infinity',
// change.TimestampInfinity and "infinity" dates), which TIMESTAMP and DATE
// cannot hold, follow Config.Infinity: dead_letter (the default: the row is
// dead-lettered, no value silently changes), clamp (9999-12-31
// 23:59:59.999999 / 0001-01-01 00:00:00 UTC, dates 9999-12-31 /
// 0001-01-01) or null. Every clamped or nulled value is counted
// (Stats.InfinityClamped, Stats.InfinityNulled; runstats infinity_clamped
// and infinity_nulled per view@sink, shown in the run summary and report).
//
// # Invariants
//
//   - Version guard. Every read of a staging or change table takes the
//     newest record of each key (ROW_NUMBER() over the key, by
//     _beamsync_version, a delete before an upsert of the same version),
//     and the MERGE applies a change only over an older version. A replayed
//     or repeated record therefore changes nothing, and an older record
//     arriving after a newer one is skipped (Stats.SkippedOlder).
//   - Loads are atomic and repeatable. A load job appends all of its rows
//     or none. A load repeated after a lost answer appends duplicates,
//     which the newest-per-key reads ignore; a writer given up after a
//     failure leaves rows that its retried bundle loads again.
//   - Full refresh is atomic. The commit replaces the view's rows in one
//     multi-statement transaction (DELETE, then INSERT of the staged rows),
//     so a reader sees the old rows or the new ones, never an empty or
//     partial view; the table itself (its description, labels, access
//     policies, the views over it) stays. Only when the table's columns are
//     not the view's (another type, missing or extra) is it replaced with
//     one CREATE OR REPLACE TABLE ... AS SELECT, atomic too.
//   - Tombstones (upsert mode). Deleting a row from the view leaves no trace
//     in it, so each applied delete is recorded in v__tombstones (the key,
//     the delete's version, the time), and the merge source leaves out
//     every change not newer than its key's tombstone: an update older than
//     the delete that arrives in a later run finds the tombstone and is
//     skipped, and the key stays deleted. A newer upsert re-creates the key
//     and removes the tombstone. Tombstones are kept for
//     tombstone_retention (7 days by default), which must exceed the
//     longest delay after which an older update may still arrive. The
//     tombstone table is small (a key and a version per deleted key) and
//     readers never see it; keeping deleted rows in the view instead would
//     make every reader filter them.
//   - Merges are repeatable. The merge source is rebuilt from the change
//     table on every attempt; the view MERGE, the tombstone MERGE and the
//     removal of the merged change rows (those not newer than the merged
//     change or the tombstone of their key) run in one transaction, so a
//     merge cut off anywhere and run again yields the same view.
//   - One run, one id. A pipeline's prepare step picks a run id at run
//     time; every bundle and the commit use it, so a run never mixes in the
//     staging rows of another.
//   - Failures. Records that cannot be encoded for their column (see
//     Types), and rows BigQuery refuses, become change.DeadLetter values
//     (stage write, with the reason: BigQuery's message for a refused row)
//     and the rest is written: when a load is refused for its data, its
//     rows are split in halves and loaded again down to the single refused
//     rows (at most max_rejected_rows per flush: more means a table or
//     mapping problem, and the flush fails). Throttling, server errors,
//     timeouts and broken connections (classified by type in one function,
//     classify) are retried under the one retry policy, internal/retry,
//     and counted. The sink talks to BigQuery's REST API through
//     google.golang.org/api/bigquery/v2 rather than the Client of
//     cloud.google.com/go/bigquery, which repeats requests itself, under
//     its own policy and until the context ends.
//
// # Credentials and endpoints
//
// Application Default Credentials are used, and the project defaults to
// theirs. An Endpoint on this machine (the BigQuery emulator) is called
// without credentials.
//
// # The emulator
//
// Tests run against goccy/bigquery-emulator v0.8.1, which differs from
// BigQuery in ways the sink's tests work around: it stores BYTES loaded
// from JSON as their base64 text, loads FLOAT64 "NaN" as NULL, refuses a
// JSON column value that is a JSON string, ignores CREATE TABLE IF NOT
// EXISTS on an existing table (409), cannot CREATE OR REPLACE an existing
// table nor ALTER one, accepts NULL in arrays, has no Storage Write CDC,
// slows down with every job it keeps (tests delete their jobs), and keeps
// memory from every query until its SQL engine crashes near 2 GB (about
// four runs of this package's tests: scripts/testenv.sh start restarts an
// emulator that has grown past 1 GB).
package bigquery
