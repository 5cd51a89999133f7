package mysql

import (
	"context"
	"errors"
	"strings"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// userDSN creates a user with the given password and grants, dropped at
// the end of the test, and returns a DSN for it with password pw.
func userDSN(t *testing.T, dsn, password, pw string, grants ...string) (string, string) {
	t.Helper()
	user := testenv.UniqueName("bs")
	stmts := []string{"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'"}
	for _, g := range grants {
		stmts = append(stmts, strings.ReplaceAll(g, "USER", "'"+user+"'@'%'"))
	}
	testenv.ExecAllMySQL(t, testenv.MySQLDSN(), stmts...)
	t.Cleanup(func() {
		db, err := openDBErr(testenv.MySQLDSN())
		if err == nil {
			db.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
			db.Close()
		}
	})
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = user, pw
	return cfg.FormatDSN(), user
}

func TestDescribeErrors(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	db := dbName(t, dsn)
	testenv.ExecAllMySQL(t, dsn,
		"CREATE TABLE orders (id INT PRIMARY KEY)",
		"CREATE TABLE order_items (id INT PRIMARY KEY)",
		"CREATE TABLE customers (id INT PRIMARY KEY)",
		"CREATE TABLE nokey (a INT, b TEXT)",
		"CREATE TABLE old (id INT PRIMARY KEY) ENGINE=MyISAM",
		"CREATE VIEW v_orders AS SELECT id FROM orders",
		"INSERT INTO nokey VALUES (1, 'x'), (2, 'y'), (NULL, NULL)")
	ctx := context.Background()

	_, err := Describe(ctx, dsn, Config{Tables: []string{"ordrs"}})
	t.Log(err)
	if !errors.Is(err, ErrTableNotFound) || !strings.Contains(err.Error(), `"`+db+`.orders"`) {
		t.Errorf("missing table: %v", err)
	}
	_, err = Describe(ctx, dsn, Config{Tables: []string{"no_such_db_x.orders"}})
	t.Log(err)
	if !errors.Is(err, ErrTableNotFound) || !strings.Contains(err.Error(), `unknown database "no_such_db_x"`) {
		t.Errorf("missing database: %v", err)
	}
	_, err = Describe(ctx, dsn, Config{Tables: []string{"nokey"}})
	t.Log(err)
	if !errors.Is(err, ErrNoPrimaryKey) || !strings.Contains(err.Error(), "allow_no_primary_key") {
		t.Errorf("no primary key: %v", err)
	}
	_, err = Describe(ctx, dsn, Config{Tables: []string{"old"}})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "MyISAM") {
		t.Errorf("MyISAM: %v", err)
	}
	_, err = Describe(ctx, dsn, Config{Tables: []string{"v_orders"}})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "is a view") {
		t.Errorf("view: %v", err)
	}
	_, err = Describe(ctx, dsn, Config{})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "at least one table") {
		t.Errorf("no tables: %v", err)
	}

	// Allowed: read whole, without keys.
	res, tables := runSnapshot(t, dsn, Config{Tables: []string{"nokey"}, AllowNoPrimaryKey: true})
	if len(tables[0].Key) != 0 {
		t.Errorf("key %v", tables[0].Key)
	}
	rows := res.rows[db+".nokey"]
	if len(rows) != 3 || res.info.Rows[db+".nokey"] != 3 {
		t.Fatalf("%d rows read from nokey", len(rows))
	}
	for _, ch := range rows {
		if ch.Key != nil {
			t.Errorf("key %v", ch.Key)
		}
	}
}

func TestConnectErrors(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	ctx := context.Background()
	const secret = "S3cret-pw-x9"
	const wrong = "Wr0ng-pw-q7"

	bad, user := userDSN(t, dsn, secret, wrong)
	_, err := Describe(ctx, bad, Config{Tables: []string{"t"}})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "access denied for user \""+user+"\"") ||
		!strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), secret) {
		t.Errorf("wrong password: %v", err)
	}

	cfg, _ := driver.ParseDSN(dsn)
	cfg.Addr, cfg.Passwd = "127.0.0.1:1", secret
	_, err = Snapshot(ctx, cfg.FormatDSN(), Config{}, []*change.Table{{Database: "d", Name: "t", Columns: []change.Column{{Name: "a", Type: "int(11)", Kind: change.KindInt}}}},
		func(change.Batch) error { return nil })
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "cannot reach server at 127.0.0.1:1") || strings.Contains(err.Error(), secret) {
		t.Errorf("unreachable: %v", err)
	}

	cfg, _ = driver.ParseDSN(dsn)
	cfg.DBName = "no_such_db_y"
	_, err = Describe(ctx, cfg.FormatDSN(), Config{Tables: []string{"t"}})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), `unknown database "no_such_db_y"`) {
		t.Errorf("unknown database: %v", err)
	}

	_, err = Describe(ctx, "not a dsn", Config{Tables: []string{"t"}})
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "invalid DSN") {
		t.Errorf("bad DSN: %v", err)
	}
}

func TestPrivilegeErrors(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	db := dbName(t, dsn)
	testenv.ExecAllMySQL(t, dsn, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	ctx := context.Background()
	cfg := Config{Tables: []string{"t"}}
	on := "`" + db + "`.*"
	cases := []struct {
		grants []string
		want   string
	}{
		{[]string{"GRANT SELECT ON " + on + " TO USER"}, "RELOAD privilege"},
		{[]string{"GRANT SELECT ON " + on + " TO USER", "GRANT RELOAD ON *.* TO USER"}, "LOCK TABLES"},
		{[]string{"GRANT SELECT, LOCK TABLES ON " + on + " TO USER", "GRANT RELOAD ON *.* TO USER"}, "REPLICATION CLIENT"},
		{[]string{"GRANT SELECT, LOCK TABLES ON " + on + " TO USER", "GRANT RELOAD, REPLICATION CLIENT ON *.* TO USER"}, ""},
	}
	for _, c := range cases {
		udsn, user := userDSN(t, dsn, "pw", "pw", c.grants...)
		tables, err := Describe(ctx, udsn, cfg)
		if err != nil {
			t.Fatalf("%v: Describe: %v", c.grants, err)
		}
		n := 0
		_, err = Snapshot(ctx, udsn, cfg, tables, func(b change.Batch) error { n += len(b.Changes); return nil })
		t.Log(err)
		switch {
		case c.want == "" && (err != nil || n != 1):
			t.Errorf("%v: %d rows, %v", c.grants, n, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), "GRANT RELOAD, REPLICATION CLIENT ON *.* TO '"+user+"'")):
			t.Errorf("%v: got %v, want an error naming %s and the grant", c.grants, err, c.want)
		}
	}
}
