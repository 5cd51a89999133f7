package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
)

// reader is one connection of a snapshot, in its snapshot transaction,
// serving tasks of the shared queue.
type reader struct {
	conn      *sql.Conn
	q         *queue
	out       chan<- snapItem
	fail      func(error)
	zeroDates string // Config.ZeroDates
	srv       server
	batchSize int
	chunkSize int

	pos       change.Position
	sourcePos string
	at        time.Time
}

// snapItem is what a reader hands Snapshot: a batch, or a row for the
// dead letters.
type snapItem struct {
	batch change.Batch
	dead  *change.DeadLetter
}

// run serves tasks until the queue is done, then ends the transaction.
func (r *reader) run(ctx context.Context) error {
	for {
		t, ok := r.q.next()
		if !ok {
			break
		}
		var err error
		if t.scan != nil {
			err = r.scan(ctx, t.scan)
		} else {
			err = r.read(ctx, t.chunk)
		}
		r.q.done()
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("mysql: ending a snapshot transaction on %s: %w", r.srv, err)
	}
	return nil
}

// query runs a statement on the driver connection itself and calls row for
// each row with the driver's values (valid until the next row): no
// database/sql conversion on the hot path. An error of row stops the whole
// snapshot before the rest of the result is discarded.
func (r *reader) query(ctx context.Context, what, query string, args []any, row func([]driver.Value) error) error {
	return r.conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("mysql: the driver connection cannot run queries")
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := qc.QueryContext(ctx, query, named)
		if err != nil {
			return queryError(err, r.srv, what)
		}
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			err := rows.Next(dest)
			if err == io.EOF {
				break
			}
			if err == nil {
				err = row(dest)
			}
			if err != nil {
				if ctx.Err() != nil {
					err = context.Cause(ctx)
				} else {
					err = queryError(err, r.srv, what)
					r.fail(err) // cancels: the driver drops the connection instead of reading the rest
				}
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return queryError(err, r.srv, what)
		}
		return nil
	})
}

// scan runs the boundary scan of a table inside the snapshot: one pass over
// the primary key in index order, queueing a chunk every chunkSize keys as
// it goes, so other readers start on the first chunks at once. Boundaries
// are the keys as the driver returns them, passed back as parameters.
func (r *reader) scan(ctx context.Context, p *tablePlan) error {
	var lo []any
	n := 0
	err := r.query(ctx, "scanning the keys of "+p.name, p.boundarySQL, nil, func(v []driver.Value) error {
		n++
		if n%r.chunkSize != 0 {
			return nil
		}
		hi := make([]any, p.nkey)
		for i, k := range p.key {
			b, err := boundaryParam(&p.cols[k], v[i])
			if err != nil {
				return err
			}
			hi[i] = b
		}
		r.q.push(task{chunk: chunk{p: p, lo: lo, hi: hi}})
		lo = hi
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		r.q.push(task{chunk: chunk{p: p, lo: lo}})
	}
	return nil
}

// read reads one chunk and sends its rows in batches.
func (r *reader) read(ctx context.Context, c chunk) error {
	p := c.p
	query, args := c.query()
	ncol, nkey := len(p.cols), p.nkey
	var (
		b     change.Batch
		vals  []any // slab of the rows of b
		keys  []any // slab of the keys of b
		a     arena // of the row being decoded
		count int64
	)
	err := r.query(ctx, "reading "+p.name, query, args, func(v []driver.Value) error {
		if b.Changes == nil {
			b = change.Batch{Table: p.t, Changes: make([]change.Change, 0, r.batchSize)}
			vals = make([]any, r.batchSize*ncol)
			keys = make([]any, r.batchSize*nkey)
		}
		i := len(b.Changes)
		row := vals[i*ncol : (i+1)*ncol : (i+1)*ncol]
		a.reset(p.cols, v)
		var deadErr error
		for j := range p.cols {
			x, err := decode(&p.cols[j], v[j], &a)
			if err != nil {
				var nulled bool
				if x, nulled, err = zeroPolicy(r.zeroDates, x, err); nulled {
					runstats.Add(runstats.ZeroNulled, p.t.QualifiedName(), 1)
				}
				if _, ok := err.(*invalidDateError); ok {
					deadErr, err = err, nil
				}
				if err != nil {
					return err
				}
			}
			row[j] = x
		}
		var key []any
		if nkey > 0 {
			key = keys[i*nkey : (i+1)*nkey : (i+1)*nkey]
			for j, k := range p.key {
				key[j] = row[k]
			}
		}
		if deadErr != nil {
			return r.sendDead(ctx, change.DeadLetter{
				Stage: change.StageDecode, Table: p.t.QualifiedName(), Key: change.JSON(change.AppendJSON(nil, key)),
				Position: r.pos, SourcePos: r.sourcePos, Row: change.RowJSON(p.t, row),
				Reason: fmt.Sprintf("reading %s in the snapshot: %v (zero_dates: dead_letter)", p.t.QualifiedName(), deadErr),
			})
		}
		b.Changes = append(b.Changes, change.Change{
			Op: change.OpRead, Key: key, After: row,
			CommitTime: r.at, Position: r.pos, SourcePos: r.sourcePos,
		})
		count++
		if len(b.Changes) == r.batchSize {
			err := r.send(ctx, b)
			b = change.Batch{}
			return err
		}
		return nil
	})
	p.rows.Add(count)
	if err != nil {
		return err
	}
	if len(b.Changes) > 0 {
		return r.send(ctx, b)
	}
	return nil
}

func (r *reader) send(ctx context.Context, b change.Batch) error {
	select {
	case r.out <- snapItem{batch: b}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (r *reader) sendDead(ctx context.Context, d change.DeadLetter) error {
	select {
	case r.out <- snapItem{dead: &d}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
