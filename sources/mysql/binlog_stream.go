package mysql

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
)

// errClosed is what Next returns once the stream is closed.
var errClosed = errors.New("mysql: the change stream is closed")

// capTable is the state of one captured table in the stream.
type capTable struct {
	t    *change.Table
	cols []binColumn
	// names are the column names of the last table map event, which
	// (with binlog_row_metadata=FULL) says which schema the rows have.
	names []string
	types string // the column types of the last table map event
	seen  bool   // a table map event of the table was read
	stale bool   // a DDL statement named the table since
}

func newCapTable(t *change.Table) *capTable {
	return &capTable{t: t, cols: binColumns(t)}
}

// checkpointAt is a binlog coordinate that checkpoints advance over.
type checkpointAt struct {
	file string
	pos  uint64
}

// after reports whether c is past o (a later file, or later in the file).
func (c checkpointAt) after(o checkpointAt) bool {
	if c.file != o.file {
		cs, err1 := change.BinlogSequence(c.file)
		os, err2 := change.BinlogSequence(o.file)
		return err1 == nil && err2 == nil && cs > os || o.file == ""
	}
	return c.pos > o.pos
}

type eventOrErr struct {
	ev  *replication.BinlogEvent
	err error
}

// binlogStream is a change.Stream of a server's binlog. One goroutine (the
// pump) reads events ahead into a queue; Next assembles whole transactions
// from them.
type binlogStream struct {
	src       *source
	scfg      StreamConfig
	allowNoPK bool
	zeroDates string // Config.ZeroDates
	// pending are the snapshot's dead letters (SnapshotAndStream), handed
	// out with the first Progress.
	pending  []change.DeadLetter
	syncer   *replication.BinlogSyncer
	cancel   context.CancelFunc
	pumpDone chan struct{}
	events   chan eventOrErr

	// Next's state (Next runs on one goroutine).
	tables map[tableRef]*capTable
	byID   map[uint64]*capTable // table id → table (nil: not captured)
	file   string               // the binlog file being read
	inTx   bool
	tx     []change.Batch // the open transaction's changes
	txDead []change.DeadLetter
	cp     change.Checkpoint // the last transaction boundary
	last   checkpointAt      // cp as a coordinate
	// rowBase numbers the rows of the events inside one MySQL transaction
	// payload event on from each other (they share its offset).
	rowBase   int
	inPayload bool
	err       error // sticky: errors are final

	closeOnce sync.Once
	closed    chan struct{}

	ackMu sync.Mutex
	acked change.Checkpoint
}

// pump hands the syncer's events to Next until ctx ends or reading fails.
func (s *binlogStream) pump(ctx context.Context, streamer *replication.BinlogStreamer) {
	defer close(s.pumpDone)
	for {
		ev, err := streamer.GetEvent(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case s.events <- eventOrErr{ev, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the changes of the next whole transactions (see the
// package documentation, "Change capture").
func (s *binlogStream) Next(ctx context.Context) (change.Progress, error) {
	if s.err != nil {
		return change.Progress{}, s.err
	}
	p := change.Progress{LagBytes: -1}
	n, events := 0, 0
	var since time.Time // when p got its first checkpoint
	for {
		var item eventOrErr
		if p.Checkpoint != "" {
			// Enough for one report: by changes, and (for a busy binlog
			// of other tables) by events and time.
			if n >= maxProgressChanges || events >= maxProgressEvents || time.Since(since) > maxProgressDelay {
				return p, nil
			}
			// Something to report: take only what is already here.
			select {
			case item = <-s.events:
			case <-s.closed:
				return p, nil
			default:
				return p, nil
			}
		} else {
			select {
			case item = <-s.events:
			case <-s.closed:
				s.err = errClosed
				return change.Progress{}, s.err
			case <-ctx.Done():
				return change.Progress{}, ctx.Err()
			}
		}
		if item.err != nil {
			select {
			case <-s.closed:
				s.err = errClosed
			default:
				s.err = s.src.replicationError(item.err, string(s.cp))
			}
			if p.Checkpoint != "" {
				return p, nil // the error comes with the next call
			}
			return change.Progress{}, s.err
		}
		if p.Checkpoint != "" {
			events++
		}
		done, err := s.handle(ctx, item.ev)
		if err != nil {
			s.err = err
			if p.Checkpoint != "" {
				return p, nil
			}
			return change.Progress{}, err
		}
		if done != nil {
			if p.Checkpoint == "" {
				since = time.Now()
			}
			n += done.changes
			s.take(&p, done)
		}
	}
}

// boundary is the end of a transaction: its changes and the checkpoint
// after it.
type boundary struct {
	batches []change.Batch
	dead    []change.DeadLetter
	changes int
	cp      change.Checkpoint
	at      time.Time
}

// take appends a finished transaction to p, merging consecutive batches of
// one table.
func (s *binlogStream) take(p *change.Progress, b *boundary) {
	for _, bt := range b.batches {
		if k := len(p.Batches) - 1; k >= 0 && p.Batches[k].Table == bt.Table {
			p.Batches[k].Changes = append(p.Batches[k].Changes, bt.Changes...)
			continue
		}
		p.Batches = append(p.Batches, bt)
	}
	p.DeadLetters = append(p.DeadLetters, b.dead...)
	if len(s.pending) > 0 {
		p.DeadLetters = append(p.DeadLetters, s.pending...)
		s.pending = nil
	}
	p.Checkpoint = b.cp
	if len(b.batches) > 0 || len(b.dead) > 0 {
		p.CommitTime = b.at
	}
}

// handle processes one event; at the end of a transaction it returns it.
func (s *binlogStream) handle(ctx context.Context, ev *replication.BinlogEvent) (*boundary, error) {
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		// Both the fake rotate at the start of the stream and the real one
		// at the end of a file name the file read next.
		s.file = string(e.NextLogName)
		return nil, nil
	case *replication.MariadbGTIDEvent:
		if !e.IsStandalone() {
			s.inTx = true // MariaDB's GTID event stands for BEGIN
		}
		return nil, nil
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		switch strings.ToUpper(strings.TrimRight(q, "; ")) {
		case "BEGIN", "START TRANSACTION", "XA START":
			s.inTx = true
			return nil, nil
		case "COMMIT", "ROLLBACK":
			return s.endTx(h), nil
		}
		if u := strings.ToUpper(q); strings.HasPrefix(u, "XA COMMIT") || strings.HasPrefix(u, "XA ROLLBACK") {
			return s.endTx(h), nil // its own event group, after the XA PREPARE
		}
		if err := s.statement(ctx, string(e.Schema), q, h); err != nil {
			return nil, err
		}
		if !s.inTx { // a statement of its own (DDL): a transaction of its own
			return s.endTx(h), nil
		}
		return nil, nil
	case *replication.XIDEvent:
		return s.endTx(h), nil
	case *replication.TableMapEvent:
		return nil, s.tableMap(ctx, e, h)
	case *replication.RowsEvent:
		s.inTx = true
		err := s.rows(e, h)
		if !s.inPayload {
			s.rowBase = 0 // rows are numbered per event
		}
		return nil, err
	case *replication.TransactionPayloadEvent:
		// MySQL's compressed transaction: its events, at the payload's
		// offset, with rows numbered on across them.
		s.inPayload = true
		defer func() { s.rowBase, s.inPayload = 0, false }()
		var last *boundary
		for _, inner := range e.Events {
			ih := *inner.Header
			ih.LogPos, ih.EventSize = h.LogPos, h.EventSize
			b, err := s.handle(ctx, &replication.BinlogEvent{Header: &ih, Event: inner.Event})
			if err != nil {
				return nil, err
			}
			if b != nil {
				last = b
			}
		}
		return last, nil
	case *replication.GenericEvent:
		if h.EventType == replication.XA_PREPARE_LOG_EVENT {
			if len(s.tx) > 0 || len(s.txDead) > 0 {
				name := ""
				if len(s.tx) > 0 {
					name = s.tx[0].Table.QualifiedName()
				} else {
					name = s.txDead[0].Table
				}
				return nil, fmt.Errorf("mysql: an XA transaction changed captured table %s at %s: XA transactions are not supported (their changes are in the binlog before they commit or roll back); capture the table without XA, or re-sync with --snapshot always after it",
					name, sourcePos(s.file, uint64(h.LogPos-h.EventSize)))
			}
			return s.endTx(h), nil
		}
		if (h.EventType == replication.HEARTBEAT_EVENT || h.EventType == replication.HEARTBEAT_LOG_EVENT_V2) && !s.inTx && h.LogPos > 0 {
			// An idle server: everything up to here was sent.
			at := checkpointAt{file: s.file, pos: uint64(h.LogPos)}
			if s.file != "" && at.after(s.last) {
				s.last, s.cp = at, change.Checkpoint(sourcePos(at.file, at.pos))
				return &boundary{cp: s.cp}, nil
			}
		}
		return nil, nil
	}
	return nil, nil
}

// endTx closes the open transaction at the event h (its commit).
func (s *binlogStream) endTx(h *replication.EventHeader) *boundary {
	b := &boundary{batches: s.tx, dead: s.txDead, at: time.Unix(int64(h.Timestamp), 0).UTC()}
	for _, bt := range s.tx {
		b.changes += len(bt.Changes)
	}
	s.tx, s.txDead, s.inTx = nil, nil, false
	if h.LogPos > 0 && s.file != "" {
		at := checkpointAt{file: s.file, pos: uint64(h.LogPos)}
		if at.after(s.last) || s.last == at {
			s.last, s.cp = at, change.Checkpoint(sourcePos(at.file, at.pos))
		}
	}
	if s.cp == "" {
		return nil // the stream has no coordinate yet (artificial events of a GTID start)
	}
	b.cp = s.cp
	return b
}

// tableMap notes which table an id stands for and, for a captured table,
// follows its schema: the rows that follow have the columns of this event.
func (s *binlogStream) tableMap(ctx context.Context, e *replication.TableMapEvent, h *replication.EventHeader) error {
	ct := s.tables[tableRef{db: string(e.Schema), name: string(e.Table)}]
	s.byID[e.TableID] = ct
	if ct == nil {
		return nil
	}
	names := e.ColumnNameString()
	types := string(e.ColumnType)
	for i, tp := range e.ColumnType {
		if tp == mariadbVarcharCompressed || tp == mariadbBlobCompressed {
			col := fmt.Sprintf("%d", i+1)
			if i < len(names) {
				col = fmt.Sprintf("%q", names[i])
			}
			return fmt.Errorf("mysql: column %s of captured table %s is COMPRESSED at %s: MariaDB writes compressed columns to the binlog in a form the stream cannot read; remove the attribute (ALTER TABLE ... MODIFY the column without COMPRESSED) and re-sync with --snapshot always",
				col, ct.t.QualifiedName(), sourcePos(s.file, uint64(h.LogPos-h.EventSize)))
		}
	}
	if ct.seen && !ct.stale && slices.Equal(names, ct.names) && types == ct.types {
		return s.applyCollations(ct, e)
	}
	first := !ct.seen
	ct.seen, ct.stale, ct.names, ct.types = true, false, names, types
	if first && ct.matches(e) {
		// The schema the stream was opened with fits the rows.
		return s.applyCollations(ct, e)
	}
	// The table's columns changed (or the rows do not fit the schema the
	// stream started with): read its schema again, and take from it, by
	// name, the columns the binlog's rows have.
	now, err := s.describeNow(ctx, ct, "")
	if err != nil {
		return err
	}
	t, err := tableFromMap(e, ct.t, now)
	if err != nil {
		return fmt.Errorf("mysql: the columns of captured table %s changed at %s: %w; re-sync it with --snapshot always",
			ct.t.QualifiedName(), sourcePos(s.file, uint64(h.LogPos-h.EventSize)), err)
	}
	s.setSchema(ct, t)
	return s.applyCollations(ct, e)
}

// MariaDB's binlog types of COMPRESSED columns (MYSQL_TYPE_VARCHAR_COMPRESSED,
// MYSQL_TYPE_BLOB_COMPRESSED), which the binlog reader cannot decode.
const (
	mariadbVarcharCompressed = 140
	mariadbBlobCompressed    = 141
)

// matches reports whether a table map event fits the table's schema.
func (ct *capTable) matches(e *replication.TableMapEvent) bool {
	if int(e.ColumnCount) != len(ct.t.Columns) {
		return false
	}
	if names := e.ColumnNameString(); names != nil {
		if !slices.Equal(names, columnNames(ct.t)) {
			return false
		}
	}
	for i := range ct.t.Columns {
		if d, ok := mapColumn(e, i); ok && !compatible(d, ct.t.Columns[i]) {
			return false
		}
	}
	return true
}

// applyCollations marks the latin1 text columns (known only with
// binlog_row_metadata=FULL; otherwise text is taken as UTF-8).
func (s *binlogStream) applyCollations(ct *capTable, e *replication.TableMapEvent) error {
	for i, coll := range e.CollationMap() {
		if i < len(ct.cols) {
			ct.cols[i].latin1 = latin1Collations[coll]
		}
	}
	return nil
}

func columnNames(t *change.Table) []string {
	n := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n[i] = c.Name
	}
	return n
}

func describeNames(names []string, count int) string {
	if names == nil {
		return fmt.Sprintf("%d columns", count)
	}
	return strings.Join(names, ", ")
}

// describeNow reads a captured table's schema as it is now. A table that
// is gone is an error naming it (what says why it was looked at).
func (s *binlogStream) describeNow(ctx context.Context, ct *capTable, what string) (*change.Table, error) {
	c, err := s.src.db.Conn(ctx)
	if err != nil {
		return nil, connectError(err, s.src.srv, s.src.dbName)
	}
	defer c.Close()
	t, err := s.src.describe(ctx, c, tableRef{db: ct.t.Database, name: ct.t.Name}, s.allowNoPK)
	if err != nil {
		if what != "" {
			return nil, fmt.Errorf("mysql: captured table %s after %s: %w", ct.t.QualifiedName(), what, err)
		}
		return nil, fmt.Errorf("mysql: reading the changed schema of captured table %s: %w", ct.t.QualifiedName(), err)
	}
	return t, nil
}

// setSchema makes t the table's schema, unless it has the same shape as
// the current one: a new *change.Table tells the mapping stage that the
// columns changed.
func (s *binlogStream) setSchema(ct *capTable, t *change.Table) {
	if sameShape(t, ct.t) {
		return
	}
	t.EstimatedRows = ct.t.EstimatedRows
	ct.t, ct.cols = t, binColumns(t)
}

// sameShape reports whether two schemas of a table have the same columns
// and key.
func sameShape(a, b *change.Table) bool {
	return slices.Equal(a.Columns, b.Columns) && slices.Equal(a.Key, b.Key)
}

// ddlRE recognises the statements that change or remove tables.
var ddlRE = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*(ALTER|RENAME|DROP|CREATE|TRUNCATE)\b(.*)$`)

// statement checks a statement of the binlog (DDL, in a row binlog) for
// what it does to the captured tables.
func (s *binlogStream) statement(ctx context.Context, schema, q string, h *replication.EventHeader) error {
	m := ddlRE.FindStringSubmatch(q)
	if m == nil {
		return nil
	}
	verb := strings.ToUpper(m[1])
	rest := m[2]
	words := strings.Fields(strings.ToUpper(rest))
	if len(words) > 0 && (words[0] == "TEMPORARY" || verb == "CREATE" && slices.Contains(words[:min(3, len(words))], "TEMPORARY")) {
		return nil
	}
	at := sourcePos(s.file, uint64(h.LogPos-h.EventSize))
	object := ""
	if len(words) > 0 {
		object = words[0]
	}
	switch {
	case verb == "DROP" && (object == "DATABASE" || object == "SCHEMA"):
		for _, ref := range statementNames(schema, rest) {
			for tr, ct := range s.tables {
				if strings.EqualFold(tr.db, ref.name) {
					return fmt.Errorf("mysql: the database of captured table %s was dropped at %s (%q): the stream cannot go on; remove the table from the job, or re-create it and re-sync with --snapshot always", ct.t.QualifiedName(), at, q)
				}
			}
		}
		return nil
	case verb == "DROP" && object != "TABLE":
		return nil // DROP INDEX, VIEW, TRIGGER, USER, ...: no table goes
	}
	for _, ref := range statementNames(schema, rest) {
		ct := s.lookup(ref)
		if ct == nil {
			continue
		}
		switch verb {
		case "DROP":
			return fmt.Errorf("mysql: captured table %s was dropped at %s (%q): the stream cannot go on; remove the table from the job, or re-create it and re-sync with --snapshot always", ct.t.QualifiedName(), at, q)
		case "TRUNCATE":
			if s.scfg.Truncate == TruncateIgnore {
				continue
			}
			return fmt.Errorf("mysql: captured table %s was truncated at %s: the binlog holds no row deletes for a TRUNCATE, so the views would keep its rows; re-sync with --snapshot always (or set truncate: ignore to go on regardless)", ct.t.QualifiedName(), at)
		default: // ALTER, RENAME, CREATE
			// The next table map event of the table brings its new
			// columns; a table renamed away is an error now.
			if _, err := s.describeNow(ctx, ct, fmt.Sprintf("%q at %s", q, at)); err != nil {
				return err
			}
			ct.stale = true
		}
	}
	return nil
}

// lookup finds the captured table a name of a statement refers to.
func (s *binlogStream) lookup(ref tableRef) *capTable {
	if ct := s.tables[ref]; ct != nil {
		return ct
	}
	for tr, ct := range s.tables {
		if strings.EqualFold(tr.db, ref.db) && strings.EqualFold(tr.name, ref.name) {
			return ct
		}
	}
	return nil
}

// statementNames returns every identifier and qualified name of a
// statement's text as table references (unqualified names in schema). It
// over-approximates: keywords come along too, and match no table but one
// named like a keyword, which only costs a needless schema read.
func statementNames(schema, q string) []tableRef {
	var refs []tableRef
	var parts []string
	flush := func() {
		switch len(parts) {
		case 1:
			refs = append(refs, tableRef{db: schema, name: parts[0]})
		case 2:
			refs = append(refs, tableRef{db: parts[0], name: parts[1]})
		}
		parts = parts[:0]
	}
	dot := false
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '/' && i+1 < len(q) && q[i+1] == '*': // a comment: skip it
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				j = len(q) - i - 4
			}
			flush()
			dot = false
			i += j + 4
		case c == '#' || c == '-' && strings.HasPrefix(q[i:], "-- "):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			flush()
			dot = false
			i += j
		case c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(q) {
				if q[j] == '`' {
					if j+1 < len(q) && q[j+1] == '`' {
						b.WriteByte('`')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(q[j])
				j++
			}
			if !dot {
				flush()
			}
			parts, dot = append(parts, b.String()), false
			i = j + 1
		case c == '.':
			dot = true
			i++
		case c == '\'' || c == '"': // a string literal: skip it
			j := i + 1
			for j < len(q) && q[j] != c {
				if q[j] == '\\' {
					j++
				}
				j++
			}
			flush()
			dot = false
			i = j + 1
		case isIdentByte(c):
			j := i
			for j < len(q) && isIdentByte(q[j]) {
				j++
			}
			if !dot {
				flush()
			}
			parts, dot = append(parts, q[i:j]), false
			i = j
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				flush()
				dot = false
			}
			i++
		}
	}
	flush()
	return refs
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// rows turns a rows event of a captured table into changes of the open
// transaction.
func (s *binlogStream) rows(e *replication.RowsEvent, h *replication.EventHeader) error {
	ct := s.byID[e.TableID]
	if ct == nil {
		return nil
	}
	start := uint64(h.LogPos - h.EventSize)
	srcPos := sourcePos(s.file, start)
	commit := time.Unix(int64(h.Timestamp), 0).UTC()
	var op change.Op
	step := 1
	switch h.EventType {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2, replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		op = change.OpCreate
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		op, step = change.OpUpdate, 2
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2, replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		op = change.OpDelete
	default:
		return nil
	}
	var out []change.Change
	for i := 0; i+step <= len(e.Rows); i += step {
		row := s.rowBase + i/step + 1
		pos, err := change.BinlogPosition(s.file, start, uint64(row))
		if err != nil {
			return fmt.Errorf("mysql: change of %s at %s: %w", ct.t.QualifiedName(), srcPos, err)
		}
		var before, after []any
		var derr error
		switch op {
		case change.OpCreate:
			after, derr = s.image(ct, e.Rows[i])
		case change.OpDelete:
			before, derr = s.image(ct, e.Rows[i])
		case change.OpUpdate:
			before, derr = s.image(ct, e.Rows[i])
			if derr == nil {
				after, derr = s.image(ct, e.Rows[i+1])
			}
		}
		if derr != nil {
			d := change.DeadLetter{
				Stage: change.StageDecode, Table: ct.t.QualifiedName(), Position: pos, SourcePos: srcPos,
				Reason: fmt.Sprintf("decoding row %d of a %s event of %s: %v", row, op, ct.t.QualifiedName(), derr),
			}
			if _, ok := derr.(*invalidDateError); ok {
				d.Reason += " (zero_dates: dead_letter)"
				img := after
				if img == nil {
					img = before
				}
				if img != nil {
					d.Key = change.JSON(change.AppendJSON(nil, key(ct.t, img)))
					d.Row = change.RowJSON(ct.t, img)
				}
			}
			s.txDead = append(s.txDead, d)
			continue
		}
		c := change.Change{Op: op, Before: before, After: after, CommitTime: commit, Position: pos, SourcePos: srcPos}
		switch op {
		case change.OpDelete:
			c.Key = key(ct.t, before)
		default:
			c.Key = key(ct.t, after)
		}
		if op == change.OpUpdate && len(ct.t.Key) > 0 {
			if old := key(ct.t, before); !sameKey(old, c.Key) {
				// The primary key changed: the old row is gone, the new
				// one appears.
				out = append(out, change.Change{Op: change.OpDelete, Key: old, Before: before, CommitTime: commit, Position: pos, SourcePos: srcPos})
				c.Op, c.Before = change.OpCreate, nil
			}
		}
		out = append(out, c)
	}
	s.rowBase += len(e.Rows) / step
	if len(out) == 0 {
		return nil
	}
	if k := len(s.tx) - 1; k >= 0 && s.tx[k].Table == ct.t {
		s.tx[k].Changes = append(s.tx[k].Changes, out...)
	} else {
		s.tx = append(s.tx, change.Batch{Table: ct.t, Changes: out})
	}
	return nil
}

// image decodes one row image, applying the ZeroDates policy. A row that
// policy dead-letters comes back whole with the *invalidDateError.
func (s *binlogStream) image(ct *capTable, row []any) ([]any, error) {
	if len(row) != len(ct.cols) {
		return nil, fmt.Errorf("the row has %d columns, the table %d", len(row), len(ct.cols))
	}
	out := make([]any, len(row))
	var dead error
	for i, v := range row {
		x, err := binlogValue(&ct.cols[i], v)
		if err != nil {
			var nulled bool
			if x, nulled, err = zeroPolicy(s.zeroDates, x, err); nulled {
				runstats.Add(runstats.ZeroNulled, ct.t.QualifiedName(), 1)
			}
			if _, ok := err.(*invalidDateError); ok {
				dead, err = err, nil
			}
			if err != nil {
				return nil, err
			}
		}
		out[i] = x
	}
	return out, dead
}

func key(t *change.Table, row []any) []any {
	if len(t.Key) == 0 {
		return nil
	}
	k := make([]any, len(t.Key))
	for i, c := range t.Key {
		k[i] = row[c]
	}
	return k
}

func sameKey(a, b []any) bool { return change.CompareKeys(a, b) == 0 }

// Ack records the newest acknowledged checkpoint. The server keeps nothing
// for a replica: the caller's checkpoint file is the durable state.
func (s *binlogStream) Ack(_ context.Context, cp change.Checkpoint) error {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	file, pos, _, err := parseCheckpoint(cp)
	if err != nil {
		return err
	}
	if pf, pp, _, perr := parseCheckpoint(s.acked); perr == nil && pf != "" && file != "" &&
		!(checkpointAt{file, pos}).after(checkpointAt{pf, pp}) {
		return nil // older: a no-op
	}
	s.acked = cp
	return nil
}

// Acked returns the newest acknowledged checkpoint.
func (s *binlogStream) Acked() change.Checkpoint {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	return s.acked
}

// Close ends the stream: a Next blocked in another goroutine returns an
// error. It is safe to call more than once.
func (s *binlogStream) Close() error {
	s.closeOnce.Do(s.closeAll)
	return nil
}

func (s *binlogStream) closeAll() {
	if s.closed != nil {
		select {
		case <-s.closed:
		default:
			close(s.closed)
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.syncer != nil {
		s.syncer.Close()
	}
	if s.pumpDone != nil {
		<-s.pumpDone
	}
	s.src.close()
}
