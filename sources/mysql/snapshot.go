package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/beamsync/beamsync/change"
)

// SnapshotInfo describes a finished snapshot.
type SnapshotInfo struct {
	// Position is the consistent point as a change.Position (the binlog
	// file's sequence number << 32 | offset); every row carries it.
	Position change.Position
	// File and Offset are the binlog coordinates of the consistent point.
	File   string
	Offset uint64
	// GTID is the GTID position at the consistent point (MariaDB
	// gtid_binlog_pos, MySQL gtid_executed; empty when GTIDs are off).
	GTID string
	// Rows is the number of rows read per table, by "db.table".
	Rows map[string]int64
	// Watermarks (with Config.Cursor) is the cursor watermark of each table
	// for the next run: pass it as Cursor.From once this snapshot's rows
	// are durably written.
	Watermarks map[string]string
}

// Snapshot reads every table at one consistent point and hands the rows to
// emit in batches of at most cfg.BatchSize rows of one table, as changes
// with op 'r', the snapshot's position and the server's UTC time at the
// snapshot as commit time. The tables are those Describe returned (they,
// not cfg.Tables, say what is read).
//
// cfg.Parallelism reader connections share a work queue of primary-key
// chunks of all tables. emit is called only from the calling goroutine;
// the readers hand batches over a bounded channel, so a slow emit slows the
// readers down rather than filling memory. An error of emit or of any
// reader, or cancelling ctx, stops everything; the first error is returned
// (with the info gathered so far). Batches of different tables and chunks
// arrive in no particular order.
func Snapshot(ctx context.Context, dsn string, cfg Config, tables []*change.Table, emit func(change.Batch) error) (SnapshotInfo, error) {
	info := SnapshotInfo{Rows: map[string]int64{}}
	if err := cfg.validateSizes(); err != nil {
		return info, err
	}
	cfg = cfg.WithDefaults()
	if len(tables) == 0 {
		return info, errors.New("mysql: snapshot of no tables: pass the tables Describe returns")
	}
	if cfg.ZeroDates == ZeroDatesDeadLetter && cfg.OnDeadLetter == nil {
		return info, errors.New("mysql: zero_dates: dead_letter needs somewhere to send the rows: set Config.OnDeadLetter")
	}
	plans := make([]*tablePlan, len(tables))
	for i, t := range tables {
		p, err := newPlan(t)
		if err != nil {
			return info, err
		}
		if _, dup := info.Rows[p.name]; dup {
			return info, fmt.Errorf("mysql: table %s is listed twice", p.name)
		}
		info.Rows[p.name] = 0
		plans[i] = p
		if cfg.Cursor != nil {
			if err := p.addCursor(cfg.Cursor); err != nil {
				return info, err
			}
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s, err := open(ctx, dsn, cfg.Parallelism+1)
	if err != nil {
		return info, err
	}
	defer s.close()

	// Open and set up every connection before locking: the lock is held
	// only for the few statements of establish.
	lock, err := s.session(ctx)
	if err != nil {
		return info, err
	}
	defer lock.Close()
	conns := make([]*sql.Conn, cfg.Parallelism)
	for i := range conns {
		if conns[i], err = s.session(ctx); err != nil {
			return info, err
		}
		defer conns[i].Close()
	}

	pt, err := s.establish(ctx, lock, conns, plans)
	if err != nil {
		return info, err
	}
	pos, err := binlogPosition(pt.file, pt.offset)
	if err != nil {
		return info, err
	}
	info.Position, info.File, info.Offset, info.GTID = pos, pt.file, pt.offset, pt.gtid
	if cfg.Cursor != nil {
		// On a reader's connection: inside the consistent snapshot.
		if info.Watermarks, err = nextWatermarks(ctx, conns[0], plans, cfg.Cursor, pt.time); err != nil {
			return info, err
		}
	}
	if cfg.OnSnapshot != nil {
		cfg.OnSnapshot()
	}

	q := newQueue()
	for _, p := range plans {
		if p.chunk {
			q.push(task{scan: p})
		} else {
			q.push(task{chunk: chunk{p: p}})
		}
	}
	stop := context.AfterFunc(ctx, q.close)
	defer stop()

	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			cancel(err)
		})
	}
	out := make(chan snapItem, cfg.Parallelism)
	for _, c := range conns {
		r := &reader{
			conn: c, q: q, out: out, fail: fail, srv: s.srv, zeroDates: cfg.ZeroDates,
			batchSize: cfg.BatchSize, chunkSize: cfg.ChunkSize,
			pos: pos, sourcePos: sourcePos(pt.file, pt.offset), at: pt.time,
		}
		wg.Go(func() {
			if err := r.run(ctx); err != nil {
				fail(err)
			}
		})
	}
	wg.Go(func() {
		if err := s.checkSchema(ctx, lock, plans); err != nil {
			fail(err)
		}
	})
	go func() {
		wg.Wait()
		close(out)
	}()

	for it := range out {
		if ctx.Err() != nil {
			continue // stopping: let the readers drain out
		}
		if it.dead != nil {
			if err := cfg.OnDeadLetter(*it.dead); err != nil {
				fail(fmt.Errorf("mysql: sending a dead letter of %s: %w", it.dead.Table, err))
			}
			continue
		}
		b := it.batch
		if err := emit(b); err != nil {
			fail(fmt.Errorf("mysql: emitting a batch of %s: %w", b.Table.QualifiedName(), err))
		}
	}
	for _, p := range plans {
		info.Rows[p.name] = p.rows.Load()
	}
	if firstErr != nil {
		return info, firstErr
	}
	if err := ctx.Err(); err != nil {
		return info, context.Cause(ctx)
	}
	return info, nil
}

// validateSizes checks the sizes of c (Snapshot takes its tables from its
// argument, not from c.Tables).
func (c *Config) validateSizes() error {
	if len(c.Tables) > 0 {
		return c.Validate()
	}
	v := *c
	v.Tables = []string{"x"}
	return v.Validate()
}

// checkSchema verifies that the columns read still have the types Describe
// saw. It runs after the unlock: a change made before the lock shows here;
// one made after it fails the readers' first statement on the table
// (ER_TABLE_DEF_CHANGED) or, for an in-place change, leaves the columns
// read unchanged.
func (s *source) checkSchema(ctx context.Context, c *sql.Conn, plans []*tablePlan) error {
	for _, p := range plans {
		rows, err := c.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, p.t.Database, p.t.Name)
		if err != nil {
			return queryError(err, s.srv, "checking the schema of "+p.name)
		}
		now := map[string]string{}
		for rows.Next() {
			var n, t string
			if err := rows.Scan(&n, &t); err != nil {
				rows.Close()
				return err
			}
			now[n] = t
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return queryError(err, s.srv, "checking the schema of "+p.name)
		}
		for _, col := range p.t.Columns {
			t, ok := now[col.Name]
			switch {
			case !ok:
				return fmt.Errorf("mysql: the schema of %s changed since Describe: column %q is gone; describe the tables again", p.name, col.Name)
			case t != col.Type:
				return fmt.Errorf("mysql: the schema of %s changed since Describe: column %q is now %s, was %s; describe the tables again", p.name, col.Name, t, col.Type)
			}
		}
	}
	return nil
}
