package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"
)

const (
	dialTimeout = 10 * time.Second
	// netTimeout bounds how long the server waits for this client to take
	// rows (a reader blocked on a slow consumer) or to send a statement.
	netTimeout = 3600
)

// source is an open connection pool to one server.
type source struct {
	db      *sql.DB
	srv     server
	dbName  string // the DSN's database ("" when none)
	mariadb bool
	version string
}

// open opens a pool of at most maxConns connections and checks that the
// server answers. The DSN is go-sql-driver's; this package overrides what
// its decoding depends on: text values (parseTime off), parameters
// interpolated client-side, utf8mb4, UTC. Errors never hold the password.
func open(ctx context.Context, dsn string, maxConns int) (*source, error) {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql: invalid DSN (want user:password@tcp(host:port)/db): %w", err)
	}
	cfg.ParseTime = false
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = dialTimeout
	}
	if err := cfg.Apply(driver.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, fmt.Errorf("mysql: configuring the connection: %w", err)
	}
	delete(cfg.Params, "time_zone") // set per session below
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: invalid DSN: %w", err)
	}
	s := &source{db: sql.OpenDB(conn), srv: server{addr: cfg.Addr, user: cfg.User}, dbName: cfg.DBName}
	s.db.SetMaxOpenConns(maxConns)
	s.db.SetMaxIdleConns(maxConns)
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&s.version); err != nil {
		s.db.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, connectError(err, s.srv, s.dbName)
	}
	s.mariadb = strings.Contains(strings.ToLower(s.version), "mariadb")
	return s, nil
}

func (s *source) close() error { return s.db.Close() }

// session takes a dedicated connection and sets it up for reading: UTC
// session time zone (TIMESTAMP values arrive in UTC), long network
// timeouts, no statement time limit, REPEATABLE READ.
func (s *source) session(ctx context.Context) (*sql.Conn, error) {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, connectError(err, s.srv, s.dbName)
	}
	set := fmt.Sprintf("SET SESSION time_zone = '+00:00', SESSION net_write_timeout = %d, SESSION net_read_timeout = %d", netTimeout, netTimeout)
	if s.mariadb {
		set += ", SESSION max_statement_time = 0"
	} else {
		set += ", SESSION max_execution_time = 0"
	}
	for _, q := range []string{set, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.Close()
			return nil, fmt.Errorf("mysql: setting up a session on %s: %w", s.srv, err)
		}
	}
	return c, nil
}

// quoteIdent backquotes an identifier, doubling backquotes inside.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteTable is `db`.`name`.
func quoteTable(db, name string) string { return quoteIdent(db) + "." + quoteIdent(name) }
