// Package testenv gives tests a fresh database on the throwaway servers that
// scripts/testenv.sh starts (PostgreSQL with wal_level=logical, MariaDB with a
// row binlog). Servers are found through BEAMSYNC_TEST_PG_DSN and
// BEAMSYNC_TEST_MYSQL_DSN, with the script's localhost ports as defaults.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Default DSNs of the servers scripts/testenv.sh starts.
const (
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:33306)/"
)

// PostgresDSN is the admin DSN of the test PostgreSQL server.
func PostgresDSN() string { return envOr("BEAMSYNC_TEST_PG_DSN", DefaultPostgresDSN) }

// GCSHost is the host:port of the test fake-gcs-server.
func GCSHost() string { return envOr("BEAMSYNC_TEST_GCS_HOST", "127.0.0.1:4443") }

// MySQLDSN is the admin DSN (go-sql-driver form) of the test MariaDB server.
func MySQLDSN() string { return envOr("BEAMSYNC_TEST_MYSQL_DSN", DefaultMySQLDSN) }

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// UniqueName returns a lower-case identifier unique to this test run.
func UniqueName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

func fatalNoServer(t testing.TB, what, dsn string, err error) {
	t.Helper()
	t.Fatalf("%s test server not reachable at %s: %v\nstart it with: scripts/testenv.sh start (make test does this)", what, dsn, err)
}

// NewPostgresDB creates a fresh database and returns its DSN; it is dropped
// when the test ends.
func NewPostgresDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := PostgresDSN()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		fatalNoServer(t, "PostgreSQL", admin, err)
	}
	defer conn.Close(ctx)
	name := UniqueName("t")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewMySQLDB creates a fresh database and returns its DSN (go-sql-driver
// form, with parseTime off: sources parse values themselves); it is dropped
// when the test ends.
func NewMySQLDB(t testing.TB) string {
	t.Helper()
	admin := MySQLDSN()
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatalf("opening %s: %v", admin, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		fatalNoServer(t, "MariaDB", admin, err)
	}
	name := UniqueName("t")
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
	})
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", admin, err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

// ExecAllPostgres runs each statement (or script) on a PostgreSQL database.
func ExecAllPostgres(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("executing %q: %v", abbreviate(s), err)
		}
	}
}

// ExecAllMySQL runs each statement (or script of several statements) on a
// MariaDB database.
func ExecAllMySQL(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parsing %s: %v", dsn, err)
	}
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("opening %s: %v", dsn, err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("executing %q: %v", abbreviate(s), err)
		}
	}
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return fmt.Sprint(s)
}
