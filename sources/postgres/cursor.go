package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/jackc/pgx/v5"
)

// DefaultCursorLag is the safety lag of a timestamp cursor (Cursor.Lag).
const DefaultCursorLag = time.Minute

// Cursor makes a snapshot incremental: only the rows whose cursor column is
// at or past the table's watermark are read (`column >= watermark`, added
// to every chunk query as a parameter), and the snapshot reports the
// watermark the next run should start from (SnapshotInfo.Watermarks).
//
// The column must be a timestamp, date, integer or numeric column of every
// table read; an updated_at maintained by the application or a trigger, or
// a monotonic id (which sees inserts only).
type Cursor struct {
	Column string `json:"column"`
	// From holds the watermark of each table (by change.Table.QualifiedName)
	// in the server's text form, as a previous SnapshotInfo.Watermarks gave
	// it. A table without one is read whole.
	From map[string]string `json:"from,omitempty"`
	// Lag (timestamp and date cursors) is how far before the snapshot's
	// start the next watermark is held back at most, for transactions that
	// set updated_at (to their start time) and commit after the snapshot
	// was taken. Zero means DefaultCursorLag; negative means no lag.
	Lag time.Duration `json:"lag,omitempty"`
}

// cursorKinds are the column kinds a cursor can be.
var cursorKinds = []change.Kind{change.KindTimestamp, change.KindDate, change.KindInt, change.KindDecimal}

func cursorColumn(t *change.Table, column string) (int, error) {
	for i, c := range t.Columns {
		if c.Name != column {
			continue
		}
		if !slices.Contains(cursorKinds, c.Kind) {
			return 0, fmt.Errorf("table %s: cursor column %s is %s (%s): a cursor must be a timestamp, date, integer or numeric column",
				t.QualifiedName(), quoteIfNeeded(column), c.Type, c.Kind)
		}
		return i, nil
	}
	return 0, fmt.Errorf("table %s has no column %s to use as the cursor", t.QualifiedName(), quoteIfNeeded(column))
}

// cursorFilter is the plan's part of a cursor: the condition added to the
// chunk queries and the query of the next watermark.
type cursorFilter struct {
	from string // the watermark; "" reads the whole table
	// nextSQL returns the next watermark as text (NULL: keep the current
	// one); its parameters are the lag in seconds (time cursors) and then
	// the current watermark (when there is one).
	nextSQL string
	timed   bool
}

// addCursor restricts a plan to the rows at or past the table's watermark:
// every chunk query gets `AND "col" >= $n::text::type`, its parameter after
// the key bounds (the chunks still split the whole key range).
func (p *tablePlan) addCursor(ctx context.Context, conn *pgx.Conn, cur *Cursor) error {
	i, err := cursorColumn(p.table, cur.Column)
	if err != nil {
		return err
	}
	var castType string
	if err := conn.QueryRow(ctx, `SELECT pg_catalog.format_type(atttypid, NULL) FROM pg_catalog.pg_attribute
		WHERE attrelid = $1::text::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped`, p.rel, cur.Column).Scan(&castType); err != nil {
		return queryError(fmt.Sprintf("reading the type of the cursor column of %s", p.name), err)
	}
	col := ident(cur.Column)
	f := &cursorFilter{from: cur.From[p.name]}
	k := p.table.Columns[i].Kind
	f.timed = k == change.KindTimestamp || k == change.KindDate
	if f.from != "" {
		nkey := len(p.table.Key)
		for shape := range p.selectSQL {
			if p.selectSQL[shape] == "" {
				continue
			}
			join := " AND "
			if shape == 0 {
				join = " WHERE "
			}
			p.selectSQL[shape] += join + col + " >= $" + strconv.Itoa(cursorParam(shape, nkey)) + "::text::" + castType
		}
	}
	// Invariant: the next watermark is the largest cursor value in this
	// snapshot (rows at it are read again next time: >=), and for time
	// cursors no later than the snapshot's start minus the lag, so a row
	// that a transaction stamped before the snapshot but committed after
	// it is read by the next run.
	n := 1
	max := "(SELECT max(" + col + ") FROM " + p.rel
	if f.timed {
		n++
	}
	if f.from != "" {
		max += " WHERE " + col + " >= $" + strconv.Itoa(n) + "::text::" + castType
	}
	max += ")"
	if f.timed {
		f.nextSQL = "SELECT LEAST(" + max + ", (now() - make_interval(secs => $1::float8))::" + castType + ")::text"
	} else {
		f.nextSQL = "SELECT " + max + "::text"
	}
	p.cursor = f
	return nil
}

// nextWatermarks computes, inside the snapshot's transaction, the watermark
// of each table for the next run. A table whose next watermark is unknown
// (no row at or past the current one) keeps its current one.
func nextWatermarks(ctx context.Context, conn *pgx.Conn, plans []*tablePlan, cur *Cursor) (map[string]string, error) {
	lag := cur.Lag
	if lag == 0 {
		lag = DefaultCursorLag
	}
	if lag < 0 {
		lag = 0
	}
	out := map[string]string{}
	for _, p := range plans {
		if p.cursor == nil {
			continue
		}
		var args []any
		if p.cursor.timed {
			args = append(args, lag.Seconds())
		}
		if p.cursor.from != "" {
			args = append(args, p.cursor.from)
		}
		var next *string
		if err := conn.QueryRow(ctx, p.cursor.nextSQL, args...).Scan(&next); err != nil {
			return nil, queryError("reading the cursor watermark of "+p.name, err)
		}
		switch {
		case next != nil:
			out[p.name] = *next
		case p.cursor.from != "":
			out[p.name] = p.cursor.from
		}
	}
	return out, nil
}

// cursorParam is the number of the cursor parameter of a chunk query
// shape: after its bounds.
func cursorParam(shape, nkey int) int {
	n := 1
	if shape&1 != 0 {
		n += nkey
	}
	if shape&2 != 0 {
		n += nkey
	}
	return n
}
