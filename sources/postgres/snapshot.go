package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/jackc/pgx/v5"
)

const closeTimeout = 5 * time.Second

// SnapshotInfo describes a snapshot: where it stands in the WAL and how many
// rows it emitted per table (keyed by change.Table.QualifiedName).
type SnapshotInfo struct {
	// Position is the position every snapshot row carries: the LSN as a
	// number (hi<<32 | lo) shifted left by 8 (see the package documentation).
	Position change.Position
	// LSN is the server's text form of the LSN, e.g. "16/B374D848".
	LSN string
	// SnapshotName is the exported snapshot the readers imported.
	SnapshotName string
	// Rows is the number of rows emitted per table.
	Rows map[string]int64
	// Watermarks (with Config.Cursor) is the cursor watermark of each table
	// for the next run: pass it as Cursor.From once this snapshot's rows
	// are durably written.
	Watermarks map[string]string
}

// Snapshot reads every table at one consistent point and calls emit with
// batches of at most cfg.BatchSize changes of one table (op 'r'). Tables are
// split into primary-key chunks that cfg.Parallelism reader connections read
// concurrently; batches are emitted in chunk order as far as a bounded
// buffer allows (see chunkOrder). emit is called only from the calling
// goroutine, never concurrently, and may keep the batches it is given (values must not be
// modified: the text and bytes of one batch share a few 32 KiB blocks, so
// a value kept also keeps its block alive).
//
// Cancelling ctx stops everything promptly. The first error (of a reader,
// the planner or emit) stops all readers and is returned; SnapshotInfo then
// holds what was known so far.
func Snapshot(ctx context.Context, dsn string, cfg Config, tables []*change.Table, emit func(change.Batch) error) (SnapshotInfo, error) {
	cfg = cfg.WithDefaults()
	info := SnapshotInfo{Rows: make(map[string]int64, len(tables))}
	if err := errors.Join(cfg.validateTuning()...); err != nil {
		return info, err
	}
	if len(tables) == 0 {
		return info, errors.New("snapshot: no tables to read (pass the tables Describe returned)")
	}
	if emit == nil {
		return info, errors.New("snapshot: emit is nil")
	}
	for i, t := range tables {
		if t == nil {
			return info, fmt.Errorf("snapshot: tables[%d] is nil", i)
		}
		if _, dup := info.Rows[t.QualifiedName()]; dup {
			return info, fmt.Errorf("snapshot: table %s is listed twice", t.QualifiedName())
		}
		info.Rows[t.QualifiedName()] = 0
	}
	cc, err := parseDSN(dsn)
	if err != nil {
		return info, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{
		cfg:         cfg,
		cc:          cc,
		tables:      tables,
		cancel:      cancel,
		exported:    make(chan struct{}),
		readersDone: make(chan struct{}),
		chunks:      make(chan chunk, cfg.Parallelism),
		batches:     make(chan chunkBatch, 2*cfg.Parallelism),
		window:      make(chan struct{}, orderWindow(cfg)),
	}
	for range cap(r.window) {
		r.window <- struct{}{}
	}
	var exporter, readers sync.WaitGroup
	exporter.Add(1)
	readers.Add(cfg.Parallelism)
	go func() {
		defer exporter.Done()
		if err := r.export(ctx); err != nil {
			r.fail(err)
		}
	}()
	for range cfg.Parallelism {
		go func() {
			defer readers.Done()
			if err := r.read(ctx); err != nil {
				r.fail(err)
			}
		}()
	}
	go func() {
		readers.Wait()
		close(r.readersDone)
		exporter.Wait()
		close(r.batches)
	}()

	// Only this goroutine calls emit, in chunk order (see chunkOrder).
	// After a failure the channel is drained, without emitting, until
	// every worker has stopped.
	order := chunkOrder{pending: map[int]*pendingChunk{}, window: r.window, maxRows: orderMaxRows(cfg)}
	deliver := func(b change.Batch) error {
		if err := emit(b); err != nil {
			return fmt.Errorf("snapshot: emit: %w", err)
		}
		info.Rows[b.Table.QualifiedName()] += int64(len(b.Changes))
		return nil
	}
	for cb := range r.batches {
		if r.failed() || ctx.Err() != nil {
			continue
		}
		if err := order.add(cb, deliver); err != nil {
			r.fail(err)
		}
	}
	info.Position, info.LSN, info.SnapshotName = r.position, r.lsn, r.name
	info.Watermarks = r.watermarks
	if err := r.firstErr(); err != nil {
		return info, err
	}
	if err := ctx.Err(); err != nil { // cancelled with nothing left to read
		return info, err
	}
	return info, nil
}

// run is the state of one Snapshot call.
type run struct {
	cfg    Config
	cc     *pgx.ConnConfig
	tables []*change.Table
	cancel context.CancelFunc

	mu  sync.Mutex
	err error

	// Set by the exporter before exported is closed; read-only after.
	exported   chan struct{}
	name, lsn  string
	position   change.Position
	commitTime time.Time
	sourcePos  string
	watermarks map[string]string // the next cursor watermarks (Config.Cursor)

	readersDone chan struct{} // closed when every reader has returned
	chunks      chan chunk
	batches     chan chunkBatch
	window      chan struct{} // a token per chunk in flight (see chunkOrder)
}

// chunkBatch is a batch of one chunk, as a reader hands it over.
type chunkBatch struct {
	seq   int  // the chunk's place in planning (key) order
	last  bool // the chunk's last batch (possibly empty)
	batch change.Batch
}

// orderWindow is the number of chunks that may be in flight at once:
// being read, or read and waiting for an earlier chunk to be emitted. A
// chunk holds at most ChunkSize rows (its boundaries were planned in the
// same snapshot), so up to 1 + orderMaxRows/ChunkSize chunks never make
// more than orderMaxRows rows wait; at least Parallelism, so that every
// reader has a chunk, and at most twice that.
func orderWindow(cfg Config) int {
	return max(cfg.Parallelism, min(2*cfg.Parallelism, 1+orderMaxRows(cfg)/cfg.ChunkSize))
}

// orderMaxRows bounds the rows that wait for an earlier chunk; beyond it the
// snapshot stops keeping chunk order (see chunkOrder).
func orderMaxRows(cfg Config) int { return cfg.Parallelism << 14 }

// chunkOrder hands the batches on in chunk order: the batches of the chunk
// being emitted go on as they come; those of later chunks wait until every
// earlier chunk is done. The planner takes a window token per chunk and the
// emitter gives it back once the chunk is emitted, so that at most
// orderWindow chunks are read ahead.
//
// Chunks are planned in primary-key order and a reader streams its chunk in
// the order the server returns it (the primary-key order of an index
// scan): a consumer that keeps its input sorted by key (the file sink)
// then receives it sorted and need not sort it. Order is an optimisation,
// not a guarantee: when more than maxRows rows wait (a chunk far slower than
// the others, or chunks much larger than the default), everything waiting
// is handed on and the rest of the snapshot goes on in arrival order, so
// memory stays bounded whatever the configuration.
type chunkOrder struct {
	next      int // the chunk being emitted
	pending   map[int]*pendingChunk
	waiting   int // rows in pending
	maxRows   int
	unordered bool
	window    chan struct{}
}

type pendingChunk struct {
	batches []change.Batch
	done    bool
}

// add takes the next batch a reader handed over and delivers what can go
// on (never an empty batch).
func (o *chunkOrder) add(cb chunkBatch, deliver func(change.Batch) error) error {
	empty := len(cb.batch.Changes) == 0
	if o.unordered {
		if cb.last {
			o.window <- struct{}{}
		}
		if empty {
			return nil
		}
		return deliver(cb.batch)
	}
	if cb.seq != o.next {
		p := o.pending[cb.seq]
		if p == nil {
			p = &pendingChunk{}
			o.pending[cb.seq] = p
		}
		if len(cb.batch.Changes) > 0 {
			p.batches = append(p.batches, cb.batch)
			o.waiting += len(cb.batch.Changes)
		}
		p.done = cb.last
		if o.waiting > o.maxRows {
			return o.giveUp(deliver)
		}
		return nil
	}
	if !empty {
		if err := deliver(cb.batch); err != nil {
			return err
		}
	}
	for done := cb.last; done; {
		o.next++
		o.window <- struct{}{}
		p := o.pending[o.next]
		if p == nil {
			break
		}
		delete(o.pending, o.next)
		for _, b := range p.batches {
			o.waiting -= len(b.Changes)
			if err := deliver(b); err != nil {
				return err
			}
		}
		done = p.done
	}
	return nil
}

// giveUp hands on every waiting batch and stops keeping chunk order.
func (o *chunkOrder) giveUp(deliver func(change.Batch) error) error {
	o.unordered = true
	seqs := make([]int, 0, len(o.pending))
	for seq := range o.pending {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		p := o.pending[seq]
		delete(o.pending, seq)
		if p.done {
			o.window <- struct{}{}
		}
		for _, b := range p.batches {
			if err := deliver(b); err != nil {
				return err
			}
		}
	}
	o.waiting = 0
	return nil
}

// fail records the first error and stops everything.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel()
}

func (r *run) failed() bool { return r.firstErr() != nil }

func (r *run) firstErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// export opens the snapshot and keeps its transaction open until the
// readers are done: it plans the chunks of all tables inside it, and its
// ACCESS SHARE locks (taken right after the export, as pg_dump does) keep a
// TRUNCATE or table rewrite, which MVCC would not hide, from slipping under
// the readers.
//
// Invariant: every row emitted is read in a transaction that imported the
// snapshot exported here, so all rows show the database as of one instant;
// each carries Position = the WAL insert position read in the same statement
// that took the snapshot. Every transaction visible in the snapshot committed
// at or before Position. (A transaction whose commit record precedes
// Position by a hair may still be invisible — PostgreSQL publishes commits
// after writing them to the WAL — so a change-data-capture stream that
// resumes from here must take its start point from a replication slot's
// exported snapshot, not from this position alone.)
func (r *run) export(ctx context.Context) error {
	conn, err := connect(ctx, r.cc)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return queryError("opening the snapshot transaction", err)
	}
	var now time.Time
	if slot := r.cfg.slotSnapshot; slot != nil {
		// The snapshot a replication slot exported at its consistent point:
		// the change stream starts exactly where it ends.
		if _, err := conn.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(slot.name, "'", "''")+"'"); err != nil {
			return queryError("importing the replication slot's snapshot", err)
		}
		r.name, r.lsn = slot.name, slot.lsn
		err = conn.QueryRow(ctx, "SELECT now()").Scan(&now)
	} else {
		err = conn.QueryRow(ctx, "SELECT pg_export_snapshot(), pg_current_wal_lsn()::text, now()").Scan(&r.name, &r.lsn, &now)
	}
	if err != nil {
		if isPgCode(err, "55000") { // object_not_in_prerequisite_state: a standby
			return fmt.Errorf("exporting the snapshot: %w — connect to the primary server", err)
		}
		return queryError("exporting the snapshot", err)
	}
	pos, err := lsnToPosition(r.lsn)
	if err != nil {
		return err
	}
	r.position = lsnPosition(pos, 0)
	r.commitTime = now.UTC()
	r.sourcePos = "snapshot@" + r.lsn

	types := newTypeCatalog()
	plans := make([]*tablePlan, len(r.tables))
	var lock []string
	for i, t := range r.tables {
		if plans[i], err = buildPlan(ctx, conn, types, t, r.cfg.AllowNoPrimaryKey); err != nil {
			return err
		}
		if r.cfg.Cursor != nil {
			if err := plans[i].addCursor(ctx, conn, r.cfg.Cursor); err != nil {
				return err
			}
		}
		if plans[i].lockable {
			lock = append(lock, plans[i].rel)
		}
	}
	if len(lock) > 0 {
		if _, err := conn.Exec(ctx, "LOCK TABLE "+strings.Join(lock, ", ")+" IN ACCESS SHARE MODE"); err != nil {
			return queryError("locking the tables", err)
		}
	}
	if r.cfg.onExported != nil {
		r.cfg.onExported()
	}
	close(r.exported)

	seq := 0
	send := func(c chunk) error {
		select {
		case <-r.window:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.seq = seq
		seq++
		if r.cfg.onChunk != nil {
			r.cfg.onChunk(c.plan.name, c.lower, c.upper)
		}
		select {
		case r.chunks <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, p := range plans {
		if err := planChunks(ctx, conn, p, r.cfg.ChunkSize, send); err != nil {
			return err
		}
	}
	close(r.chunks)
	if r.cfg.Cursor != nil {
		if r.watermarks, err = nextWatermarks(ctx, conn, plans, r.cfg.Cursor); err != nil {
			return err
		}
	}

	select {
	case <-r.readersDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return queryError("closing the snapshot transaction", err)
	}
	return nil
}

// read is one reader: it imports the snapshot and reads chunks until the
// queue is closed.
func (r *run) read(ctx context.Context) error {
	conn, err := connect(ctx, r.cc) // concurrently with the export
	if err != nil {
		return err
	}
	defer closeConn(conn)
	select {
	case <-r.exported:
	case <-ctx.Done():
		return ctx.Err()
	}
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return queryError("opening a reader transaction", err)
	}
	if _, err := conn.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(r.name, "'", "''")+"'"); err != nil {
		return queryError("importing the snapshot", err)
	}

	rd := reader{run: r, conn: conn}
	for {
		select {
		case c, ok := <-r.chunks:
			if !ok {
				if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
					return queryError("closing a reader transaction", err)
				}
				return nil
			}
			if err := rd.readChunk(ctx, c); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type reader struct {
	run  *run
	conn *pgx.Conn
}

// readChunk streams one chunk and sends it on in batches. Each batch owns
// fresh slices: the consumer may keep them.
func (rd *reader) readChunk(ctx context.Context, c chunk) error {
	r, p := rd.run, c.plan
	rows, err := rd.conn.Query(ctx, p.selectSQL[c.shape()], c.args()...)
	if err != nil {
		return queryError("reading "+c.String(), err)
	}
	defer rows.Close()

	ncol, keys := len(p.decoders), p.table.Key
	size := r.cfg.BatchSize
	if len(keys) > 0 && r.cfg.ChunkSize < size {
		size = r.cfg.ChunkSize
	}
	var (
		changes []change.Change
		vals    []any
		keyVals []any
		mem     arena
	)
	alloc := func() {
		mem = arena{}
		changes = make([]change.Change, 0, size)
		vals = make([]any, size*ncol)
		if len(keys) > 0 {
			keyVals = make([]any, size*len(keys))
		}
	}
	send := func(last bool) error {
		select {
		case r.batches <- chunkBatch{seq: c.seq, last: last, batch: change.Batch{Table: p.table, Changes: changes}}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	alloc()
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != ncol {
			return fmt.Errorf("reading %s: got %d columns, want %d", c, len(raw), ncol)
		}
		i := len(changes)
		row := vals[i*ncol : (i+1)*ncol : (i+1)*ncol]
		for j, d := range p.decoders {
			if raw[j] == nil {
				continue
			}
			v, err := d.decode(raw[j], &mem)
			if err != nil {
				return fmt.Errorf("reading %s: column %s (%s): %w", c, quoteIfNeeded(p.table.Columns[j].Name), p.table.Columns[j].Type, err)
			}
			row[j] = v
		}
		var key []any
		if len(keys) > 0 {
			key = keyVals[i*len(keys) : (i+1)*len(keys) : (i+1)*len(keys)]
			for j, k := range keys {
				key[j] = row[k]
			}
		}
		changes = append(changes, change.Change{
			Op:         change.OpRead,
			Key:        key,
			After:      row,
			CommitTime: r.commitTime,
			Position:   r.position,
			SourcePos:  r.sourcePos,
		})
		if len(changes) == size {
			if err := send(false); err != nil {
				return err
			}
			alloc()
		}
	}
	if err := rows.Err(); err != nil {
		return queryError("reading "+c.String(), err)
	}
	// The chunk's last batch, even empty: it ends the chunk (chunkOrder).
	return send(true)
}
