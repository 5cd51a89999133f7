// Package mysql reads MySQL and MariaDB tables: [Describe] returns their
// schemas, [Snapshot] reads all of them, in parallel, at one consistent
// point, as change batches (op 'r'), and [SnapshotAndStream] and
// [OpenStream] capture their changes from the binlog, continuing exactly
// from that point (see "Change capture").
//
// # Consistent point
//
// MySQL cannot share a snapshot between connections, so Snapshot holds the
// captured tables still while each of its Parallelism reader connections
// opens its own (see establish in consistent.go for the argument):
//
//	lock:    FLUSH TABLES `db`.`t1`, `db`.`t2` WITH READ LOCK
//	readers: START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY (REPEATABLE READ)
//	lock:    SHOW MASTER STATUS; SELECT UTC_TIMESTAMP(6), @@gtid_binlog_pos
//	lock:    UNLOCK TABLES
//
// Invariants:
//
//   - Every reader sees the captured tables exactly as of the binlog
//     position P of the snapshot: each change to them committed before P is
//     visible, none after P is.
//   - The lock is scoped to the captured tables (writes to other tables go
//     on) and held only for the statements above: every connection is
//     opened and set up before it is taken. A lock that cannot be had within
//     10 s (a long query holds a table) is retried twice, then refused; a
//     snapshot cancelled while waiting for it kills its waiting FLUSH, which
//     would otherwise hold up the tables' other users.
//   - Every row of every table is read exactly once: chunk ranges of a
//     table are disjoint and together cover its key space.
//   - emit runs only on Snapshot's calling goroutine; at most Parallelism
//     batches wait in the channel, plus one being filled per reader.
//
// The user needs SELECT and LOCK TABLES on the tables, RELOAD (for FLUSH
// TABLES ... WITH READ LOCK) and REPLICATION CLIENT (for SHOW MASTER STATUS;
// BINLOG MONITOR in MariaDB):
//
//	GRANT RELOAD, REPLICATION CLIENT ON *.* TO 'beamsync'@'%';
//	GRANT SELECT, LOCK TABLES ON shop.* TO 'beamsync'@'%';
//
// Only InnoDB (or other MVCC engine) tables can be captured: a MyISAM
// table has no snapshot. The server must write a binlog (log_bin).
//
// # Positions
//
// A position packs a binlog coordinate into a change.Position:
//
//	Position = sequence number of the binlog file << 44 | offset << 12 | row
//
// (change.BinlogPosition). A snapshot at "binlog.000003" offset 1234 is
// 3<<44 | 1234<<12 (row 0); SourcePos is
// "binlog.000003:1234". The binlog is written in commit order and its file
// numbers only grow, so positions compare in commit order. Snapshot rows
// carry the position of the snapshot (row 0); a streamed change carries the
// start offset of its rows event and its row in it (from 1), so for any one
// key a later change has a greater position than the snapshot row it
// replaces. Offsets
// past 4 GiB in one file (possible only with a single huge transaction) do
// not fit and fail the snapshot. Snapshot rows' CommitTime is the server's
// UTC_TIMESTAMP(6) at the consistent point.
//
// # Chunks
//
// A table is split into ranges of ChunkSize rows of its primary key, inside
// the snapshot: one reader scans the key in index order
// (SELECT k1, k2 FROM t FORCE INDEX (PRIMARY) ORDER BY k1, k2) and queues a
// range every ChunkSize keys while it scans, so other readers start at once.
// Ranges are half-open, lo < key <= hi; the first has no lower bound and the
// last no upper bound. A composite comparison is expanded so that the
// optimizer reads a range of the index:
//
//	(`a` > ?) OR (`a` = ? AND `b` > ?)
//
// Boundaries are the keys as the driver returns them, passed back as
// parameters that compare in the column's own order: integers as integers,
// DECIMAL through CAST(? AS DECIMAL(p,s)), text as text (compared in the
// column's collation, as the index is ordered), binary as binary, dates and
// times as their text. A key with a column of another type (FLOAT, BIT,
// ENUM, ...) and a table without a primary key (allowed with
// allow_no_primary_key) are read whole as one range. All chunks of all
// tables form one work queue served by the readers.
//
// # Values
//
// Values follow change's value set (rows are read with the text protocol
// and decoded per column type, without reflection):
//
//	TINYINT..BIGINT, YEAR       int64 (TINYINT(1)/BOOL too: MySQL means a number)
//	BIGINT UNSIGNED             int64; uint64 only above MaxInt64
//	BIT(1)                      bool
//	BIT(2..64)                  int64 (uint64 above MaxInt64), the bits as a number
//	DECIMAL, NUMERIC            change.Decimal, exact, with the column's scale
//	FLOAT                       float64 of the shortest decimal of the float32 (0.1, as MySQL shows it)
//	DOUBLE                      float64
//	CHAR, VARCHAR, TEXT         string (the connection is utf8mb4)
//	ENUM, SET                   string
//	BINARY, VARBINARY, BLOB     []byte (BINARY(n) with its zero padding)
//	DATE                        change.Date "2006-01-02"
//	DATETIME(n)                 time.Time in UTC: the wall clock read as UTC
//	TIMESTAMP(n)                time.Time in UTC (the session time zone is +00:00)
//	TIME(n)                     change.TimeOfDay, the server's text: may be negative or past 24h ("-838:59:59")
//	JSON                        change.JSON; in MariaDB, a LONGTEXT with CHECK (json_valid(col))
//	spatial types               string, WKT (ST_AsText)
//	UUID, INET6, INET4 (MariaDB) string, the server's text ("123e4567-e89b-12d3-a456-426614174000", "::ffff:1.2.3.4", "1.2.3.4")
//	others                      string
//
// Zero and invalid dates ("0000-00-00", "2024-00-10", "2024-02-31",
// "0000-00-00 00:00:00"), which MySQL stores where sql_mode allows them,
// follow Config.ZeroDates, in the snapshot and the stream alike: keep (the
// default) gives the server's text, a DATE as change.Date("0000-00-00"), a
// DATETIME or TIMESTAMP as the string "0000-00-00 00:00:00" (with the
// column's fraction digits), as no time.Time can hold it; null gives nil
// (counted per table, runstats.ZeroNulled); dead_letter sends the row to
// the dead letters (stage decode, with the column and value; Snapshot
// hands them to Config.OnDeadLetter, SnapshotAndStream with the stream's
// first Progress).
//
// # Change capture
//
// The stream reads the binlog as a replica does (go-mysql's BinlogSyncer,
// with the server's flavor, MariaDB or MySQL, from SELECT VERSION()),
// under StreamConfig.ServerID, which must be unique among the server's
// replicas (0: 1<<30 + FNV-1a(Name) % 1<<20). [SnapshotAndStream] takes
// the snapshot and opens the stream at its binlog coordinate; [OpenStream]
// resumes after a checkpoint. Invariants:
//
//   - Nothing is missed or repeated between snapshot and stream: the
//     stream starts at the snapshot's coordinate P, and the snapshot holds
//     every change of the captured tables before P and none after (see
//     "Consistent point").
//   - Next returns whole transactions only, in commit order: a transaction
//     ends at its XID event (or at a COMMIT query, for tables of
//     non-transactional engines); a DDL statement is a transaction of its
//     own. Transactions already received are coalesced into one Progress
//     (up to about 1000 changes, 10000 events or 100 ms), but Next never
//     waits for more once it has something to return. Consecutive changes of one table form one
//     batch.
//   - Checkpoint is "file:offset" of the end of the last transaction's
//     commit event: opening the stream from it resumes with the next
//     transaction. Transactions of other tables and the server's heartbeats
//     (every StreamConfig.Heartbeat while the binlog is idle; only at a
//     transaction boundary) yield a Progress without batches and with the
//     advanced checkpoint, so acknowledgements go on while the captured
//     tables are idle. Checkpoints never go back; a rotation to the next
//     binlog file shows in the next checkpoint and SourcePos. A MariaDB GTID
//     position ("0-1-42") is accepted by OpenStream too, for replay.
//   - A change's Position is change.BinlogPosition(file, start offset of
//     its rows event, row in the event + 1), its SourcePos
//     "file:start offset", its CommitTime the event's timestamp (seconds).
//     Positions grow in commit order and exceed the snapshot's. An UPDATE
//     that changes the primary key becomes a delete of the old key and a
//     create of the new one (at the same position).
//   - Before and After are full images (binlog_row_image=FULL), decoded to
//     the same Go types as the snapshot's values of the column (see
//     "Values"; latin1 text is converted to UTF-8 when the binlog carries
//     the collations, binlog_row_metadata=FULL). MariaDB's UUID, INET6
//     and INET4 columns are in the binlog as their storage, BINARY(16)
//     and BINARY(4): a table map column of the storage type of a column
//     the catalog declares UUID, INET6 or INET4 is that column unchanged,
//     and its bytes are rendered as the server renders the value.
//     MariaDB's COMPRESSED columns are written to the binlog in a form the
//     binlog reader cannot decode: the table map event of a captured table
//     with one stops the stream with an error naming the table and the
//     column. A row
//     that cannot be decoded becomes a dead letter (stage decode) of its
//     transaction.
//   - Schema changes: each table map event of a captured table says which
//     columns the following rows have (by name with
//     binlog_row_metadata=FULL, by count and type otherwise). When they
//     differ from the table's schema the table is described again and the
//     following batches carry a new *change.Table with the binlog's columns
//     (taken by name from the schema now, or before, or derived from the
//     binlog for a column dropped since), same Database, Name and key
//     semantics; the mapping stage notices the change by the columns. An
//     ALTER, RENAME or CREATE naming a captured table makes the next table
//     map event be checked; a captured table that is gone (DROP TABLE,
//     DROP DATABASE, renamed away) stops the stream with an error naming
//     it.
//   - TRUNCATE of a captured table writes no row deletes to the binlog.
//     With StreamConfig.Truncate "fail" (the default) Next returns an error
//     naming the table (re-sync with --snapshot always); with "ignore" the
//     stream goes on and the views keep the truncated rows.
//   - Ack only records the newest acknowledged checkpoint (a replica holds
//     nothing on the server: the caller's checkpoint file is the durable
//     state); it never waits for Next. Close releases the binlog and SQL
//     connections, may be called twice and while Next blocks in another
//     goroutine (Next then returns an error).
//   - One captured table's failure: a row that cannot be decoded (or that
//     zero_dates dead_letter refuses) becomes a dead letter naming its
//     table, with the reason, and the other tables' changes, and the
//     table's other rows, go on; the pipeline counts them per table
//     (runstats.Dead). Anything that stops the table from being followed
//     at all (a schema change the binlog's rows do not fit, a DROP,
//     TRUNCATE, an XA transaction, and a schema change the view's mapping
//     cannot take under schema_change: fail) stops the whole stream, and
//     the job, with an error naming the table: a table is never left
//     behind while the others go on.
//   - Errors of Next are final; the caller reopens from its last
//     acknowledged checkpoint. A lost binlog connection is such an error:
//     the stream never reconnects by itself (a silent reconnect could skip
//     or repeat part of a transaction). A server silent for three heartbeat
//     periods plus 10 s counts as lost. A position the server no longer has
//     (purged binlogs) is an error that says to re-sync.
//
// A transaction is held in memory until its commit event (MySQL's
// compressed transaction payloads are read like the plain events). An XA
// transaction that changes a captured table stops the stream with an
// error: its changes reach the binlog at XA PREPARE, before it commits or
// rolls back. MySQL's partial JSON updates
// (binlog_row_value_options=PARTIAL_JSON) become dead letters.
//
// The server must write a row binlog with full images, and should log the
// row metadata (MariaDB ≥ 10.5, MySQL ≥ 8.0), in my.cnf:
//
//	log_bin = binlog
//	binlog_format = ROW
//	binlog_row_image = FULL
//	binlog_row_metadata = FULL
//
// (binlog_format and binlog_row_image can also be set with SET GLOBAL; the
// sessions open before keep theirs). The stream checks these on open and
// says which is wrong. Beyond the snapshot's grants the user needs
// REPLICATION SLAVE to read the binlog:
//
//	GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'beamsync'@'%';
//
// (in MariaDB, BINLOG MONITOR in place of REPLICATION CLIENT).
//
// # Errors
//
// Errors say what to do: an unreachable server, a wrong password, an
// unknown database, a missing table (with similar names; wraps
// [ErrTableNotFound]), a table without a primary key (wraps
// [ErrNoPrimaryKey]), a missing privilege (with the GRANT). They name the
// server and user, never the password.
package mysql
