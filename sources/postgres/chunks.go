package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/jackc/pgx/v5"
)

// tablePlan is what the readers need to read one table. The planner builds
// it from the catalog inside the snapshot; it is read-only afterwards.
type tablePlan struct {
	table    *change.Table
	name     string // QualifiedName, the key of SnapshotInfo.Rows
	rel      string // the quoted, schema-qualified relation
	lockable bool   // a table or view (LOCK TABLE refuses other relations)
	decoders []*decoder
	formats  pgx.QueryResultFormats
	// selectSQL[shape] reads a chunk; shape bit 1: lower bound, bit 2: upper.
	selectSQL [4]string
	// boundarySQL lists the chunk boundaries (empty for a table without a key).
	boundarySQL string
	// cursor, when set, restricts the chunk queries to the rows at or past
	// the table's watermark (see Cursor).
	cursor *cursorFilter
}

// chunk is a half-open primary-key range (lower, upper] of one table. Its
// bounds are key values in the server's text form; nil means unbounded.
type chunk struct {
	plan         *tablePlan
	lower, upper []string
	seq          int // the chunk's place in planning order (0, 1, ...)
}

func (c chunk) shape() int {
	s := 0
	if c.lower != nil {
		s |= 1
	}
	if c.upper != nil {
		s |= 2
	}
	return s
}

// args returns the query arguments of the chunk: the result formats, then
// the bounds.
func (c chunk) args() []any {
	args := make([]any, 0, 1+len(c.lower)+len(c.upper))
	args = append(args, c.plan.formats)
	for _, v := range c.lower {
		args = append(args, v)
	}
	for _, v := range c.upper {
		args = append(args, v)
	}
	if cur := c.plan.cursor; cur != nil && cur.from != "" {
		args = append(args, cur.from)
	}
	return args
}

func (c chunk) String() string {
	lo, hi := "-∞", "+∞"
	if c.lower != nil {
		lo = "(" + strings.Join(c.lower, ", ") + ")"
	}
	if c.upper != nil {
		hi = "(" + strings.Join(c.upper, ", ") + ")"
	}
	return fmt.Sprintf("%s key range %s..%s]", c.plan.name, lo, hi)
}

// catalogColumn is the live catalog entry of a column.
type catalogColumn struct {
	oid      uint32
	castType string // format_type without modifier: the type to cast bounds to
	notNull  bool
}

const planColumnsQuery = `SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, NULL), a.attnotnull,
	c.relkind IN ('r', 'p', 'v')
	FROM pg_catalog.pg_attribute a
	JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`

// buildPlan checks a table against the catalog (inside the snapshot) and
// prepares its queries and decoders.
func buildPlan(ctx context.Context, conn *pgx.Conn, types *typeCatalog, t *change.Table, allowNoPK bool) (*tablePlan, error) {
	name := t.QualifiedName()
	tn := tableName{Schema: t.Schema, Name: t.Name}
	if tn.Schema == "" {
		tn.Schema = "public"
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("table %s: no columns to read", tn)
	}
	if len(t.Key) == 0 && !allowNoPK {
		return nil, noPrimaryKeyError(tn, "r")
	}
	rows, err := conn.Query(ctx, planColumnsQuery, tn.Schema, tn.Name)
	if err != nil {
		return nil, queryError(fmt.Sprintf("reading the columns of %s", tn), err)
	}
	live := map[string]catalogColumn{}
	lockable := false
	for rows.Next() {
		var n string
		var c catalogColumn
		if err := rows.Scan(&n, &c.oid, &c.castType, &c.notNull, &lockable); err != nil {
			rows.Close()
			return nil, queryError(fmt.Sprintf("reading the columns of %s", tn), err)
		}
		live[n] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, queryError(fmt.Sprintf("reading the columns of %s", tn), err)
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("table %s: %w (dropped since Describe?)", tn, ErrTableNotFound)
	}
	oids := make([]uint32, len(t.Columns))
	for i, c := range t.Columns {
		lc, ok := live[c.Name]
		if !ok {
			return nil, fmt.Errorf("table %s: %w: column %s no longer exists — describe the tables again", tn, ErrSchemaChanged, quoteIfNeeded(c.Name))
		}
		oids[i] = lc.oid
	}
	if err := types.load(ctx, conn, oids); err != nil {
		return nil, err
	}
	p := &tablePlan{table: t, name: name, rel: ident(tn.Schema, tn.Name), lockable: lockable, decoders: make([]*decoder, len(t.Columns)), formats: make(pgx.QueryResultFormats, len(t.Columns))}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		if k := types.kind(oids[i]); k != c.Kind {
			return nil, fmt.Errorf("table %s: %w: column %s now reads as %s, was %s — describe the tables again", tn, ErrSchemaChanged, quoteIfNeeded(c.Name), k, c.Kind)
		}
		p.decoders[i] = types.decoder(oids[i])
		p.formats[i] = p.decoders[i].format
		cols[i] = ident(c.Name) + types.moneyCast(oids[i])
	}
	rel := p.rel
	base := "SELECT " + strings.Join(cols, ", ") + " FROM " + rel
	p.selectSQL[0] = base
	if len(t.Key) == 0 {
		return p, nil
	}

	keys := make([]string, len(t.Key))  // "k1"
	tkeys := make([]string, len(t.Key)) // t."k1"
	casts := make([]string, len(t.Key))
	for j, k := range t.Key {
		if k < 0 || k >= len(t.Columns) {
			return nil, fmt.Errorf("table %s: key column index %d out of range", tn, k)
		}
		c := t.Columns[k]
		lc := live[c.Name]
		if !lc.notNull {
			// A NULL never compares in a row comparison: such rows would
			// fall outside every chunk.
			return nil, fmt.Errorf("table %s: key column %s is nullable; only NOT NULL columns (a primary key) can split a table into chunks", tn, quoteIfNeeded(c.Name))
		}
		keys[j] = ident(c.Name)
		tkeys[j] = "t." + keys[j]
		casts[j] = lc.castType
	}
	keyRow := "(" + strings.Join(keys, ", ") + ")"
	bounds := func(first int) string {
		ps := make([]string, len(casts))
		for j, ct := range casts {
			ps[j] = "$" + strconv.Itoa(first+j) + "::text::" + ct
		}
		return "(" + strings.Join(ps, ", ") + ")"
	}
	n := len(keys)
	p.selectSQL[1] = base + " WHERE " + keyRow + " > " + bounds(1)
	p.selectSQL[2] = base + " WHERE " + keyRow + " <= " + bounds(1)
	p.selectSQL[3] = base + " WHERE " + keyRow + " > " + bounds(1) + " AND " + keyRow + " <= " + bounds(1+n)

	// One pass over the primary-key index: each step skips $1 keys past the
	// previous boundary. The step number guards the order of the output.
	ccols := make([]string, n) // c1, c2, ...
	bcols := make([]string, n) // b.c1, b.c2, ...
	for j := range bcols {
		ccols[j] = "c" + strconv.Itoa(j+1)
		bcols[j] = "b." + ccols[j]
	}
	order := strings.Join(tkeys, ", ")
	p.boundarySQL = "WITH RECURSIVE b(step, " + strings.Join(ccols, ", ") + ") AS (" +
		"(SELECT 1::int8, " + order + " FROM " + rel + " t ORDER BY " + order + " OFFSET $1 LIMIT 1)" +
		" UNION ALL " +
		"(SELECT b.step + 1, x.* FROM b, LATERAL (SELECT " + order + " FROM " + rel + " t WHERE (" + order + ") > (" +
		strings.Join(bcols, ", ") + ") ORDER BY " + order + " OFFSET $1 LIMIT 1) x)" +
		") SELECT * FROM b"
	return p, nil
}

// planChunks streams the chunk boundaries of a table and sends its chunks.
// The boundaries are the keys at every chunkSize-th row in key order; the
// first chunk has no lower bound and the last no upper bound, so the chunks
// cover every row exactly once whatever the keys look like.
func planChunks(ctx context.Context, conn *pgx.Conn, p *tablePlan, chunkSize int, send func(chunk) error) error {
	if p.boundarySQL == "" {
		return send(chunk{plan: p})
	}
	n := len(p.table.Key)
	formats := make(pgx.QueryResultFormats, n+1)
	formats[0] = pgx.BinaryFormatCode
	rows, err := conn.Query(ctx, p.boundarySQL, formats, int64(chunkSize-1))
	if err != nil {
		return queryError(fmt.Sprintf("planning the chunks of %s", p.name), err)
	}
	defer rows.Close()
	var prev []string
	var step int64
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != n+1 || len(raw[0]) != 8 {
			return fmt.Errorf("planning the chunks of %s: unexpected boundary row", p.name)
		}
		step++
		if got := int64(beUint64(raw[0])); got != step {
			return fmt.Errorf("planning the chunks of %s: boundaries out of order (step %d, want %d)", p.name, got, step)
		}
		cur := make([]string, n)
		for j := range cur {
			if raw[j+1] == nil {
				return fmt.Errorf("planning the chunks of %s: NULL key value", p.name)
			}
			cur[j] = string(raw[j+1])
		}
		if err := send(chunk{plan: p, lower: prev, upper: cur}); err != nil {
			return err
		}
		prev = cur
	}
	if err := rows.Err(); err != nil {
		return queryError(fmt.Sprintf("planning the chunks of %s", p.name), err)
	}
	return send(chunk{plan: p, lower: prev})
}

func beUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
