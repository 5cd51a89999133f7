package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/beamsync/beamsync/change"
)

// StreamConfig configures change capture (see "Change capture" in the
// package documentation).
type StreamConfig struct {
	// Name names the defaults of Slot and Publication: "beamsync_<name>".
	Name string `json:"name"`
	// Slot is the logical replication slot; Publication the publication
	// of the captured tables. Both are created when missing.
	Slot        string `json:"slot"`
	Publication string `json:"publication"`
	// StatusInterval is how often the stream reports its acknowledged
	// position to the server and asks for a keepalive (default 10s).
	StatusInterval time.Duration `json:"status_interval"`
	// Truncate says what a TRUNCATE of a captured table does: "fail" (the
	// default: the stream stops, the views need a new snapshot) or
	// "ignore".
	Truncate string `json:"truncate"`
	// Toast says how updates that leave a TOASTed value unchanged are
	// handled: "require_full" (the default: a captured table with columns
	// PostgreSQL may store out of line must have REPLICA IDENTITY FULL, so
	// that the unchanged value is taken from the old row) or "unchanged"
	// (the value is sent as change.Unchanged: a view that reads it
	// dead-letters the row).
	Toast string `json:"toast"`
}

// Policies of StreamConfig.
const (
	TruncateFail      = "fail"
	TruncateIgnore    = "ignore"
	ToastRequireFull  = "require_full"
	ToastUnchanged    = "unchanged"
	defaultStatusTick = 10 * time.Second
)

// WithDefaults fills the zero fields.
func (c StreamConfig) WithDefaults() StreamConfig {
	def := "beamsync_" + strings.Trim(badSlotChars.ReplaceAllString(strings.ToLower(c.Name), "_"), "_")
	if len(def) > 63 {
		def = def[:63]
	}
	if c.Slot == "" {
		c.Slot = def
	}
	if c.Publication == "" {
		c.Publication = def
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = defaultStatusTick
	}
	if c.Truncate == "" {
		c.Truncate = TruncateFail
	}
	if c.Toast == "" {
		c.Toast = ToastRequireFull
	}
	return c
}

var (
	badSlotChars = regexp.MustCompile(`[^a-z0-9_]+`)
	slotName     = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
)

// Validate reports every problem of a configuration with its defaults
// applied.
func (c StreamConfig) Validate() error {
	var errs []error
	if !slotName.MatchString(c.Slot) {
		errs = append(errs, fmt.Errorf("slot %q: a replication slot name is 1 to 63 lower-case letters, digits and underscores", c.Slot))
	}
	if c.Publication == "" || len(c.Publication) > 63 {
		errs = append(errs, fmt.Errorf("publication %q: give a name of 1 to 63 characters", c.Publication))
	}
	if c.Truncate != TruncateFail && c.Truncate != TruncateIgnore {
		errs = append(errs, fmt.Errorf("truncate %q: use fail or ignore", c.Truncate))
	}
	if c.Toast != ToastRequireFull && c.Toast != ToastUnchanged {
		errs = append(errs, fmt.Errorf("toast %q: use require_full or unchanged", c.Toast))
	}
	return errors.Join(errs...)
}

// SnapshotAndStream starts capture from scratch: it (re)creates the
// replication slot, reads the snapshot the slot exported at its consistent
// point — in parallel, as Snapshot does, handing the batches to emit — and
// returns the stream of every transaction that committed after that point.
// An existing slot of the same name is dropped first: its position belongs
// to views this snapshot replaces.
func SnapshotAndStream(ctx context.Context, dsn string, cfg Config, scfg StreamConfig, tables []*change.Table, emit func(change.Batch) error) (change.Stream, SnapshotInfo, error) {
	var info SnapshotInfo
	st, err := prepareStream(ctx, dsn, scfg, tables)
	if err != nil {
		return nil, info, err
	}
	ok := false
	defer func() {
		if !ok {
			st.closeConns()
		}
	}()
	if err := st.dropSlot(ctx); err != nil {
		return nil, info, err
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, st.repl, st.cfg.Slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		return nil, info, slotError("creating replication slot "+st.cfg.Slot, err)
	}
	// The replication connection now sits idle until the snapshot is read:
	// its exported snapshot lives only until its next command.
	cfg.slotSnapshot = &exportedSnapshot{name: res.SnapshotName, lsn: res.ConsistentPoint}
	info, err = Snapshot(ctx, dsn, cfg, tables, emit)
	if err != nil {
		return nil, info, err
	}
	start, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return nil, info, fmt.Errorf("replication slot %s: consistent point %q: %w", st.cfg.Slot, res.ConsistentPoint, err)
	}
	if err := st.start(ctx, start); err != nil {
		return nil, info, err
	}
	ok = true
	return st, info, nil
}

// OpenStream resumes capture after checkpoint from (an LSN, "16/B374D848",
// as the stream's checkpoints are). With from empty it starts at the
// replication slot's confirmed position, creating the slot (at the current
// end of the WAL) when it is missing.
func OpenStream(ctx context.Context, dsn string, scfg StreamConfig, tables []*change.Table, from change.Checkpoint) (change.Stream, error) {
	st, err := prepareStream(ctx, dsn, scfg, tables)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			st.closeConns()
		}
	}()
	var start pglogrepl.LSN
	if from != "" {
		if start, err = pglogrepl.ParseLSN(string(from)); err != nil {
			return nil, fmt.Errorf("checkpoint %q is not a PostgreSQL LSN (like 16/B374D848)", from)
		}
	}
	slot, err := st.slotState(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case slot == nil && from != "":
		return nil, fmt.Errorf("replication slot %s does not exist, so the changes after checkpoint %s are gone: start over with --snapshot always",
			st.cfg.Slot, from)
	case slot == nil:
		res, err := pglogrepl.CreateReplicationSlot(ctx, st.repl, st.cfg.Slot, "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
		if err != nil {
			return nil, slotError("creating replication slot "+st.cfg.Slot, err)
		}
		if start, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
			return nil, fmt.Errorf("replication slot %s: consistent point %q: %w", st.cfg.Slot, res.ConsistentPoint, err)
		}
	case from == "":
		start = slot.confirmed
	case start < slot.confirmed:
		return nil, fmt.Errorf("replication slot %s has already confirmed %s, past checkpoint %s: PostgreSQL no longer keeps the changes in between; replay them with --snapshot always",
			st.cfg.Slot, slot.confirmed, from)
	}
	if err := st.start(ctx, start); err != nil {
		return nil, err
	}
	ok = true
	return st, nil
}

// pgStream is an open change stream. One goroutine (receive) owns the
// replication connection: it reads the WAL, decodes it, queues progress for
// Next and reports the acknowledged position to the server.
type pgStream struct {
	cfg    StreamConfig
	cc     *pgx.ConnConfig
	conn   *pgx.Conn      // catalog queries (types of changed relations)
	repl   *pgconn.PgConn // the replication connection
	tables map[string]*change.Table
	types  *typeCatalog
	rels   map[uint32]*walRelation

	opened   time.Time
	out      chan streamItem
	acked    atomic.Uint64 // LSN acknowledged by the pipeline
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// State of the receive goroutine.
	txn        txnState
	pending    *change.Progress
	pendingN   int
	checkpoint pglogrepl.LSN // end of the last transaction or keepalive queued
	serverEnd  pglogrepl.LSN
	lastStatus time.Time
	sentAcked  pglogrepl.LSN
	deadline   time.Time // the replication socket's read deadline
}

type streamItem struct {
	p   change.Progress
	err error
}

// txnState is the transaction being received.
type txnState struct {
	open       bool
	commitTime time.Time
	changes    []pending
	n          int            // changes so far (positions)
	late       map[string]int // occurrences of a key past lateChange
}

type pending struct {
	table *change.Table
	c     change.Change
	gen   []*genRow // row images whose generated columns are computed at the commit
}

// walRelation is what a Relation message said of a table.
type walRelation struct {
	name     string
	table    *change.Table // nil: not captured
	decoders []*decoder    // of the message's columns
	slots    []int         // index in table.Columns of each message column
	gen      *generation   // the generated columns the message leaves out, or nil
	fullOld  bool          // REPLICA IDENTITY FULL: updates and deletes carry the old row
}

// Limits of the queue between the receive goroutine and Next.
const (
	queuedProgress = 4
	maxPending     = 8192 // changes coalesced into one Progress
	// Changes of a transaction past this many are ordered per key (see
	// "Positions" in the package documentation).
	lateChange = 2048
	// slotReleaseWait is how long opening waits for a slot another
	// (dying) connection still holds.
	slotReleaseWait = 15 * time.Second
	maxSeq          = 1<<positionSeqBits - 1
)

func prepareStream(ctx context.Context, dsn string, scfg StreamConfig, tables []*change.Table) (*pgStream, error) {
	scfg = scfg.WithDefaults()
	if err := scfg.Validate(); err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	if len(tables) == 0 {
		return nil, errors.New("stream: no tables to capture (pass the tables Describe returned)")
	}
	cc, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	st := &pgStream{cfg: scfg, cc: cc, tables: map[string]*change.Table{}, types: newTypeCatalog(), rels: map[uint32]*walRelation{},
		out: make(chan streamItem, queuedProgress), stop: make(chan struct{}), done: make(chan struct{}), opened: time.Now()}
	for _, t := range tables {
		st.tables[t.Schema+"."+t.Name] = t
	}
	if st.conn, err = connect(ctx, cc); err != nil {
		return nil, err
	}
	if err := st.checkServer(ctx, tables); err != nil {
		st.closeConns()
		return nil, err
	}
	rc := cc.Config // a copy; its RuntimeParams are cloned below
	rc.RuntimeParams = map[string]string{"replication": "database"}
	for k, v := range cc.RuntimeParams {
		rc.RuntimeParams[k] = v
	}
	if st.repl, err = pgconn.ConnectConfig(ctx, &rc); err != nil {
		st.closeConns()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isPgCode(err, "42501") || isPgCode(err, "28000") {
			return nil, fmt.Errorf("opening a replication connection: %w — the role needs the REPLICATION attribute (ALTER ROLE %s REPLICATION) and pg_hba.conf must allow it", err, cc.User)
		}
		return nil, connectError(&rc, err)
	}
	return st, nil
}

// checkServer checks the settings change capture needs, each with its fix,
// and creates or completes the publication.
func (st *pgStream) checkServer(ctx context.Context, tables []*change.Table) error {
	var walLevel string
	var canReplicate bool
	err := st.conn.QueryRow(ctx, `SELECT current_setting('wal_level'),
		(SELECT rolsuper OR rolreplication FROM pg_catalog.pg_roles WHERE rolname = current_user)`).Scan(&walLevel, &canReplicate)
	if err != nil {
		return queryError("reading the server settings", err)
	}
	var errs []error
	if walLevel != "logical" {
		errs = append(errs, fmt.Errorf("wal_level is %s, but change capture needs logical: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL", walLevel))
	}
	if !canReplicate {
		errs = append(errs, fmt.Errorf("role %s may not replicate: run ALTER ROLE %s REPLICATION (as a superuser)", st.cc.User, quoteIfNeeded(st.cc.User)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Replica identity and TOAST.
	var noFull []string
	for _, t := range tables {
		rel := quoteIfNeeded(t.Schema) + "." + quoteIfNeeded(t.Name)
		var replIdent string
		var toastable []string
		err := st.conn.QueryRow(ctx, `SELECT c.relreplident::text,
			coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attstorage <> 'p'), '{}')
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			WHERE c.oid = $1::regclass GROUP BY c.relreplident`, ident(t.Schema, t.Name)).Scan(&replIdent, &toastable)
		if err != nil {
			return queryError("reading the replica identity of "+t.QualifiedName(), err)
		}
		switch {
		case replIdent == "n":
			return fmt.Errorf("table %s has REPLICA IDENTITY NOTHING, so PostgreSQL cannot replicate its updates and deletes: run ALTER TABLE %s REPLICA IDENTITY DEFAULT (or FULL)", t.QualifiedName(), rel)
		case replIdent != "f" && len(toastable) > 0 && st.cfg.Toast == ToastRequireFull:
			noFull = append(noFull, fmt.Sprintf("ALTER TABLE %s REPLICA IDENTITY FULL; -- may store %s out of line", rel, strings.Join(toastable, ", ")))
		}
	}
	if len(noFull) > 0 {
		return fmt.Errorf("an update that leaves a TOASTed value unchanged does not send it, and a view must never lose it: "+
			"give these tables REPLICA IDENTITY FULL, so the old row supplies it:\n  %s\n"+
			"or set source.stream.toast: unchanged (rows whose view reads such a value are then dead-lettered)", strings.Join(noFull, "\n  "))
	}

	// The publication.
	var exists bool
	if err := st.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)`, st.cfg.Publication).Scan(&exists); err != nil {
		return queryError("reading publications", err)
	}
	var missing []string
	published := map[string]bool{}
	if exists {
		rows, err := st.conn.Query(ctx, `SELECT schemaname::text, tablename::text FROM pg_catalog.pg_publication_tables WHERE pubname = $1`, st.cfg.Publication)
		if err != nil {
			return queryError("reading publication "+st.cfg.Publication, err)
		}
		for rows.Next() {
			var s, n string
			if err := rows.Scan(&s, &n); err != nil {
				rows.Close()
				return queryError("reading publication "+st.cfg.Publication, err)
			}
			published[s+"."+n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return queryError("reading publication "+st.cfg.Publication, err)
		}
	}
	for _, t := range tables {
		if !published[t.Schema+"."+t.Name] {
			missing = append(missing, ident(t.Schema, t.Name))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	stmt := "CREATE PUBLICATION " + ident(st.cfg.Publication) + " FOR TABLE " + strings.Join(missing, ", ")
	if exists {
		stmt = "ALTER PUBLICATION " + ident(st.cfg.Publication) + " ADD TABLE " + strings.Join(missing, ", ")
	}
	if _, err := st.conn.Exec(ctx, stmt); err != nil {
		if isPgCode(err, "42501") {
			return fmt.Errorf("%s: %w — as the tables' owner, run: %s", strings.Fields(stmt)[0]+" PUBLICATION", err, stmt)
		}
		return queryError(stmt, err)
	}
	slog.Info("publication updated", "statement", stmt)
	return nil
}

type slotInfo struct {
	confirmed pglogrepl.LSN
	active    bool
	plugin    string
}

func (st *pgStream) slotState(ctx context.Context) (*slotInfo, error) {
	var s slotInfo
	var confirmed *string
	err := st.conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text, active, coalesce(plugin::text, '')
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND database = current_database()`, st.cfg.Slot).Scan(&confirmed, &s.active, &s.plugin)
	if errors.Is(err, pgx.ErrNoRows) {
		var elsewhere bool
		if err := st.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`, st.cfg.Slot).Scan(&elsewhere); err == nil && elsewhere {
			return nil, fmt.Errorf("replication slot %s belongs to another database or is physical: name another slot (source.stream.slot)", st.cfg.Slot)
		}
		return nil, nil
	}
	if err != nil {
		return nil, queryError("reading replication slot "+st.cfg.Slot, err)
	}
	if s.plugin != "pgoutput" {
		return nil, fmt.Errorf("replication slot %s uses the output plugin %q, not pgoutput: name another slot (source.stream.slot)", st.cfg.Slot, s.plugin)
	}
	if s.active {
		// A stream that just died (a crash, kill -9) holds the slot until
		// its walsender notices the closed connection: give it a moment.
		if time.Since(st.opened) < slotReleaseWait {
			select {
			case <-time.After(200 * time.Millisecond):
				return st.slotState(ctx)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return nil, fmt.Errorf("replication slot %s is in use by another connection (is the job already running elsewhere?)", st.cfg.Slot)
	}
	if confirmed != nil {
		if s.confirmed, err = pglogrepl.ParseLSN(*confirmed); err != nil {
			return nil, fmt.Errorf("replication slot %s: confirmed position %q: %w", st.cfg.Slot, *confirmed, err)
		}
	}
	return &s, nil
}

func (st *pgStream) dropSlot(ctx context.Context) error {
	s, err := st.slotState(ctx)
	if err != nil || s == nil {
		return err
	}
	if _, err := st.conn.Exec(ctx, "SELECT pg_catalog.pg_drop_replication_slot($1)", st.cfg.Slot); err != nil {
		return queryError("dropping replication slot "+st.cfg.Slot+" (a new snapshot replaces its position)", err)
	}
	return nil
}

func slotError(what string, err error) error {
	switch {
	case isPgCode(err, "53400"): // configuration_limit_exceeded
		return fmt.Errorf("%s: %w — raise max_replication_slots (and max_wal_senders), or drop unused slots", what, err)
	case isPgCode(err, "55000"):
		return fmt.Errorf("%s: %w — connect to the primary server with wal_level = logical", what, err)
	}
	return queryError(what, err)
}

// start begins streaming at LSN start and launches the receive goroutine.
func (st *pgStream) start(ctx context.Context, start pglogrepl.LSN) error {
	err := pglogrepl.StartReplication(ctx, st.repl, st.cfg.Slot, start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(st.cfg.Publication, "'", "''") + "'"},
	})
	if err != nil {
		return slotError("starting replication from slot "+st.cfg.Slot, err)
	}
	st.acked.Store(uint64(start))
	st.sentAcked = start
	st.checkpoint = start
	st.lastStatus = time.Now()
	go st.receive()
	return nil
}

// Next implements change.Stream.
func (st *pgStream) Next(ctx context.Context) (change.Progress, error) {
	select {
	case it, ok := <-st.out:
		if !ok {
			return change.Progress{}, errors.New("postgres stream: closed")
		}
		return it.p, it.err
	case <-ctx.Done():
		return change.Progress{}, ctx.Err()
	}
}

// Ack implements change.Stream: the position is reported to the server by
// the receive goroutine at its next status update.
func (st *pgStream) Ack(_ context.Context, cp change.Checkpoint) error {
	lsn, err := pglogrepl.ParseLSN(string(cp))
	if err != nil {
		return fmt.Errorf("postgres stream: acknowledging %q: not an LSN", cp)
	}
	for {
		old := st.acked.Load()
		if uint64(lsn) <= old || st.acked.CompareAndSwap(old, uint64(lsn)) {
			return nil
		}
	}
}

// Close implements change.Stream: it reports the acknowledged position one
// last time and closes the connections.
func (st *pgStream) Close() error {
	st.stopOnce.Do(func() { close(st.stop) })
	<-st.done
	return nil
}

func (st *pgStream) closeConns() {
	if st.repl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		_ = st.repl.Close(ctx)
		cancel()
	}
	closeConn(st.conn)
}

// receive is the goroutine that owns the replication connection.
func (st *pgStream) receive() {
	defer close(st.done)
	defer close(st.out)
	defer st.closeConns()
	err := st.loop()
	if err != nil {
		select {
		case st.out <- streamItem{err: err}:
		case <-st.stop:
		}
	}
}

func (st *pgStream) loop() error {
	for {
		select {
		case <-st.stop:
			return st.sendStatus(false)
		default:
		}
		if err := st.flush(); err != nil {
			return err
		}
		if err := st.maybeSendStatus(); err != nil {
			return err
		}
		if err := st.setReadDeadline(); err != nil {
			return err
		}
		// No context: a context with a deadline costs a watcher goroutine
		// and a timer per message; the socket's read deadline bounds the
		// wait instead (a timeout leaves a partly read message buffered).
		msg, err := st.repl.ReceiveMessage(context.Background())
		if err != nil {
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("postgres stream: receiving from slot %s: %w", st.cfg.Slot, err)
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if err := st.copyData(msg.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("postgres stream: slot %s: %w", st.cfg.Slot, pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyDone:
			return fmt.Errorf("postgres stream: the server ended replication from slot %s", st.cfg.Slot)
		}
	}
}

// Longest wait for a message: with nothing pending (the loop then reports
// status and checks for a stop), and with a progress that Next has not
// taken yet (the loop offers it again).
const (
	idleReadWait    = 250 * time.Millisecond
	pendingReadWait = 10 * time.Millisecond
)

// setReadDeadline bounds the next read to idleReadWait from now, or
// pendingReadWait while a progress waits for Next. It keeps a deadline
// still ahead that ends no later than that, so a busy stream moves the
// socket's deadline about once per wait, not per message.
func (st *pgStream) setReadDeadline() error {
	wait := idleReadWait
	if st.pending != nil {
		wait = pendingReadWait
	}
	now := time.Now()
	want := now.Add(wait)
	if st.deadline.After(now) && !st.deadline.After(want) {
		return nil
	}
	if err := st.repl.Conn().SetReadDeadline(want); err != nil {
		return fmt.Errorf("postgres stream: slot %s: %w", st.cfg.Slot, err)
	}
	st.deadline = want
	return nil
}

// flush hands the pending progress to Next: at once when there is room,
// and blocking (while still reporting status) when it has grown large.
func (st *pgStream) flush() error {
	if st.pending == nil {
		return nil
	}
	select {
	case st.out <- streamItem{p: *st.pending}:
		st.pending, st.pendingN = nil, 0
		return nil
	default:
	}
	if st.pendingN < maxPending {
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case st.out <- streamItem{p: *st.pending}:
			st.pending, st.pendingN = nil, 0
			return nil
		case <-tick.C:
			if err := st.maybeSendStatus(); err != nil {
				return err
			}
		case <-st.stop:
			return nil
		}
	}
}

// maybeSendStatus reports the acknowledged position when it moved (at most
// every 100 ms) and every StatusInterval (asking for a keepalive, which
// moves an idle stream's checkpoint).
func (st *pgStream) maybeSendStatus() error {
	since := time.Since(st.lastStatus)
	switch {
	case since >= st.cfg.StatusInterval:
		return st.sendStatus(true)
	case pglogrepl.LSN(st.acked.Load()) > st.sentAcked && since >= 100*time.Millisecond:
		return st.sendStatus(false)
	}
	return nil
}

func (st *pgStream) sendStatus(reply bool) error {
	acked := pglogrepl.LSN(st.acked.Load())
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), st.repl, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: acked, WALFlushPosition: acked, WALApplyPosition: acked, ReplyRequested: reply,
	})
	if err != nil {
		return fmt.Errorf("postgres stream: reporting position %s to slot %s: %w", acked, st.cfg.Slot, err)
	}
	st.sentAcked, st.lastStatus = acked, time.Now()
	return nil
}

func (st *pgStream) copyData(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("postgres stream: %w", err)
		}
		st.serverEnd = max(st.serverEnd, ka.ServerWALEnd)
		if !st.txn.open && ka.ServerWALEnd > st.checkpoint {
			// Everything that committed before the server's sent position
			// has been received: acknowledging it lets the slot move on
			// while the captured tables are idle.
			st.checkpoint = ka.ServerWALEnd
			st.queue(nil, time.Time{})
		}
		if ka.ReplyRequested {
			return st.sendStatus(false)
		}
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("postgres stream: %w", err)
		}
		st.serverEnd = max(st.serverEnd, xld.ServerWALEnd)
		return st.message(xld.WALData)
	}
	return nil
}

// queue adds a transaction's changes (or a keepalive) to the pending
// progress, ending at st.checkpoint.
func (st *pgStream) queue(changes []pending, commitTime time.Time) {
	if st.pending == nil {
		st.pending = &change.Progress{}
	}
	p := st.pending
	for _, c := range changes {
		if n := len(p.Batches); n > 0 && p.Batches[n-1].Table == c.table {
			p.Batches[n-1].Changes = append(p.Batches[n-1].Changes, c.c)
			continue
		}
		p.Batches = append(p.Batches, change.Batch{Table: c.table, Changes: []change.Change{c.c}})
	}
	st.pendingN += len(changes)
	p.Checkpoint = change.Checkpoint(st.checkpoint.String())
	if !commitTime.IsZero() {
		p.CommitTime = commitTime
	}
	p.LagBytes = int64(max(st.serverEnd, st.checkpoint) - st.checkpoint)
}

func (st *pgStream) message(data []byte) error {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return fmt.Errorf("postgres stream: decoding a pgoutput message: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		st.txn.open, st.txn.commitTime, st.txn.n = true, m.CommitTime.UTC(), 0
		st.txn.changes = st.txn.changes[:0]
		clear(st.txn.late)
	case *pglogrepl.CommitMessage:
		if err := st.fillGenerated(); err != nil {
			return err
		}
		end := m.TransactionEndLSN
		commit := uint64(m.CommitLSN)
		for i := range st.txn.changes {
			c := &st.txn.changes[i].c
			c.Position = lsnPosition(commit, int(c.Position))
			c.SourcePos = m.CommitLSN.String()
		}
		st.txn.open = false
		if end > st.checkpoint {
			st.checkpoint = end
		}
		if len(st.txn.changes) > 0 {
			st.queue(st.txn.changes, st.txn.commitTime)
			st.txn.changes = nil
		} else {
			st.queue(nil, time.Time{})
		}
	case *pglogrepl.RelationMessage:
		return st.relation(m)
	case *pglogrepl.InsertMessage:
		rel, err := st.rel(m.RelationID)
		if err != nil || rel.table == nil {
			return err
		}
		after, err := st.tuple(rel, m.Tuple, nil, "insert")
		if err != nil {
			return err
		}
		st.add(rel, change.Change{Op: change.OpCreate, After: after}, rel.genRows(after, m.Tuple, nil)...)
	case *pglogrepl.UpdateMessage:
		return st.update(m)
	case *pglogrepl.DeleteMessage:
		rel, err := st.rel(m.RelationID)
		if err != nil || rel.table == nil {
			return err
		}
		before, err := st.oldTuple(rel, m.OldTupleType, m.OldTuple, "delete")
		if err != nil {
			return err
		}
		if before == nil {
			return fmt.Errorf("postgres stream: a delete of %s came without its key: give the table a primary key or REPLICA IDENTITY FULL", rel.name)
		}
		st.add(rel, change.Change{Op: change.OpDelete, Before: before}, rel.genRows(before, m.OldTuple, nil)...)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			rel, err := st.rel(id)
			if err != nil {
				return err
			}
			if rel.table == nil {
				continue
			}
			if st.cfg.Truncate == TruncateIgnore {
				slog.Warn("TRUNCATE of a captured table ignored (truncate: ignore): its view keeps the rows", "table", rel.name)
				continue
			}
			return fmt.Errorf("postgres stream: table %s was truncated; its views still hold the rows. "+
				"Re-sync them with --snapshot always (or set source.stream.truncate: ignore)", rel.name)
		}
	}
	return nil
}

func (st *pgStream) rel(id uint32) (*walRelation, error) {
	rel := st.rels[id]
	if rel == nil {
		return nil, fmt.Errorf("postgres stream: a change of relation %d came before its relation message", id)
	}
	return rel, nil
}

// relation records a Relation message: the columns of a table as of the
// changes that follow. When they differ from the captured table's, the
// changes carry a new change.Table (the views' schema-change policy then
// applies). Stored generated columns, which the message leaves out, are
// put back from the catalog (see generated.go).
func (st *pgStream) relation(m *pglogrepl.RelationMessage) error {
	name := m.Namespace + "." + m.RelationName
	base := st.tables[name]
	rel := &walRelation{name: quoteIfNeeded(m.Namespace) + "." + quoteIfNeeded(m.RelationName), fullOld: m.ReplicaIdentity == 'f'}
	st.rels[m.RelationID] = rel
	if base == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	catalog, err := st.liveColumns(ctx, m.RelationID)
	if err != nil {
		return fmt.Errorf("postgres stream: the columns of %s: %w", rel.name, err)
	}
	merged := mergeGenerated(m, catalog)
	oids := make([]uint32, len(merged))
	for i, c := range merged {
		if c.gen != nil {
			oids[i] = c.gen.oid
		} else {
			oids[i] = m.Columns[c.msg].DataType
		}
	}
	if err := st.types.load(ctx, st.conn, oids); err != nil {
		return fmt.Errorf("postgres stream: the columns of %s: %w", rel.name, err)
	}
	same := len(merged) == len(base.Columns)
	cols := make([]change.Column, len(merged))
	rel.slots = make([]int, len(m.Columns))
	for i, c := range merged {
		kind := st.types.kind(oids[i])
		col := change.Column{Type: st.types.base(oids[i]).Name, Kind: kind, Nullable: true}
		if c.gen != nil {
			col.Name, col.Generated = c.gen.name, c.gen.expr
		} else {
			col.Name = m.Columns[c.msg].Name
			rel.decoders = append(rel.decoders, st.types.textInputDecoder(oids[i]))
			rel.slots[c.msg] = i
		}
		cols[i] = col
		if same && (base.Columns[i].Name != col.Name || base.Columns[i].Kind != kind) {
			same = false
		}
	}
	for _, k := range base.Key {
		if j := slices.IndexFunc(merged, func(c relationColumn) bool { return c.gen != nil && c.gen.name == base.Columns[k].Name }); j >= 0 {
			return fmt.Errorf("postgres stream: key column %s of %s is a generated column, which logical replication does not send: "+
				"the stream cannot tell which row a change is for", quoteIfNeeded(base.Columns[k].Name), rel.name)
		}
	}
	if rel.gen, err = st.newGeneration(ctx, m, merged); err != nil {
		return fmt.Errorf("postgres stream: the generated columns of %s: %w", rel.name, err)
	}
	if same {
		rel.table = base
		return nil
	}
	t := &change.Table{Database: base.Database, Schema: base.Schema, Name: base.Name, Columns: cols}
	for i, c := range cols {
		if j := base.ColumnIndex(c.Name); j >= 0 && base.Columns[j].Kind == c.Kind {
			cols[i] = base.Columns[j]
			cols[i].Generated = c.Generated
		}
	}
	for _, k := range base.Key {
		j := t.ColumnIndex(base.Columns[k].Name)
		if j < 0 {
			return fmt.Errorf("postgres stream: key column %s of %s is gone (the table was altered); re-sync with --snapshot always",
				quoteIfNeeded(base.Columns[k].Name), rel.name)
		}
		t.Key = append(t.Key, j)
	}
	slog.Info("captured table changed its columns", "table", rel.name, "columns", len(cols))
	rel.table = t
	return nil
}

// tuple decodes a row image. Columns sent as unchanged TOAST take their
// value from old (the old row of REPLICA IDENTITY FULL), else Unchanged.
func (st *pgStream) tuple(rel *walRelation, td *pglogrepl.TupleData, old []any, what string) ([]any, error) {
	if td == nil {
		return nil, nil
	}
	if len(td.Columns) != len(rel.decoders) {
		return nil, fmt.Errorf("postgres stream: %s of %s has %d columns, its relation %d", what, rel.name, len(td.Columns), len(rel.decoders))
	}
	row := make([]any, len(rel.table.Columns))
	for i, c := range td.Columns {
		s := rel.slots[i]
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
		case pglogrepl.TupleDataTypeToast:
			row[s] = change.Unchanged
			if old != nil && !change.IsUnchanged(old[s]) {
				row[s] = old[s]
			}
		case pglogrepl.TupleDataTypeText:
			v, err := rel.decoders[i].decode(c.Data, nil)
			if err != nil {
				return nil, fmt.Errorf("postgres stream: %s of %s: column %s: %w", what, rel.name, quoteIfNeeded(rel.table.Columns[s].Name), err)
			}
			row[s] = v
		default:
			return nil, fmt.Errorf("postgres stream: %s of %s: column %s in format %q (only text is expected)", what, rel.name, quoteIfNeeded(rel.table.Columns[s].Name), c.DataType)
		}
	}
	return row, nil
}

// oldTuple decodes the old row of an update or delete: the whole row
// (REPLICA IDENTITY FULL, 'O') or its key ('K', other columns Unchanged).
func (st *pgStream) oldTuple(rel *walRelation, kind uint8, td *pglogrepl.TupleData, what string) ([]any, error) {
	if td == nil {
		return nil, nil
	}
	row, err := st.tuple(rel, td, nil, what)
	if err != nil {
		return nil, err
	}
	if kind == pglogrepl.UpdateMessageTupleTypeKey {
		// Only the replica identity's columns are sent; nulls stand for the rest.
		isKey := make([]bool, len(row))
		for _, k := range rel.table.Key {
			isKey[k] = true
		}
		for i := range row {
			if !isKey[i] {
				row[i] = change.Unchanged
			}
		}
	}
	return row, nil
}

func (st *pgStream) update(m *pglogrepl.UpdateMessage) error {
	rel, err := st.rel(m.RelationID)
	if err != nil || rel.table == nil {
		return err
	}
	before, err := st.oldTuple(rel, m.OldTupleType, m.OldTuple, "update")
	if err != nil {
		return err
	}
	var full []any
	var oldGen []*genRow
	var oldTD *pglogrepl.TupleData
	if m.OldTupleType == pglogrepl.UpdateMessageTupleTypeOld {
		full, oldTD = before, m.OldTuple
	}
	oldGen = rel.genRows(before, m.OldTuple, nil)
	after, err := st.tuple(rel, m.NewTuple, full, "update")
	if err != nil {
		return err
	}
	newGen := rel.genRows(after, m.NewTuple, oldTD)
	if before != nil && !sameKey(rel.table.Key, before, after) {
		// The primary key changed: the old key is deleted, the new one
		// written.
		st.add(rel, change.Change{Op: change.OpDelete, Before: before}, oldGen...)
		st.add(rel, change.Change{Op: change.OpCreate, After: after}, newGen...)
		return nil
	}
	st.add(rel, change.Change{Op: change.OpUpdate, Before: before, After: after}, append(oldGen, newGen...)...)
	return nil
}

func sameKey(key []int, a, b []any) bool {
	for _, k := range key {
		if change.Compare(a[k], b[k]) != 0 {
			return false
		}
	}
	return true
}

// add appends a change to the open transaction. Its Position holds, until
// the commit, its sequence number in the transaction (see lsnPosition).
func (st *pgStream) add(rel *walRelation, c change.Change, gen ...*genRow) {
	t := rel.table
	row := c.After
	if c.Op == change.OpDelete {
		row = c.Before
	}
	if len(t.Key) > 0 {
		c.Key = make([]any, len(t.Key))
		for i, k := range t.Key {
			c.Key[i] = row[k]
		}
	}
	c.CommitTime = st.txn.commitTime
	st.txn.n++
	seq := st.txn.n
	if seq > lateChange {
		if st.txn.late == nil {
			st.txn.late = map[string]int{}
		}
		k := rel.name + "\x00" + change.KeyString(c.Key)
		st.txn.late[k]++
		seq = min(lateChange+st.txn.late[k], maxSeq)
	}
	c.Position = change.Position(seq)
	st.txn.changes = append(st.txn.changes, pending{table: t, c: c, gen: gen})
}
