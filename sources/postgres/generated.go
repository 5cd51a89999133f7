package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/change"
)

// Stored generated columns, and money. pgoutput leaves GENERATED ALWAYS AS (...)
// STORED columns out of its Relation and row messages (PostgreSQL 12 to
// 17, and 18 unless the publication publishes them). The stream puts them
// back: a Relation message that lacks exactly the table's generated
// columns is the table's unchanged schema, and the value of each generated
// column in every row image is computed by PostgreSQL itself, on the
// catalog connection, from the values the message carries —
//
//	SELECT (<expression>)::text, ... FROM (SELECT $1::text::<type> AS <column>, ...) AS t
//
// one such query per row image, sent pipelined in batches when the
// transaction commits. A generation expression is immutable and reads only
// its own row, so the result is what the table stores and what a snapshot
// reads. When a column the expression reads was not sent (an unchanged
// TOAST value without an old row to take it from), the generated value is
// change.Unchanged too. Money columns, whose text follows lc_monetary
// ("$1,234.50"), go through the same query: the catalog connection, with
// the replication connection's lc_monetary, reads the text back and casts
// it to numeric, exactly as the snapshot reads them.

// genColumn is a generated column the relation message left out.
type genColumn struct {
	index int   // in walRelation.table.Columns
	refs  []int // the message columns its expression reads
	dec   *decoder
}

// generation computes the generated columns of one relation's row images.
type generation struct {
	cols []genColumn
	sql  string
}

// genRow is a row image whose generated columns wait for their values.
type genRow struct {
	gen  *generation
	row  []any
	args []any // the text of each message column (nil: NULL or not sent)
}

// liveColumn is a live column of a table as the catalog has it now.
type liveColumn struct {
	attnum    int16
	name      string
	oid       uint32
	generated bool
	expr      string
	refs      []string
}

const liveColumnsQuery = `SELECT a.attnum, a.attname::text, a.atttypid, a.attgenerated = 's',
	coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''),
	coalesce((SELECT array_agg(r.attname::text ORDER BY r.attnum) FROM pg_catalog.pg_depend dp
		JOIN pg_catalog.pg_attribute r ON r.attrelid = dp.refobjid AND r.attnum = dp.refobjsubid
		WHERE dp.classid = 'pg_catalog.pg_attrdef'::regclass AND dp.objid = d.oid
		AND dp.refobjid = a.attrelid AND dp.refobjsubid > 0), '{}')
	FROM pg_catalog.pg_attribute a
	LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = 's'
	WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`

// catalogColumns reads the live columns of the relation with the given OID.
func (st *pgStream) liveColumns(ctx context.Context, relid uint32) ([]liveColumn, error) {
	rows, err := st.conn.Query(ctx, liveColumnsQuery, relid)
	if err != nil {
		return nil, queryError("reading the columns of a captured table", err)
	}
	defer rows.Close()
	var out []liveColumn
	for rows.Next() {
		var c liveColumn
		if err := rows.Scan(&c.attnum, &c.name, &c.oid, &c.generated, &c.expr, &c.refs); err != nil {
			return nil, queryError("reading the columns of a captured table", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, queryError("reading the columns of a captured table", err)
	}
	return out, nil
}

// relationColumn is a column of the table a relation message describes:
// one the message sent (msg >= 0) or a generated one it left out.
type relationColumn struct {
	msg int
	gen *liveColumn
}

// mergeGenerated returns the columns of the table a relation message
// describes: the message's, with the generated columns it lacks put back
// in their catalog order.
func mergeGenerated(m *pglogrepl.RelationMessage, catalog []liveColumn) []relationColumn {
	attnum := map[string]int16{}
	sent := map[string]bool{}
	for _, c := range m.Columns {
		sent[c.Name] = true
	}
	var gens []*liveColumn
	for i := range catalog {
		c := &catalog[i]
		attnum[c.name] = c.attnum
		if c.generated && !sent[c.name] {
			gens = append(gens, c)
		}
	}
	out := make([]relationColumn, 0, len(m.Columns)+len(gens))
	g := 0
	for i, c := range m.Columns {
		n, known := attnum[c.Name]
		for g < len(gens) && (!known || gens[g].attnum < n) {
			out = append(out, relationColumn{msg: -1, gen: gens[g]})
			g++
		}
		out = append(out, relationColumn{msg: i})
	}
	for ; g < len(gens); g++ {
		out = append(out, relationColumn{msg: -1, gen: gens[g]})
	}
	return out
}

// newGeneration builds the query that computes the generated columns of
// cols (the merged columns of m) from the message's columns.
func (st *pgStream) newGeneration(ctx context.Context, m *pglogrepl.RelationMessage, cols []relationColumn) (*generation, error) {
	oids := make([]uint32, len(m.Columns))
	mods := make([]int32, len(m.Columns))
	msgIndex := map[string]int{}
	for i, c := range m.Columns {
		oids[i], mods[i] = c.DataType, c.TypeModifier
		msgIndex[c.Name] = i
	}
	var types []string
	err := st.conn.QueryRow(ctx, `SELECT coalesce(array_agg(pg_catalog.format_type(u.o, nullif(u.m, -1)) ORDER BY u.n), '{}')
		FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(o, m, n)`, oids, mods).Scan(&types)
	if err != nil {
		return nil, queryError("reading the column types of a captured table", err)
	}
	if len(types) != len(m.Columns) {
		return nil, fmt.Errorf("reading the column types of a captured table: %d types for %d columns", len(types), len(m.Columns))
	}
	g := &generation{}
	var sel []string
	for i, c := range cols {
		if c.gen == nil {
			// A money column's text is in lc_monetary's format: the
			// catalog connection, with the same lc_monetary, reads it
			// back and casts it to numeric, as the snapshot does.
			if cast := st.types.moneyCast(m.Columns[c.msg].DataType); cast != "" {
				dec := &decoder{op: opNumeric}
				if cast == "::numeric[]" {
					dec = &decoder{op: opArrayText, elem: &decoder{op: opNumeric}, delim: ','}
				}
				g.cols = append(g.cols, genColumn{index: i, refs: []int{c.msg}, dec: dec})
				sel = append(sel, "("+ident(m.Columns[c.msg].Name)+")"+cast+"::text")
			}
			continue
		}
		gc := genColumn{index: i, dec: st.types.textInputDecoder(c.gen.oid)}
		for _, r := range c.gen.refs {
			if j, ok := msgIndex[r]; ok {
				gc.refs = append(gc.refs, j)
			}
		}
		g.cols = append(g.cols, gc)
		sel = append(sel, "("+c.gen.expr+")::text")
	}
	if len(g.cols) == 0 {
		return nil, nil
	}
	in := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		in[i] = fmt.Sprintf("$%d::text::%s AS %s", i+1, types[i], ident(c.Name))
	}
	g.sql = "SELECT " + strings.Join(sel, ", ") + " FROM (SELECT " + strings.Join(in, ", ") + ") AS t"
	return g, nil
}

// newRow records the texts of a row image whose generated columns are to
// be computed at the commit, and marks those that cannot be: a column its
// expression reads was not sent. td is the image, old the old row of the
// same update (REPLICA IDENTITY FULL) that supplies unchanged TOAST values.
func (g *generation) newRow(row []any, td, old *pglogrepl.TupleData) *genRow {
	args := make([]any, len(td.Columns))
	unsent := make([]bool, len(td.Columns))
	for i, c := range td.Columns {
		switch c.DataType {
		case pglogrepl.TupleDataTypeText:
			args[i] = string(c.Data)
		case pglogrepl.TupleDataTypeToast:
			if old != nil && i < len(old.Columns) && old.Columns[i].DataType == pglogrepl.TupleDataTypeText {
				args[i] = string(old.Columns[i].Data)
			} else {
				unsent[i] = true
			}
		}
	}
	some := false
	for _, gc := range g.cols {
		if change.IsUnchanged(row[gc.index]) {
			continue // not sent: an unchanged TOAST value, or not in a key-only image
		}
		row[gc.index] = nil
		for _, r := range gc.refs {
			if unsent[r] {
				row[gc.index] = change.Unchanged
			}
		}
		some = some || row[gc.index] == nil
	}
	if !some {
		return nil
	}
	return &genRow{gen: g, row: row, args: args}
}

// genBatch is how many row images one pipelined batch computes.
const genBatch = 1024

// fillGenerated computes the generated columns of the open transaction's
// row images.
func (st *pgStream) fillGenerated() error {
	var todo []*genRow
	for i := range st.txn.changes {
		p := &st.txn.changes[i]
		todo = append(todo, p.gen...)
	}
	for len(todo) > 0 {
		n := min(len(todo), genBatch)
		if err := st.computeGenerated(todo[:n]); err != nil {
			return err
		}
		todo = todo[n:]
	}
	for i := range st.txn.changes {
		p := &st.txn.changes[i]
		if len(p.gen) == 0 || len(p.table.Key) == 0 {
			continue
		}
		row := p.c.After
		if p.c.Op == change.OpDelete {
			row = p.c.Before
		}
		for j, k := range p.table.Key {
			p.c.Key[j] = row[k]
		}
	}
	return nil
}

func (st *pgStream) computeGenerated(rows []*genRow) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(r.gen.sql, r.args...)
	}
	br := st.conn.SendBatch(ctx, b)
	defer br.Close()
	for _, r := range rows {
		vals := make([]*string, len(r.gen.cols))
		dest := make([]any, len(vals))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := br.QueryRow().Scan(dest...); err != nil {
			return queryError("postgres stream: computing a generated column", err)
		}
		for i, gc := range r.gen.cols {
			if r.row[gc.index] != nil { // Unchanged
				continue
			}
			if vals[i] == nil {
				continue
			}
			v, err := gc.dec.decode([]byte(*vals[i]), nil)
			if err != nil {
				return fmt.Errorf("postgres stream: generated column %d: %w", gc.index+1, err)
			}
			r.row[gc.index] = v
		}
	}
	return br.Close()
}

// genRows returns the pending computation of row's generated columns (none
// when the relation has none, or none can be computed).
func (rel *walRelation) genRows(row []any, td, old *pglogrepl.TupleData) []*genRow {
	if rel.gen == nil || row == nil || td == nil {
		return nil
	}
	if r := rel.gen.newRow(row, td, old); r != nil {
		return []*genRow{r}
	}
	return nil
}
