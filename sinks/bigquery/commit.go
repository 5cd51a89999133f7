package bigquery

import (
	"context"
	"net/http"
)

// Commit makes a run's records visible in the view, once every writer of
// the run has flushed: in replace mode it swaps the staged rows in and
// drops the staging table; in upsert mode it merges the change table into
// the view. With Storage Write CDC there is nothing to commit: BigQuery
// applies the changes itself.
func (v *View) Commit(ctx context.Context) (Stats, error) {
	before := v.retried.Load()
	var st Stats
	var err error
	switch {
	case v.cfg.StorageWriteCDC:
	case v.cfg.Mode == ModeReplace:
		st, err = v.replace(ctx)
	default:
		st, err = v.merge(ctx)
	}
	st.View = v.l.View
	st.Retried = v.retried.Load() - before
	return st, err
}

// replace swaps the staged rows in: the view ends up holding the newest
// staged record of every key whose newest record is not a delete.
//
// Invariant: readers see the old rows or the new ones, never an empty or
// partial view: the rows are replaced in one transaction (DELETE and
// INSERT), or, when the view's table has other columns than the view
// needs, by one CREATE OR REPLACE TABLE ... AS SELECT; a view without a
// table gets one by CREATE TABLE ... AS SELECT, full from the start. The transaction keeps
// the table itself (its description, labels, access policies, the views
// and authorized views that use it).
func (v *View) replace(ctx context.Context) (Stats, error) {
	t := v.tables
	counts, err := v.queryInts(ctx, v.l.replaceStatsSQL(t.staging))
	if err != nil {
		return Stats{}, wrapf(err, "view %s: counting staged rows of %s", v.l.View, t.staging)
	}
	md, err := v.metadata(ctx, t.view)
	switch {
	case isStatus(err, http.StatusNotFound):
		err = v.exec(ctx, createTableSQL(t.view, v.l.viewColumns(), tableOptions{}, v.l.viewRowsSQL(t.staging)))
	case err != nil:
		return Stats{}, err
	case md.Schema == nil || schemaDiff(v.l.viewColumns(), md.Schema) != "" || len(md.Schema.Fields) != len(v.l.viewColumns()):
		err = v.exec(ctx, v.l.recreateSQL(t.view, t.staging))
	default:
		err = v.exec(ctx, v.l.replaceSQL(t.view, t.staging))
	}
	if err != nil {
		return Stats{}, wrapf(err, "view %s: replacing the rows of %s", v.l.View, t.view)
	}
	if err := v.exec(ctx, dropTableSQL(t.staging)); err != nil {
		return Stats{}, wrapf(err, "view %s: dropping %s", v.l.View, t.staging)
	}
	staged, rows, deleted := counts[0], counts[1], counts[2]
	return Stats{Written: rows, Deleted: deleted, SkippedOlder: staged - rows - deleted}, nil
}

// merge applies the change table to the view.
//
// Invariant: a change is applied only over an older version of its key
// (the MERGE's guard on _beamsync_version), and only if it is newer than
// the key's tombstone, so that a delete stays deleted when an older update
// arrives after it. The merge source is rebuilt from the change table on
// every attempt, and the MERGEs and the removal of merged change rows run
// in one transaction: a merge interrupted at any point and run again
// yields the same view.
func (v *View) merge(ctx context.Context) (Stats, error) {
	t := v.tables
	steps := []struct {
		what, sql string
	}{
		{"dropping an old merge source", dropTableSQL(t.merge)},
		{"building the merge source", v.l.mergeSourceSQL(t.merge, t.changes, t.tombstones, scratchExpiry)},
	}
	for _, s := range steps {
		if err := v.exec(ctx, s.sql); err != nil {
			return Stats{}, wrapf(err, "view %s: %s %s", v.l.View, s.what, t.merge)
		}
	}
	counts, err := v.queryInts(ctx, v.l.mergeStatsSQL(t.merge, t.changes, t.view))
	if err != nil {
		return Stats{}, wrapf(err, "view %s: counting the changes of %s", v.l.View, t.changes)
	}
	if err := v.exec(ctx, v.l.applySQL(t.view, t.merge, t.changes, t.tombstones, v.cfg.TombstoneRetention)); err != nil {
		return Stats{}, wrapf(err, "view %s: merging %s into %s", v.l.View, t.changes, t.view)
	}
	if err := v.exec(ctx, dropTableSQL(t.merge)); err != nil {
		return Stats{}, wrapf(err, "view %s: dropping %s", v.l.View, t.merge)
	}
	changes, upserts, deletes := counts[0], counts[1], counts[2]
	return Stats{Written: upserts, Deleted: deletes, SkippedOlder: changes - upserts - deletes}, nil
}
