package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/textdist"
)

// Describe connects, checks that every configured table exists, is an
// InnoDB base table and (unless cfg.AllowNoPrimaryKey) has a primary key,
// and returns the tables' schemas in the order of cfg.Tables: columns in
// ordinal order with their COLUMN_TYPE, Kind and nullability, the primary
// key's column indexes in key order, the database, and the estimated row
// count (information_schema TABLE_ROWS).
func Describe(ctx context.Context, dsn string, cfg Config) ([]*change.Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := open(ctx, dsn, 1)
	if err != nil {
		return nil, err
	}
	defer s.close()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, connectError(err, s.srv, s.dbName)
	}
	defer conn.Close()
	tables := make([]*change.Table, 0, len(cfg.Tables))
	for _, name := range cfg.Tables {
		ref, _ := parseTableName(name) // validated
		t, err := s.describe(ctx, conn, ref, cfg.AllowNoPrimaryKey)
		if err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// transactionalEngines are the engines whose tables
// START TRANSACTION WITH CONSISTENT SNAPSHOT covers.
var transactionalEngines = []string{"innodb", "xtradb", "rocksdb", "tokudb"}

// describe reads one table's schema from information_schema.
func (s *source) describe(ctx context.Context, conn *sql.Conn, ref tableRef, allowNoPK bool) (*change.Table, error) {
	db := ref.db
	if db == "" {
		db = s.dbName
	}
	if db == "" {
		return nil, fmt.Errorf("mysql: table %q names no database and the DSN has none: write it as \"db.%s\" or put the database in the DSN", ref.name, ref.name)
	}
	what := fmt.Sprintf("describing %s.%s", db, ref.name)

	var (
		name, typ, engine string
		rows              sql.NullInt64
		found             bool
	)
	q, err := conn.QueryContext(ctx, `SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), TABLE_ROWS
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, db, ref.name)
	if err != nil {
		return nil, queryError(err, s.srv, what)
	}
	for q.Next() {
		var n, t, e string
		var r sql.NullInt64
		if err := q.Scan(&n, &t, &e, &r); err != nil {
			q.Close()
			return nil, queryError(err, s.srv, what)
		}
		// information_schema may match names case-insensitively; an exact
		// match wins, a case-insensitive one is taken when the server
		// folds names (lower_case_table_names) and so accepts it.
		if n == ref.name || !found {
			name, typ, engine, rows, found = n, t, e, r, true
		}
	}
	if err := errors.Join(q.Err(), q.Close()); err != nil {
		return nil, queryError(err, s.srv, what)
	}
	if found && name != ref.name {
		var lctn int
		if err := conn.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lctn); err != nil || lctn == 0 {
			found = false
		}
	}
	if !found {
		return nil, s.notFound(ctx, conn, db, ref.name)
	}
	switch strings.ToUpper(typ) {
	case "BASE TABLE", "SYSTEM VERSIONED":
	case "VIEW":
		return nil, fmt.Errorf("mysql: %s.%s is a view: capture the tables it reads instead (a view has no consistent snapshot lock and no primary key)", db, name)
	default:
		return nil, fmt.Errorf("mysql: %s.%s is a %s, not a table", db, name, strings.ToLower(typ))
	}
	if !slices.Contains(transactionalEngines, strings.ToLower(engine)) {
		return nil, fmt.Errorf("mysql: %s.%s uses the %s engine, which has no consistent snapshots: convert it (ALTER TABLE %s ENGINE=InnoDB) or leave it out",
			db, name, engine, quoteTable(db, name))
	}

	t := &change.Table{Database: db, Name: name, EstimatedRows: -1}
	if rows.Valid {
		t.EstimatedRows = rows.Int64
	}
	jsonCols, err := s.jsonCheckedColumns(ctx, conn, db, name)
	if err != nil {
		return nil, queryError(err, s.srv, what)
	}
	cols, err := conn.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, name)
	if err != nil {
		return nil, queryError(err, s.srv, what)
	}
	for cols.Next() {
		var cn, dt, ct, nullable string
		if err := cols.Scan(&cn, &dt, &ct, &nullable); err != nil {
			cols.Close()
			return nil, queryError(err, s.srv, what)
		}
		_, kind := classify(dt, ct, jsonCols[cn])
		t.Columns = append(t.Columns, change.Column{Name: cn, Type: ct, Kind: kind, Nullable: nullable == "YES"})
	}
	if err := errors.Join(cols.Err(), cols.Close()); err != nil {
		return nil, queryError(err, s.srv, what)
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("mysql: %s.%s: the user cannot see any of its columns (GRANT SELECT ON %s TO '%s'@'%%')", db, name, quoteTable(db, name), s.srv.user)
	}

	keys, err := conn.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`, db, name)
	if err != nil {
		return nil, queryError(err, s.srv, what)
	}
	for keys.Next() {
		var cn string
		if err := keys.Scan(&cn); err != nil {
			keys.Close()
			return nil, queryError(err, s.srv, what)
		}
		i := t.ColumnIndex(cn)
		if i < 0 {
			keys.Close()
			return nil, fmt.Errorf("mysql: %s.%s: primary-key column %q is not among the columns the user can see", db, name, cn)
		}
		t.Key = append(t.Key, i)
	}
	if err := errors.Join(keys.Err(), keys.Close()); err != nil {
		return nil, queryError(err, s.srv, what)
	}
	if len(t.Key) == 0 && !allowNoPK {
		return nil, fmt.Errorf("mysql: %w: %s.%s: add one (ALTER TABLE %s ADD PRIMARY KEY (...)), or set allow_no_primary_key: true to read it whole as one range (its changes then have no key)",
			ErrNoPrimaryKey, db, name, quoteTable(db, name))
	}
	return t, nil
}

// jsonCheck matches MariaDB's check of a JSON column: json_valid(`col`).
var jsonCheck = regexp.MustCompile("^\\s*json_valid\\(\\s*`((?:[^`]|``)+)`\\s*\\)\\s*$")

// jsonCheckedColumns returns the columns of a MariaDB table that hold JSON:
// MariaDB's JSON type is LONGTEXT with a CHECK (json_valid(col)) constraint,
// visible in information_schema.CHECK_CONSTRAINTS (MySQL has a real JSON type).
func (s *source) jsonCheckedColumns(ctx context.Context, conn *sql.Conn, db, table string) (map[string]bool, error) {
	if !s.mariadb {
		return nil, nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, db, table)
	if err != nil {
		if serverErrno(err) == erNoSuchTable || serverErrno(err) == 1109 { // before MariaDB 10.2
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var clause string
		if err := rows.Scan(&clause); err != nil {
			return nil, err
		}
		if m := jsonCheck.FindStringSubmatch(clause); m != nil {
			cols[strings.ReplaceAll(m[1], "``", "`")] = true
		}
	}
	return cols, rows.Err()
}

// notFound explains a missing table: an unknown database, similar table
// names in the database, or the same name in other databases.
func (s *source) notFound(ctx context.Context, conn *sql.Conn, db, name string) error {
	var one int
	err := conn.QueryRowContext(ctx, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("mysql: %w: %s.%s: unknown database %q (or the user %q may not see it)", ErrTableNotFound, db, name, db, s.srv.user)
	}
	var names []string
	if rows, err := conn.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? LIMIT 10000", db); err == nil {
		for rows.Next() {
			var n string
			if rows.Scan(&n) == nil {
				names = append(names, n)
			}
		}
		rows.Close()
	}
	var elsewhere []string
	if rows, err := conn.QueryContext(ctx, "SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = ? LIMIT 5", name); err == nil {
		for rows.Next() {
			var d string
			if rows.Scan(&d) == nil && d != db {
				elsewhere = append(elsewhere, d+"."+name)
			}
		}
		rows.Close()
	}
	msg := fmt.Sprintf("mysql: %s.%s: %v", db, name, ErrTableNotFound)
	switch similar := similarNames(name, names, 5); {
	case len(similar) > 0:
		msg += "; similar tables: " + quoteList(db, similar)
	case len(names) == 0:
		msg += fmt.Sprintf("; database %q has no tables the user %q can see", db, s.srv.user)
	case len(names) <= 10:
		msg += "; its tables are: " + quoteList(db, names)
	default:
		msg += fmt.Sprintf("; no similar name among its %d tables", len(names))
	}
	if len(elsewhere) > 0 {
		msg += "; a table of that name is in: " + strings.Join(elsewhere, ", ")
	}
	return &notFoundError{msg: msg}
}

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return ErrTableNotFound }

func quoteList(db string, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", db+"."+n)
	}
	return strings.Join(q, ", ")
}

// similarNames returns up to limitN names close to name: equal ignoring case,
// containing or contained in it, or within a small edit distance.
func similarNames(name string, names []string, limitN int) []string {
	type cand struct {
		n string
		d int
	}
	var cs []cand
	ln := strings.ToLower(name)
	limit := max(2, len(name)/3)
	for _, n := range names {
		l := strings.ToLower(n)
		d := textdist.Distance(ln, l)
		switch {
		case l == ln:
			d = 0
		case strings.Contains(l, ln) || strings.Contains(ln, l):
			d = min(d, 1)
		case d > limit:
			continue
		}
		cs = append(cs, cand{n, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.n, b.n)
	})
	var out []string
	for i := 0; i < len(cs) && i < limitN; i++ {
		out = append(out, cs[i].n)
	}
	return out
}
