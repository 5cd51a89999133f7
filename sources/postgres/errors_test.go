package postgres

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
	"github.com/jackc/pgx/v5/pgproto3"
)

func withUser(t *testing.T, dsn, user, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

func TestUnreachableServer(t *testing.T) {
	dsn := "postgres://alice:s3cretPW@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"
	_, err := Describe(testCtx(t), dsn, Config{Tables: []string{"t"}})
	want := "connecting to PostgreSQL at 127.0.0.1:1: connection refused — is the server running and the host/port in the DSN right?"
	if err == nil || err.Error() != want {
		t.Fatalf("Describe = %v\nwant        %s", err, want)
	}
	_, err = Snapshot(testCtx(t), dsn, Config{}, []*change.Table{{Schema: "public", Name: "t", Columns: []change.Column{{Name: "id"}}, Key: []int{0}}},
		func(change.Batch) error { return nil })
	if err == nil || err.Error() != want {
		t.Fatalf("Snapshot = %v\nwant        %s", err, want)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dsn := fmt.Sprintf("postgres://alice:s3cretPW@%s/db?sslmode=disable&connect_timeout=1", ln.Addr())
	_, err = Describe(testCtx(t), dsn, Config{Tables: []string{"t"}})
	want := fmt.Sprintf("connecting to PostgreSQL at %s: timed out — is the host reachable", ln.Addr())
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "s3cretPW") {
		t.Fatalf("Describe = %v\nwant prefix %s", err, want)
	}
}

func TestBadDSN(t *testing.T) {
	_, err := Describe(testCtx(t), "postgres://alice:s3cretPW@127.0.0.1:notaport/db", Config{Tables: []string{"t"}})
	if err == nil || strings.Contains(err.Error(), "s3cretPW") || !strings.HasPrefix(err.Error(), "invalid PostgreSQL DSN: ") {
		t.Fatalf("Describe = %v", err)
	}
}

// fakeServer accepts one connection, asks for a password and rejects it the
// way PostgreSQL does.
func fakeServer(t *testing.T, authType string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				be := pgproto3.NewBackend(c, c)
				msg, err := be.ReceiveStartupMessage()
				if err != nil {
					return
				}
				sm, ok := msg.(*pgproto3.StartupMessage)
				if !ok {
					return
				}
				user := sm.Parameters["user"]
				if authType == "md5" {
					be.Send(&pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}})
					_ = be.SetAuthType(pgproto3.AuthTypeMD5Password)
				} else {
					be.Send(&pgproto3.AuthenticationCleartextPassword{})
					_ = be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
				}
				if be.Flush() != nil {
					return
				}
				if _, err := be.Receive(); err != nil {
					return
				}
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "28P01",
					Message: fmt.Sprintf("password authentication failed for user %q", user)})
				_ = be.Flush()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestWrongPassword(t *testing.T) {
	// The test server trusts local connections, so a server that rejects
	// the password the way PostgreSQL does stands in for it.
	for _, auth := range []string{"md5", "cleartext"} {
		addr := fakeServer(t, auth)
		dsn := fmt.Sprintf("postgres://alice:s3cretPW@%s/db?sslmode=disable", addr)
		_, err := Describe(testCtx(t), dsn, Config{Tables: []string{"t"}})
		if err == nil {
			t.Fatal("Describe succeeded")
		}
		msg := err.Error()
		want := fmt.Sprintf("connecting to PostgreSQL at %s: password authentication failed for user \"alice\"", addr)
		if !strings.HasPrefix(msg, want) || strings.Contains(msg, "s3cretPW") {
			t.Errorf("%s: Describe = %v\nwant prefix %s (and no password)", auth, err, want)
		}
	}
}

func TestUnknownRoleAndDatabase(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	_, err := Describe(testCtx(t), withUser(t, dsn, "no_such_role_x", "pw"), Config{Tables: []string{"t"}})
	if err == nil || !strings.Contains(err.Error(), `role "no_such_role_x" does not exist`) || strings.Contains(err.Error(), "pw@") {
		t.Errorf("Describe = %v", err)
	}
	u, _ := url.Parse(dsn)
	u.Path = "/no_such_db_x"
	_, err = Describe(testCtx(t), u.String(), Config{Tables: []string{"t"}})
	if err == nil || !strings.Contains(err.Error(), `database "no_such_db_x" does not exist — check the database name in the DSN`) {
		t.Errorf("Describe = %v", err)
	}
}

func TestMissingTableSuggestsSimilar(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE orders (id int PRIMARY KEY)`,
		`CREATE TABLE order_items (id int PRIMARY KEY)`,
		`CREATE SCHEMA sales`,
		`CREATE TABLE sales.orders (id int PRIMARY KEY)`,
		`CREATE TABLE customers (id int PRIMARY KEY)`,
	)
	_, err := Describe(testCtx(t), dsn, Config{Tables: []string{"orderz", "orders", "zzz_nothing_like_it"}})
	if !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Describe = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"table public.orderz: table not found; similar existing tables: public.orders, sales.orders",
		"public.order_items",
		"table public.zzz_nothing_like_it: table not found (no table with a similar name exists",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\ndoes not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "customers") {
		t.Errorf("error %q suggests an unrelated table", msg)
	}
}

func TestPermissionDenied(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	role := testenv.UniqueName("reader")
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE secret (id int PRIMARY KEY, v text)`,
		`CREATE TABLE half (id int PRIMARY KEY, v text)`,
		`CREATE SCHEMA hidden`,
		`CREATE TABLE hidden.t (id int PRIMARY KEY)`,
		`CREATE ROLE `+role+` LOGIN`,
		`GRANT SELECT (id) ON half TO `+role,
	)
	t.Cleanup(func() {
		testenv.ExecAllPostgres(t, dsn, `DROP OWNED BY `+role, `DROP ROLE `+role)
	})
	_, err := Describe(testCtx(t), withUser(t, dsn, role, ""), Config{Tables: []string{"secret", "half", "hidden.t"}})
	if !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("Describe = %v", err)
	}
	for _, want := range []string{
		fmt.Sprintf("table public.secret: permission denied: user %q may not read table public.secret — run: GRANT SELECT ON public.secret TO %s", role, role),
		fmt.Sprintf("may not read columns v of table public.half"),
		fmt.Sprintf("table hidden.t: permission denied: user %q may not use schema hidden — run: GRANT USAGE ON SCHEMA hidden TO %s", role, role),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}

	// Snapshot reports a privilege the server refuses just as clearly.
	admin, err := Describe(testCtx(t), dsn, Config{Tables: []string{"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Snapshot(testCtx(t), withUser(t, dsn, role, ""), Config{}, admin, func(change.Batch) error { return nil })
	if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "permission denied for table secret") {
		t.Errorf("Snapshot = %v", err)
	}
}

func TestSnapshotSchemaChanged(t *testing.T) {
	dsn := testenv.NewPostgresDB(t)
	testenv.ExecAllPostgres(t, dsn, `CREATE TABLE t (id int PRIMARY KEY, v int, w text)`)
	tables, err := Describe(testCtx(t), dsn, Config{Tables: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE t ALTER COLUMN v TYPE text`)
	_, err = Snapshot(testCtx(t), dsn, Config{}, tables, func(change.Batch) error { return nil })
	if !errors.Is(err, ErrSchemaChanged) || !strings.Contains(err.Error(), "column v now reads as string, was int") {
		t.Errorf("Snapshot = %v", err)
	}
	testenv.ExecAllPostgres(t, dsn, `ALTER TABLE t DROP COLUMN w`)
	_, err = Snapshot(testCtx(t), dsn, Config{}, tables, func(change.Batch) error { return nil })
	if !errors.Is(err, ErrSchemaChanged) || !strings.Contains(err.Error(), "column w no longer exists") {
		t.Errorf("Snapshot = %v", err)
	}
	testenv.ExecAllPostgres(t, dsn, `DROP TABLE t`)
	_, err = Snapshot(testCtx(t), dsn, Config{}, tables, func(change.Batch) error { return nil })
	if !errors.Is(err, ErrTableNotFound) {
		t.Errorf("Snapshot = %v", err)
	}
	waitNoSessions(t, dsn)
}
