package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors, wrapped by the errors Describe and Snapshot return; test
// them with errors.Is.
var (
	// ErrTableNotFound: a configured table does not exist.
	ErrTableNotFound = errors.New("table not found")
	// ErrNoPrimaryKey: a table has no primary key and allow_no_primary_key
	// is off.
	ErrNoPrimaryKey = errors.New("table has no primary key")
	// ErrPermissionDenied: the user may not read a table (or use its schema).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrSchemaChanged: a table passed to Snapshot no longer matches the
	// database (a column was dropped or changed type since Describe).
	ErrSchemaChanged = errors.New("table changed since Describe")
)

// connectError turns a failed connection attempt into a message that names
// the server and the likely fix. It never includes the DSN or the password.
func connectError(cfg *pgconn.Config, err error) error {
	addr := "PostgreSQL"
	if cfg != nil {
		addr = fmt.Sprintf("PostgreSQL at %s", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	}
	user, db := "", ""
	if cfg != nil {
		user, db = cfg.User, cfg.Database
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Errorf("connecting to %s: password authentication failed for user %q — check the password in the DSN (or PGPASSWORD / ~/.pgpass)", addr, user)
		case "28000":
			return fmt.Errorf("connecting to %s: %s — check the user name in the DSN and the server's pg_hba.conf", addr, pgErr.Message)
		case "3D000":
			return fmt.Errorf("connecting to %s: database %q does not exist — check the database name in the DSN", addr, db)
		case "53300":
			return fmt.Errorf("connecting to %s: %s — the server's max_connections is exhausted; lower parallelism or raise max_connections", addr, pgErr.Message)
		case "57P03":
			return fmt.Errorf("connecting to %s: %s — the server is starting up or shutting down; retry shortly", addr, pgErr.Message)
		}
		return fmt.Errorf("connecting to %s: %s (SQLSTATE %s)", addr, pgErr.Message, pgErr.Code)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connecting to %s: connection refused — is the server running and the host/port in the DSN right?", addr)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("connecting to %s: host %q not found — check the host in the DSN", addr, dnsErr.Name)
	case pgconn.Timeout(err) || isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		// The caller's own context is checked before: this is connect_timeout.
		return fmt.Errorf("connecting to %s: timed out — is the host reachable (firewall, port), the server running and connect_timeout long enough?", addr)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("connecting to %s: host unreachable — check the host in the DSN and the network", addr)
	}
	return fmt.Errorf("connecting to %s: %s", addr, connectCause(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connectCause returns pgconn's message without its "failed to connect to
// `user=… database=…`:" prefix (which holds no password, but repeats what
// the caller already says).
func connectCause(err error) string {
	msg := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		if i := strings.Index(msg, "`:"); i >= 0 {
			msg = strings.TrimSpace(msg[i+2:])
		}
	}
	return msg
}

// dsnError reports an unparsable DSN without echoing it (it may hold a
// password).
func dsnError(err error) error {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// "cannot parse `<redacted dsn>`: <reason>": keep the reason only.
		if i := strings.Index(msg, "`: "); i >= 0 {
			msg = msg[i+3:]
		} else if u := errors.Unwrap(pce); u != nil {
			msg = u.Error()
		} else {
			msg = "malformed connection string"
		}
	}
	return fmt.Errorf("invalid PostgreSQL DSN: %s (want postgres://user:password@host:port/database or key=value form)", msg)
}

// queryError adds the fix to server errors a user can act on.
func queryError(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42501":
			return fmt.Errorf("%s: %w: %s — grant the user SELECT on the table and USAGE on its schema", what, ErrPermissionDenied, pgErr.Message)
		case "42P01", "42703":
			return fmt.Errorf("%s: %w: %s — describe the tables again", what, ErrSchemaChanged, pgErr.Message)
		case "57014":
			return fmt.Errorf("%s: query canceled by the server (statement_timeout or an administrator): %s", what, pgErr.Message)
		case "25P02", "25006":
			return fmt.Errorf("%s: %s", what, pgErr.Message)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
