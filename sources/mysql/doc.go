// Package mysql reads MySQL and MariaDB tables: [Describe] returns their
// schemas and [Snapshot] reads all of them, in parallel, at one consistent
// point, as change batches (op 'r'). Binlog change capture, which continues
// from that point, is not here yet.
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
// carry the position of the snapshot; binlog CDC will give each event the
// position of its transaction in the same form, so for any one key a later
// change has a greater position than the snapshot row it replaces. Offsets
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
//	others                      string
//
// Zero and partly zero dates ("0000-00-00", "2024-00-10 00:00:00"), which
// MySQL uses for "no date" where sql_mode allows them, decode as nil, even
// in a NOT NULL column.
//
// # Errors
//
// Errors say what to do: an unreachable server, a wrong password, an
// unknown database, a missing table (with similar names; wraps
// [ErrTableNotFound]), a table without a primary key (wraps
// [ErrNoPrimaryKey]), a missing privilege (with the GRANT). They name the
// server and user, never the password.
package mysql
