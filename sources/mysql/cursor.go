package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/beamsync/beamsync/change"
)

// DefaultCursorLag is the safety lag of a timestamp cursor (Cursor.Lag).
const DefaultCursorLag = time.Minute

// Cursor makes a snapshot incremental: only the rows whose cursor column is
// at or past the table's watermark are read (`column >= ?`, added to every
// chunk query next to the key range), and the snapshot reports the
// watermark the next run should start from (SnapshotInfo.Watermarks).
//
// The column must be a DATETIME, TIMESTAMP, DATE, integer or DECIMAL column
// of every table read. Sessions run in UTC: a DATETIME cursor is taken to
// hold UTC times.
type Cursor struct {
	Column string `json:"column"`
	// From holds the watermark of each table (by change.Table.QualifiedName)
	// as a previous SnapshotInfo.Watermarks gave it. A table without one is
	// read whole.
	From map[string]string `json:"from,omitempty"`
	// Lag (time cursors): the next watermark is at most the consistent
	// point's time minus Lag, for transactions that stamp updated_at and
	// commit after the snapshot. Zero means DefaultCursorLag; negative none.
	Lag time.Duration `json:"lag,omitempty"`
}

// cursorFilter is a plan's part of a cursor.
type cursorFilter struct {
	col   string // quoted column
	ph    string // its placeholder
	from  string // the watermark; "" reads the whole table
	timed bool
}

var cursorKinds = []change.Kind{change.KindTimestamp, change.KindDate, change.KindInt, change.KindDecimal}

// addCursor restricts a plan to the rows at or past the table's watermark.
func (p *tablePlan) addCursor(cur *Cursor) error {
	i := slices.IndexFunc(p.t.Columns, func(c change.Column) bool { return c.Name == cur.Column })
	if i < 0 {
		return fmt.Errorf("mysql: %s has no column %q to use as the cursor", p.name, cur.Column)
	}
	k := p.t.Columns[i].Kind
	if !slices.Contains(cursorKinds, k) {
		return fmt.Errorf("mysql: cursor column %q of %s is %s: a cursor must be a time, integer or decimal column", cur.Column, p.name, p.t.Columns[i].Type)
	}
	f := &cursorFilter{col: quoteIdent(cur.Column), ph: "?", from: cur.From[p.name]}
	switch k {
	case change.KindInt:
		f.ph = "CAST(? AS DECIMAL(65,0))" // exact, where a string would compare as a double
	case change.KindDecimal:
		f.ph = "CAST(? AS DECIMAL(65,30))"
	default:
		f.timed = true
	}
	p.cursor = f
	return nil
}

// nextWatermarks computes, on a connection inside the consistent snapshot,
// the watermark of each table for the next run; at is the consistent
// point's time (UTC). A table with no row at or past its watermark keeps it.
//
// Invariant: the next watermark is the largest cursor value in the snapshot
// (read again next time: >=), and for time cursors at most at-lag, so a row
// stamped before the snapshot but committed after it is read next time.
func nextWatermarks(ctx context.Context, conn *sql.Conn, plans []*tablePlan, cur *Cursor, at time.Time) (map[string]string, error) {
	lag := cur.Lag
	if lag == 0 {
		lag = DefaultCursorLag
	}
	if lag < 0 {
		lag = 0
	}
	out := map[string]string{}
	for _, p := range plans {
		f := p.cursor
		if f == nil {
			continue
		}
		q := "SELECT MAX(" + f.col + ") FROM " + p.from
		var args []any
		if f.from != "" {
			q += " WHERE " + f.col + " >= " + f.ph
			args = append(args, f.from)
		}
		if f.timed {
			q = "SELECT CAST(LEAST((" + q + "), ?) AS CHAR)"
			args = append(args, at.Add(-lag).UTC().Format("2006-01-02 15:04:05.000000"))
		} else {
			q = "SELECT CAST((" + q + ") AS CHAR)"
		}
		var next sql.NullString
		if err := conn.QueryRowContext(ctx, q, args...).Scan(&next); err != nil {
			return nil, fmt.Errorf("mysql: reading the cursor watermark of %s: %w", p.name, err)
		}
		switch {
		case next.Valid:
			out[p.name] = next.String
		case f.from != "":
			out[p.name] = f.from
		}
	}
	return out, nil
}
