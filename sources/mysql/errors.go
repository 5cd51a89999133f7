package mysql

import (
	"errors"
	"fmt"
	"net"
	"strings"

	driver "github.com/go-sql-driver/mysql"
)

// Sentinel errors, wrapped by the errors Describe and Snapshot return.
var (
	// ErrTableNotFound: a configured table does not exist (or is not a table).
	ErrTableNotFound = errors.New("table not found")
	// ErrNoPrimaryKey: a configured table has no primary key and
	// allow_no_primary_key is off.
	ErrNoPrimaryKey = errors.New("table has no primary key")
)

// Server error numbers this package gives advice for.
const (
	erDBAccessDenied       = 1044 // access denied for user to database
	erAccessDenied         = 1045 // access denied for user (password)
	erBadDB                = 1049 // unknown database
	erNoSuchTable          = 1146
	erTableAccessDenied    = 1142 // command denied to user for table
	erColumnAccessDenied   = 1143
	erSpecificAccessDenied = 1227 // need the X privilege
	erLockWaitTimeout      = 1205
	erParseError           = 1064
	erTableDefChanged      = 1412 // table definition changed, retry transaction
	erUnknownSystemVar     = 1193
)

func serverErrno(err error) uint16 {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// server names a server for messages: address and user, never the password.
type server struct{ addr, user string }

func (s server) String() string { return fmt.Sprintf("%s as user %q", s.addr, s.user) }

// grantAdvice is the statement that gives a user what Snapshot needs.
func grantAdvice(user, db string) string {
	if db == "" {
		db = "<db>"
	}
	return fmt.Sprintf("GRANT RELOAD, REPLICATION CLIENT ON *.* TO '%[1]s'@'%%'; GRANT SELECT, LOCK TABLES ON %[2]s.* TO '%[1]s'@'%%'",
		strings.ReplaceAll(user, "'", "''"), quoteIdent(db))
}

// connectError explains a failure to connect or to run the first statement.
func connectError(err error, s server, db string) error {
	switch serverErrno(err) {
	case erAccessDenied:
		return fmt.Errorf("mysql: access denied for user %q at %s: check the user and password in the DSN (%w)", s.user, s.addr, err)
	case erDBAccessDenied:
		return fmt.Errorf("mysql: user %q may not use database %q at %s: grant it (GRANT SELECT ON %s.* TO '%s'@'%%') or fix the DSN (%w)",
			s.user, db, s.addr, quoteIdent(db), s.user, err)
	case erBadDB:
		return fmt.Errorf("mysql: unknown database %q at %s: create it or fix the database name in the DSN (%w)", db, s.addr, err)
	case 0:
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, driver.ErrInvalidConn) {
			return fmt.Errorf("mysql: cannot reach server at %s: is it running, and are the host and port in the DSN right? (%w)", s.addr, err)
		}
	}
	return fmt.Errorf("mysql: connecting to %s: %w", s, err)
}

// queryError adds advice to an error of a statement on a table.
func queryError(err error, s server, what string) error {
	switch serverErrno(err) {
	case erTableAccessDenied, erColumnAccessDenied:
		return fmt.Errorf("mysql: %s: %w (grant the user SELECT on the captured tables: GRANT SELECT ON <db>.* TO '%s'@'%%')", what, err, s.user)
	case erTableDefChanged:
		return fmt.Errorf("mysql: %s: %w (a table was altered while the snapshot started; run the snapshot again)", what, err)
	}
	return fmt.Errorf("mysql: %s: %w", what, err)
}
