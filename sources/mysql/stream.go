package mysql

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	driver "github.com/go-sql-driver/mysql"

	"github.com/beamsync/beamsync/change"
)

// Defaults and limits of StreamConfig and the stream.
const (
	DefaultHeartbeat = 5 * time.Second
	// TruncateFail and TruncateIgnore are the values of StreamConfig.Truncate.
	TruncateFail   = "fail"
	TruncateIgnore = "ignore"

	// serverIDBase and serverIDRange bound the derived replica server ids:
	// 1<<30 + hash(Name) % 1<<20.
	serverIDBase  = 1 << 30
	serverIDRange = 1 << 20

	// maxProgressChanges bounds the changes Next coalesces from
	// transactions that are already at hand.
	maxProgressChanges = 1000
	// maxProgressEvents and maxProgressDelay bound the coalescing when
	// the events at hand hold few captured changes.
	maxProgressEvents = 10000
	maxProgressDelay  = 100 * time.Millisecond
	// eventQueue is the number of binlog events read ahead of Next.
	eventQueue = 256
)

// StreamConfig configures binlog capture.
type StreamConfig struct {
	// ServerID is the server id this replica registers with; it must be
	// unique among the server's replicas. 0 derives it from Name:
	// 1<<30 + FNV-1a(Name) % 1<<20 (see DerivedServerID).
	ServerID uint32 `yaml:"server_id" json:"server_id"`
	// Name is the job's name, for the default server id.
	Name string `yaml:"name" json:"name"`
	// Heartbeat is the period of the server's heartbeats on an idle binlog
	// (default 5s): each advances the checkpoint, and a connection that
	// stays silent for 3 periods and 10 s is taken for lost.
	Heartbeat time.Duration `yaml:"heartbeat" json:"heartbeat"`
	// Truncate says what a TRUNCATE of a captured table does: "fail" (the
	// default) stops the stream with an error, since the binlog holds no
	// row deletes for it; "ignore" goes on, leaving the truncated rows in
	// the views.
	Truncate string `yaml:"truncate" json:"truncate"`
}

// Validate checks the configuration. Zero values mean the defaults.
func (c *StreamConfig) Validate() error {
	var errs []error
	switch c.Truncate {
	case "", TruncateFail, TruncateIgnore:
	default:
		errs = append(errs, fmt.Errorf("truncate: %q is not a policy (want %q or %q)", c.Truncate, TruncateFail, TruncateIgnore))
	}
	if c.Heartbeat < 0 || c.Heartbeat > time.Hour {
		errs = append(errs, fmt.Errorf("heartbeat: %v is out of range 1ms..1h (0 means the default, %v)", c.Heartbeat, DefaultHeartbeat))
	}
	if len(errs) > 0 {
		return fmt.Errorf("mysql stream config: %w", errors.Join(errs...))
	}
	return nil
}

// WithDefaults returns c with zero values replaced by the defaults.
func (c StreamConfig) WithDefaults() StreamConfig {
	if c.ServerID == 0 {
		c.ServerID = DerivedServerID(c.Name)
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Truncate == "" {
		c.Truncate = TruncateFail
	}
	return c
}

// DerivedServerID is the replica server id of a job named name when
// StreamConfig.ServerID is 0: 1<<30 + FNV-1a(name) % 1<<20, a range real
// servers rarely use.
func DerivedServerID(name string) uint32 {
	h := fnv.New32a()
	_, _ = io.WriteString(h, name)
	return serverIDBase + h.Sum32()%serverIDRange
}

// SnapshotAndStream checks the server's binlog settings and the user's
// grants, takes the consistent parallel snapshot of the tables (Snapshot,
// handing its batches to emit), and returns the stream that continues
// exactly at the snapshot's binlog coordinate: its first change is the
// first one committed after the snapshot.
func SnapshotAndStream(ctx context.Context, dsn string, cfg Config, scfg StreamConfig, tables []*change.Table, emit func(change.Batch) error) (change.Stream, SnapshotInfo, error) {
	if err := scfg.Validate(); err != nil {
		return nil, SnapshotInfo{}, err
	}
	scfg = scfg.WithDefaults()
	// Refuse what can never stream before reading every table.
	if err := probeStream(ctx, dsn, scfg); err != nil {
		return nil, SnapshotInfo{}, err
	}
	// Without a dead-letter receiver of its own, the snapshot's dead
	// letters (zero_dates: dead_letter) come with the stream's first
	// Progress.
	var pending []change.DeadLetter
	if cfg.ZeroDates == ZeroDatesDeadLetter && cfg.OnDeadLetter == nil {
		cfg.OnDeadLetter = func(d change.DeadLetter) error {
			pending = append(pending, d)
			return nil
		}
	}
	info, err := Snapshot(ctx, dsn, cfg, tables, emit)
	if err != nil {
		return nil, info, err
	}
	// Invariant: the snapshot holds every change of the tables before
	// File:Offset and none after; the binlog from there on is exactly the
	// rest.
	st, err := OpenStream(ctx, dsn, cfg, scfg, tables, change.Checkpoint(sourcePos(info.File, info.Offset)))
	if bs, ok := st.(*binlogStream); ok && err == nil {
		bs.pending = pending
	}
	return st, info, err
}

// probeStream checks the settings and that the user may replicate, by
// opening and closing a binlog connection at the current position.
func probeStream(ctx context.Context, dsn string, scfg StreamConfig) error {
	s, err := open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer s.close()
	pt, err := s.checkBinlogSettings(ctx)
	if err != nil {
		return err
	}
	sy, err := s.newSyncer(dsn, scfg)
	if err != nil {
		return err
	}
	defer sy.Close()
	if _, err := sy.StartSync(gomysql.Position{Name: pt.file, Pos: uint32(pt.offset)}); err != nil {
		return s.replicationError(err, sourcePos(pt.file, pt.offset))
	}
	return nil
}

// OpenStream checks the server's binlog settings and the user's grants and
// opens the binlog after checkpoint from: "binlog.000003:1234" (the stream
// goes on with the transaction that begins there) or a MariaDB GTID
// position such as "0-1-42" (it goes on after that transaction, for replay
// from a GTID). An empty from starts at the server's current position
// (SHOW MASTER STATUS).
func OpenStream(ctx context.Context, dsn string, cfg Config, scfg StreamConfig, tables []*change.Table, from change.Checkpoint) (change.Stream, error) {
	if err := scfg.Validate(); err != nil {
		return nil, err
	}
	scfg = scfg.WithDefaults()
	if len(tables) == 0 {
		return nil, errors.New("mysql: stream of no tables: pass the tables Describe returns")
	}
	s, err := open(ctx, dsn, 2)
	if err != nil {
		return nil, err
	}
	st := &binlogStream{
		src: s, scfg: scfg, allowNoPK: cfg.AllowNoPrimaryKey, zeroDates: cfg.ZeroDates,
		tables: map[tableRef]*capTable{}, byID: map[uint64]*capTable{},
		events: make(chan eventOrErr, eventQueue), closed: make(chan struct{}),
	}
	for _, t := range tables {
		ref := tableRef{db: t.Database, name: t.Name}
		if t.Database == "" {
			s.close()
			return nil, fmt.Errorf("mysql: table %q has no database: pass the tables Describe returns", t.Name)
		}
		if _, dup := st.tables[ref]; dup {
			s.close()
			return nil, fmt.Errorf("mysql: table %s is listed twice", t.QualifiedName())
		}
		st.tables[ref] = newCapTable(t)
	}
	pt, err := s.checkBinlogSettings(ctx)
	if err != nil {
		s.close()
		return nil, err
	}
	if st.syncer, err = s.newSyncer(dsn, scfg); err != nil {
		s.close()
		return nil, err
	}
	var streamer *replication.BinlogStreamer
	switch file, pos, gtid, err := parseCheckpoint(from); {
	case err != nil:
		st.closeAll()
		return nil, err
	case gtid != "":
		set, perr := gomysql.ParseMariadbGTIDSet(gtid)
		if perr != nil || !s.mariadb {
			st.closeAll()
			return nil, fmt.Errorf("mysql: checkpoint %q: a GTID position is only understood on MariaDB (domain-server-sequence); give a binlog coordinate \"file:position\" instead", from)
		}
		streamer, err = st.syncer.StartSyncGTID(set)
		if err != nil {
			st.closeAll()
			return nil, s.replicationError(err, gtid)
		}
	default:
		if file == "" {
			file, pos = pt.file, pt.offset
		}
		st.file, st.last = file, checkpointAt{file: file, pos: pos}
		st.cp = change.Checkpoint(sourcePos(file, pos))
		streamer, err = st.syncer.StartSync(gomysql.Position{Name: file, Pos: uint32(pos)})
		if err != nil {
			st.closeAll()
			return nil, s.replicationError(err, sourcePos(file, pos))
		}
	}
	st.acked = from
	pctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	st.pumpDone = make(chan struct{})
	go st.pump(pctx, streamer)
	return st, nil
}

// checkpointRE matches "file:pos"; gtidRE a MariaDB GTID position.
var (
	checkpointRE = regexp.MustCompile(`^(.+):([0-9]+)$`)
	gtidRE       = regexp.MustCompile(`^[0-9]+-[0-9]+-[0-9]+(,[0-9]+-[0-9]+-[0-9]+)*$`)
)

// parseCheckpoint splits a checkpoint into a binlog coordinate or a GTID
// position (all empty for the empty checkpoint).
func parseCheckpoint(cp change.Checkpoint) (file string, pos uint64, gtid string, err error) {
	s := strings.TrimSpace(string(cp))
	switch {
	case s == "":
		return "", 0, "", nil
	case gtidRE.MatchString(s):
		return "", 0, s, nil
	}
	m := checkpointRE.FindStringSubmatch(s)
	if m == nil {
		return "", 0, "", fmt.Errorf("mysql: checkpoint %q is neither a binlog coordinate (\"binlog.000003:1234\") nor a MariaDB GTID position (\"0-1-42\")", cp)
	}
	pos, err = strconv.ParseUint(m[2], 10, 32)
	if err != nil || pos < 4 {
		return "", 0, "", fmt.Errorf("mysql: checkpoint %q: position %s is not a binlog offset (4 .. 4 GiB)", cp, m[2])
	}
	if _, err := change.BinlogSequence(m[1]); err != nil {
		return "", 0, "", fmt.Errorf("mysql: checkpoint %q: %w", cp, err)
	}
	return m[1], pos, "", nil
}

// checkBinlogSettings verifies that the server writes a row binlog with
// full images, and returns its current position (which needs REPLICATION
// CLIENT / BINLOG MONITOR).
func (s *source) checkBinlogSettings(ctx context.Context) (point, error) {
	var logBin, format, image string
	err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image").Scan(&logBin, &format, &image)
	if err != nil {
		return point{}, fmt.Errorf("mysql: reading the binlog settings of %s: %w", s.srv, err)
	}
	if errs := settingsProblems(logBin, format, image); len(errs) > 0 {
		return point{}, fmt.Errorf("mysql: %s cannot be streamed from: %s", s.srv.addr, strings.Join(errs, "; "))
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return point{}, connectError(err, s.srv, s.dbName)
	}
	defer c.Close()
	pt, err := s.coordinates(ctx, c, s.dbName)
	if err != nil {
		return point{}, fmt.Errorf("%w (a change stream needs: %s)", err, streamGrantAdvice(s.srv.user, s.mariadb))
	}
	return pt, nil
}

// settingsProblems says what is wrong with the binlog settings for change
// capture, and how to fix each.
func settingsProblems(logBin, format, image string) []string {
	var errs []string
	if logBin != "1" && !strings.EqualFold(logBin, "ON") {
		errs = append(errs, "binary logging is off: start the server with log_bin (log-bin = binlog in my.cnf; it cannot be set at run time)")
	}
	if !strings.EqualFold(format, "ROW") {
		errs = append(errs, fmt.Sprintf("binlog_format is %s, not ROW: set binlog_format = ROW in my.cnf, or SET GLOBAL binlog_format = 'ROW' (sessions opened before keep the old format)", format))
	}
	if !strings.EqualFold(image, "FULL") {
		errs = append(errs, fmt.Sprintf("binlog_row_image is %s, not FULL: set binlog_row_image = FULL in my.cnf, or SET GLOBAL binlog_row_image = 'FULL'", image))
	}
	return errs
}

// streamGrantAdvice is the statement that gives a user what the change
// stream (and its snapshot) needs.
func streamGrantAdvice(user string, mariadb bool) string {
	user = strings.ReplaceAll(user, "'", "''")
	if mariadb {
		return fmt.Sprintf("GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '%s'@'%%'", user)
	}
	return fmt.Sprintf("GRANT SELECT, RELOAD, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '%s'@'%%'", user)
}

// replicationError explains a failure of the binlog connection.
func (s *source) replicationError(err error, at string) error {
	var me *gomysql.MyError
	code := uint16(0)
	if errors.As(err, &me) {
		code = me.Code
	}
	msg := err.Error()
	switch {
	case code == erSpecificAccessDenied || code == erAccessDenied || strings.Contains(msg, "REPLICATION SLAVE"):
		// MariaDB refuses COM_REGISTER_SLAVE with "access denied" (1045)
		// when the privilege is missing; the same credentials have just
		// worked for queries, so the privilege is what lacks.
		return fmt.Errorf("mysql: user %q may not read the binlog of %s (registering as a replica and reading the binlog need the REPLICATION SLAVE privilege): %s (%w)",
			s.srv.user, s.srv.addr, streamGrantAdvice(s.srv.user, s.mariadb), err)
	case code == 1236: // ER_MASTER_FATAL_ERROR_READING_BINLOG
		return fmt.Errorf("mysql: the binlog of %s cannot be read from %s (purged, or not a position the server wrote): re-sync the tables with --snapshot always (%w)",
			s.srv.addr, at, err)
	case code == 0 && (errors.As(err, new(net.Error)) || errors.Is(err, io.EOF) || errors.Is(err, gomysql.ErrBadConn) || lostConnection(msg)):
		return fmt.Errorf("mysql: the binlog connection to %s was lost at %s: reopen the stream from its last checkpoint (%w)", s.srv.addr, at, err)
	}
	return fmt.Errorf("mysql: reading the binlog of %s at %s: %w", s.srv, at, err)
}

// lostConnection recognises the connection failures go-mysql reports only
// as text.
func lostConnection(msg string) bool {
	for _, s := range []string{"connection was bad", "EOF", "broken pipe", "connection reset", "i/o timeout", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// newSyncer configures a binlog connection like the DSN's.
func (s *source) newSyncer(dsn string, scfg StreamConfig) (*replication.BinlogSyncer, error) {
	dc, err := driver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql: invalid DSN (want user:password@tcp(host:port)/db): %w", err)
	}
	sc := replication.BinlogSyncerConfig{
		ServerID: scfg.ServerID, Flavor: gomysql.MySQLFlavor,
		User: dc.User, Password: dc.Passwd, Charset: "utf8mb4",
		TLSConfig: dc.TLS, TimestampStringLocation: time.UTC,
		HeartbeatPeriod: scfg.Heartbeat, ReadTimeout: 3*scfg.Heartbeat + 10*time.Second,
		// Invariant: a lost connection ends the stream with an error; an
		// internal reconnect could resume at a position that skips or
		// repeats part of a transaction.
		DisableRetrySync: true,
		Logger:           slog.New(slog.DiscardHandler),
		EventCacheCount:  eventQueue,
	}
	if s.mariadb {
		sc.Flavor = gomysql.MariaDBFlavor
	}
	switch dc.Net {
	case "unix":
		sock := dc.Addr
		sc.Host, sc.Port = "localhost", 0
		sc.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
	default:
		host, port, err := net.SplitHostPort(dc.Addr)
		if err != nil {
			host, port = dc.Addr, "3306"
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("mysql: DSN address %q: bad port", dc.Addr)
		}
		sc.Host, sc.Port = host, uint16(p)
	}
	return replication.NewBinlogSyncer(sc), nil
}
