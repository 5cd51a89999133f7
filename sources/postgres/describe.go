package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/textdist"
	"github.com/jackc/pgx/v5"
)

// Describe connects, checks every configured table exists, may be read and
// (unless allowed) has a primary key, and returns their schemas in the
// order of cfg.Tables: columns in ordinal order with Type (format_type
// text), Kind, Nullable, Generated (the expression of a stored generated
// column); Key (primary-key column indexes in key order); and
// EstimatedRows (pg_class.reltuples, -1 if never analyzed). Problems with
// several tables are reported together.
func Describe(ctx context.Context, dsn string, cfg Config) ([]*change.Table, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := connect(ctx, cc)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)

	d := describer{conn: conn, types: newTypeCatalog(), allowNoPK: cfg.AllowNoPrimaryKey}
	var tables []*change.Table
	var errs []error
	for _, s := range cfg.Tables {
		tn, _ := parseTableName(s) // validated above
		t, err := d.describe(ctx, tn)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		tables = append(tables, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tables, nil
}

type describer struct {
	conn       *pgx.Conn
	types      *typeCatalog
	allowNoPK  bool
	candidates []tableName // existing tables, loaded on the first miss
}

// relation is what the catalog says about one table.
type relation struct {
	OID      uint32
	Kind     string
	Database string
	User     string
	Usage    bool // USAGE on the schema
	Estimate int64
}

const relationQuery = `SELECT c.oid, c.relkind::text, current_database()::text, current_user::text,
	has_schema_privilege(n.oid, 'USAGE'),
	CASE WHEN c.relkind = 'p' THEN coalesce((
		SELECT sum(p.reltuples)::int8 FROM pg_catalog.pg_partition_tree(c.oid) pt
		JOIN pg_catalog.pg_class p ON p.oid = pt.relid
		WHERE pt.isleaf AND p.reltuples >= 0), -1)
	WHEN c.reltuples < 0 THEN -1 ELSE c.reltuples::int8 END
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`

const columnsQuery = `SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
	a.attnum, has_column_privilege(a.attrelid, a.attnum, 'SELECT'), coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
	FROM pg_catalog.pg_attribute a
	LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = 's'
	WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`

const primaryKeyQuery = `SELECT conkey FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'p'`

func (d *describer) describe(ctx context.Context, tn tableName) (*change.Table, error) {
	var rel relation
	err := d.conn.QueryRow(ctx, relationQuery, tn.Schema, tn.Name).Scan(
		&rel.OID, &rel.Kind, &rel.Database, &rel.User, &rel.Usage, &rel.Estimate)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, d.notFound(ctx, tn)
	}
	if err != nil {
		return nil, queryError(fmt.Sprintf("describing table %s", tn), err)
	}
	if !rel.Usage {
		return nil, fmt.Errorf("table %s: %w: user %q may not use schema %s — run: GRANT USAGE ON SCHEMA %s TO %s",
			tn, ErrPermissionDenied, rel.User, quoteIfNeeded(tn.Schema), quoteIfNeeded(tn.Schema), quoteIfNeeded(rel.User))
	}
	t := &change.Table{Database: rel.Database, Schema: tn.Schema, Name: tn.Name, EstimatedRows: rel.Estimate}

	rows, err := d.conn.Query(ctx, columnsQuery, rel.OID)
	if err != nil {
		return nil, queryError(fmt.Sprintf("describing table %s", tn), err)
	}
	var oids []uint32
	var attnums []int16
	var denied []string
	for rows.Next() {
		var c change.Column
		var oid uint32
		var attnum int16
		var canSelect bool
		if err := rows.Scan(&c.Name, &oid, &c.Type, &c.Nullable, &attnum, &canSelect, &c.Generated); err != nil {
			rows.Close()
			return nil, queryError(fmt.Sprintf("describing table %s", tn), err)
		}
		if !canSelect {
			denied = append(denied, quoteIfNeeded(c.Name))
		}
		t.Columns = append(t.Columns, c)
		oids = append(oids, oid)
		attnums = append(attnums, attnum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, queryError(fmt.Sprintf("describing table %s", tn), err)
	}
	if len(denied) > 0 {
		what := "columns " + strings.Join(denied, ", ") + " of table"
		if len(denied) == len(t.Columns) {
			what = "table"
		}
		return nil, fmt.Errorf("table %s: %w: user %q may not read %s %s — run: GRANT SELECT ON %s TO %s",
			tn, ErrPermissionDenied, rel.User, what, tn, tn, quoteIfNeeded(rel.User))
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("table %s has no columns to read", tn)
	}
	if err := d.types.load(ctx, d.conn, oids); err != nil {
		return nil, err
	}
	for i, o := range oids {
		t.Columns[i].Kind = d.types.kind(o)
	}

	var conkey []int16
	err = d.conn.QueryRow(ctx, primaryKeyQuery, rel.OID).Scan(&conkey)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, queryError(fmt.Sprintf("describing the primary key of %s", tn), err)
	}
	for _, k := range conkey {
		i := slices.Index(attnums, k)
		if i < 0 {
			return nil, fmt.Errorf("table %s: primary key column %d not found", tn, k)
		}
		t.Key = append(t.Key, i)
	}
	if len(t.Key) == 0 && !d.allowNoPK {
		return nil, noPrimaryKeyError(tn, rel.Kind)
	}
	return t, nil
}

func noPrimaryKeyError(tn tableName, relkind string) error {
	what := map[string]string{"v": "view", "m": "materialized view", "f": "foreign table"}[relkind]
	if what != "" {
		return fmt.Errorf("table %s: %w — it is a %s, which cannot have one: set allow_no_primary_key: true to read it as a single chunk", tn, ErrNoPrimaryKey, what)
	}
	return fmt.Errorf("table %s: %w — add one (ALTER TABLE %s ADD PRIMARY KEY (...)) or set allow_no_primary_key: true to read it as a single chunk, without parallelism", tn, ErrNoPrimaryKey, tn)
}

// notFound builds the error for a missing table, naming up to ten existing
// tables with similar names.
func (d *describer) notFound(ctx context.Context, tn tableName) error {
	if d.candidates == nil {
		d.candidates = []tableName{}
		rows, err := d.conn.Query(ctx, `SELECT n.nspname::text, c.relname::text
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
			ORDER BY 1, 2 LIMIT 50000`)
		if err == nil {
			for rows.Next() {
				var c tableName
				if rows.Scan(&c.Schema, &c.Name) == nil {
					d.candidates = append(d.candidates, c)
				}
			}
			rows.Close()
		}
	}
	similar := similarTables(tn, d.candidates, 10)
	if len(similar) == 0 {
		return fmt.Errorf("table %s: %w (no table with a similar name exists; check the name and the database in the DSN)", tn, ErrTableNotFound)
	}
	names := make([]string, len(similar))
	hint := ""
	for i, s := range similar {
		names[i] = s.String()
		if hint == "" && strings.EqualFold(s.Schema, tn.Schema) && strings.EqualFold(s.Name, tn.Name) {
			hint = fmt.Sprintf("; unquoted names fold to lower case — write %s, quotes included, to keep the capitals", s)
		}
	}
	return fmt.Errorf("table %s: %w; similar existing tables: %s%s", tn, ErrTableNotFound, strings.Join(names, ", "), hint)
}

// similarTables ranks the candidates by edit distance to the wanted name
// and returns up to n plausible ones.
func similarTables(want tableName, candidates []tableName, n int) []tableName {
	type scored struct {
		t     tableName
		score int
	}
	wn := strings.ToLower(want.Name)
	wq := strings.ToLower(want.Schema + "." + want.Name)
	var out []scored
	for _, c := range candidates {
		cn := strings.ToLower(c.Name)
		cq := strings.ToLower(c.Schema + "." + c.Name)
		score := min(textdist.Distance(wn, cn)+boolInt(c.Schema != want.Schema), textdist.Distance(wq, cq))
		related := len(wn) >= 3 && (strings.Contains(cn, wn) || len(cn) >= 3 && strings.Contains(wn, cn)) ||
			commonPrefix(wn, cn) >= max(3, len(wn)/2)
		if score > max(2, len(wn)/3) && !related {
			continue
		}
		out = append(out, scored{c, score})
	}
	slices.SortStableFunc(out, func(a, b scored) int { return a.score - b.score })
	res := make([]tableName, 0, n)
	for i := 0; i < len(out) && i < n; i++ {
		res = append(res, out[i].t)
	}
	return res
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
