package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// lockWaitTimeout bounds, in seconds, each attempt to lock the captured
// tables. While FLUSH TABLES waits (for a long query or an open transaction
// on a table), writers and readers of the table queue behind it, so it must
// give up early rather than stall the server. (Variables for tests.)
var (
	lockWaitTimeout = 10
	lockAttempts    = 3
)

// point is the consistent point of a snapshot.
type point struct {
	file   string    // binlog file
	offset uint64    // offset in it
	gtid   string    // MariaDB @@gtid_binlog_pos, MySQL @@gtid_executed
	time   time.Time // server time (UTC)
}

// establish puts every reader connection into a transaction that sees the
// captured tables exactly as they are at one binlog position, and returns
// that position.
//
// MySQL cannot share one snapshot between connections, so the tables are
// held still while each reader opens its own:
//
//  1. FLUSH TABLES t1, t2, ... WITH READ LOCK on the lock connection. It
//     waits until every transaction that uses a captured table has ended,
//     then stops all writes to them (reads go on) until UNLOCK TABLES.
//  2. START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY on every reader
//     (REPEATABLE READ): each takes its InnoDB read view now.
//  3. SHOW MASTER STATUS and the GTID position, on the lock connection.
//  4. UNLOCK TABLES.
//
// Why the table-scoped lock suffices (a global FLUSH TABLES WITH READ LOCK
// is not needed, and would stop writes to every table of the server): all
// that matters is the content of the captured tables. While the lock is
// held no committed change to them is pending and none can begin, so every
// read view taken in step 2 sees the same content, and every binlog event
// of a captured table lies before the position read in step 3 if its
// transaction committed before the lock, and after it if it commits after
// the unlock. Transactions on other tables go on committing during the
// lock, so the binlog position read in step 3 and the GTID read next to it
// may differ by events of other tables; any position read while the lock is
// held divides the captured tables' changes the same way, so each is a
// correct consistent point for them.
func (s *source) establish(ctx context.Context, lock *sql.Conn, readers []*sql.Conn, plans []*tablePlan) (point, error) {
	names := make([]string, len(plans))
	for i, p := range plans {
		names[i] = p.from
	}
	if _, err := lock.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", lockWaitTimeout)); err != nil {
		return point{}, fmt.Errorf("mysql: setting lock_wait_timeout on %s: %w", s.srv, err)
	}
	var lockID int64
	if err := lock.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&lockID); err != nil {
		return point{}, fmt.Errorf("mysql: reading the connection id on %s: %w", s.srv, err)
	}
	lockSQL := "FLUSH TABLES " + strings.Join(names, ", ") + " WITH READ LOCK"
	for attempt := 1; ; attempt++ {
		_, err := lock.ExecContext(ctx, lockSQL)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			// The driver dropped the connection, but the server may go on
			// waiting for the lock, and everyone else on the tables with
			// it, until lock_wait_timeout: stop it now.
			kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = readers[0].ExecContext(kctx, "KILL QUERY ?", lockID)
			cancel()
			return point{}, context.Cause(ctx)
		}
		if serverErrno(err) == erLockWaitTimeout && attempt < lockAttempts {
			select {
			case <-time.After(time.Duration(attempt) * time.Second):
				continue
			case <-ctx.Done():
				return point{}, context.Cause(ctx)
			}
		}
		return point{}, s.lockError(err, plans)
	}
	// Invariant: from here until UNLOCK TABLES no transaction can change a
	// captured table, and no transaction that changed one is still open.
	locked := true
	defer func() {
		if locked { // an error: release the tables at once (closing the connection would too)
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = lock.ExecContext(uctx, "UNLOCK TABLES")
		}
	}()

	started := make(chan error, len(readers))
	for _, r := range readers {
		go func() {
			_, err := r.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
			started <- err
		}()
	}
	pt, perr := s.coordinates(ctx, lock, plans[0].t.Database)
	var serr error
	for range readers {
		if err := <-started; err != nil && serr == nil {
			serr = fmt.Errorf("mysql: starting a snapshot transaction on %s: %w", s.srv, err)
		}
	}
	if err := errors.Join(perr, serr); err != nil {
		return point{}, err
	}
	// Invariant: every reader's read view was taken while the lock was
	// held, so all of them see the captured tables as of binlog position
	// pt: they hold every change of those tables before it and none after.
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return point{}, fmt.Errorf("mysql: unlocking the captured tables on %s: %w", s.srv, err)
	}
	locked = false
	return pt, nil
}

// lockError explains a refused FLUSH TABLES ... WITH READ LOCK.
func (s *source) lockError(err error, plans []*tablePlan) error {
	db := plans[0].t.Database
	switch serverErrno(err) {
	case erSpecificAccessDenied:
		return fmt.Errorf("mysql: user %q may not lock the captured tables for a consistent snapshot (FLUSH TABLES ... WITH READ LOCK needs the RELOAD privilege): %s (%w)",
			s.srv.user, grantAdvice(s.srv.user, db), err)
	case erDBAccessDenied, erTableAccessDenied:
		return fmt.Errorf("mysql: user %q may not lock the captured tables for a consistent snapshot (FLUSH TABLES ... WITH READ LOCK needs LOCK TABLES and SELECT on them): %s (%w)",
			s.srv.user, grantAdvice(s.srv.user, db), err)
	case erLockWaitTimeout:
		return fmt.Errorf("mysql: could not lock the captured tables within %ds in %d attempts: a long-running query or open transaction uses them (see SHOW PROCESSLIST); retry when it has ended (%w)",
			lockWaitTimeout, lockAttempts, err)
	case erNoSuchTable:
		return fmt.Errorf("mysql: %w: locking the captured tables: %w", ErrTableNotFound, err)
	}
	return fmt.Errorf("mysql: locking the captured tables on %s: %w", s.srv, err)
}

// coordinates reads the binlog position, the GTID position and the server
// time (db is for advice in errors).
func (s *source) coordinates(ctx context.Context, c *sql.Conn, db string) (point, error) {
	var pt point
	rows, err := c.QueryContext(ctx, "SHOW MASTER STATUS")
	if serverErrno(err) == erParseError { // MySQL 8.4 renamed it
		rows, err = c.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	}
	if err != nil {
		if serverErrno(err) == erSpecificAccessDenied {
			return pt, fmt.Errorf("mysql: user %q may not read the binlog position (SHOW MASTER STATUS needs REPLICATION CLIENT, named BINLOG MONITOR in MariaDB): %s (%w)",
				s.srv.user, grantAdvice(s.srv.user, db), err)
		}
		return pt, fmt.Errorf("mysql: reading the binlog position on %s: %w", s.srv, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return pt, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	found := false
	if rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return pt, err
		}
		found = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return pt, fmt.Errorf("mysql: reading the binlog position on %s: %w", s.srv, err)
	}
	if !found {
		return pt, fmt.Errorf("mysql: binary logging is off on %s: start the server with log_bin, binlog_format=ROW and binlog_row_image=FULL (a snapshot's position is a binlog position)", s.srv.addr)
	}
	var pos string
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			pt.file = vals[i].String
		case "position":
			pos = vals[i].String
		}
	}
	if _, err := fmt.Sscan(pos, &pt.offset); err != nil || pt.file == "" {
		return pt, fmt.Errorf("mysql: unexpected SHOW MASTER STATUS answer: file %q, position %q", pt.file, pos)
	}

	gtidVar := "@@GLOBAL.gtid_executed"
	if s.mariadb {
		gtidVar = "@@GLOBAL.gtid_binlog_pos"
	}
	var now []byte
	var gtid sql.NullString
	err = c.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6), "+gtidVar).Scan(&now, &gtid)
	if serverErrno(err) == erUnknownSystemVar {
		gtid = sql.NullString{}
		err = c.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&now)
	}
	if err != nil {
		return pt, fmt.Errorf("mysql: reading the server time on %s: %w", s.srv, err)
	}
	t, _, ok := parseDateTime(now)
	if !ok {
		return pt, fmt.Errorf("mysql: unexpected server time %q", now)
	}
	pt.time, pt.gtid = t, strings.ReplaceAll(gtid.String, "\n", "")
	return pt, nil
}
