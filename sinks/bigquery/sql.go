package bigquery

import (
	"fmt"
	"strings"
	"time"
)

// quoteIdent quotes a GoogleSQL identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// tableRef names a table.
type tableRef struct {
	Project, Dataset, Table string
}

// sql is the table's quoted path, `project`.`dataset`.`table`.
func (t tableRef) sql() string {
	return quoteIdent(t.Project) + "." + quoteIdent(t.Dataset) + "." + quoteIdent(t.Table)
}

func (t tableRef) String() string { return t.Project + "." + t.Dataset + "." + t.Table }

// tableOptions are the OPTIONS of a table the sink creates.
type tableOptions struct {
	expireAfter  time.Duration // scratch tables: dropped by BigQuery after this
	primaryKey   []string      // PRIMARY KEY (...) NOT ENFORCED (Storage Write CDC)
	maxStaleness time.Duration // max_staleness (Storage Write CDC)
}

// createTableSQL is the DDL of a table. Tables are always made with DDL:
// the emulator mishandles FLOAT64 columns of tables made through the API.
func createTableSQL(t tableRef, cols []column, o tableOptions, asSelect string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + t.sql() + " (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name) + " " + c.ddl())
	}
	if len(o.primaryKey) > 0 {
		b.WriteString(", PRIMARY KEY (" + identList(o.primaryKey, "") + ") NOT ENFORCED")
	}
	b.WriteString(")")
	var opts []string
	if o.expireAfter > 0 {
		opts = append(opts, fmt.Sprintf("expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL %d SECOND)", seconds(o.expireAfter)))
	}
	if o.maxStaleness > 0 {
		opts = append(opts, fmt.Sprintf("max_staleness = INTERVAL %d SECOND", seconds(o.maxStaleness)))
	}
	if len(opts) > 0 {
		b.WriteString(" OPTIONS (" + strings.Join(opts, ", ") + ")")
	}
	if asSelect != "" {
		b.WriteString(" AS " + asSelect)
	}
	return b.String()
}

func seconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// identList renders quoted names, each prefixed by alias ("S." or "").
func identList(names []string, alias string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = alias + quoteIdent(n)
	}
	return strings.Join(parts, ", ")
}

func names(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// keyJoin is the join condition of two aliases on the key.
func (l *layout) keyJoin(a, b string) string {
	parts := make([]string, len(l.Key))
	for i, k := range l.Key {
		parts[i] = a + "." + quoteIdent(k) + " = " + b + "." + quoteIdent(k)
	}
	return strings.Join(parts, " AND ")
}

// newestOrder orders the records of one key newest first; of two records
// with the same version (a replay), the delete first.
const newestOrder = "ORDER BY " + "`" + VersionColumn + "` DESC, `" + DeletedColumn + "` DESC"

var (
	qVersion = quoteIdent(VersionColumn)
	qDeleted = quoteIdent(DeletedColumn)
)

// newestSQL selects the newest record of every key of a staging or change
// table, deletes included.
func (l *layout) newestSQL(src tableRef) string {
	return fmt.Sprintf("SELECT %s FROM %s WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY %s %s) = 1",
		identList(names(l.changeColumns()), ""), src.sql(), identList(l.Key, ""), newestOrder)
}

// viewRowsSQL selects the rows a full refresh leaves in the view: the
// newest record of every key, unless that is a delete.
func (l *layout) viewRowsSQL(staging tableRef) string {
	return fmt.Sprintf("SELECT %s FROM (%s) WHERE NOT %s", identList(names(l.viewColumns()), ""), l.newestSQL(staging), qDeleted)
}

// replaceSQL replaces every row of the view by the staged rows in one
// transaction: a reader sees the old rows or the new ones, never neither.
func (l *layout) replaceSQL(view, staging tableRef) string {
	return fmt.Sprintf("BEGIN TRANSACTION;\nDELETE FROM %s WHERE TRUE;\nINSERT INTO %s (%s) %s;\nCOMMIT TRANSACTION;",
		view.sql(), view.sql(), identList(names(l.viewColumns()), ""), l.viewRowsSQL(staging))
}

// recreateSQL replaces the view by a table of the view's current schema
// holding the staged rows, atomically (for a view whose table has another
// schema).
func (l *layout) recreateSQL(view, staging tableRef) string {
	return strings.Replace(createTableSQL(view, l.viewColumns(), tableOptions{}, l.viewRowsSQL(staging)), "CREATE TABLE", "CREATE OR REPLACE TABLE", 1)
}

// replaceStatsSQL counts what a full refresh does: the staged records, the
// keys it leaves in the view and the keys whose newest record is a delete.
func (l *layout) replaceStatsSQL(staging tableRef) string {
	return fmt.Sprintf("SELECT COUNT(*), COUNTIF(rn = 1 AND NOT d), COUNTIF(rn = 1 AND d) FROM "+
		"(SELECT %s AS d, ROW_NUMBER() OVER (PARTITION BY %s %s) AS rn FROM %s)",
		qDeleted, identList(l.Key, ""), newestOrder, staging.sql())
}

// mergeSourceSQL makes the merge source: the newest change of every key
// that is newer than the key's tombstone, as a plain table (a MERGE source
// must be one on the emulator).
func (l *layout) mergeSourceSQL(merge, changes, tombstones tableRef, expire time.Duration) string {
	cols := names(l.changeColumns())
	sel := fmt.Sprintf("SELECT %s FROM %s AS C LEFT JOIN %s AS T ON %s WHERE T.%s IS NULL OR C.%s > T.%s "+
		"QUALIFY ROW_NUMBER() OVER (PARTITION BY %s ORDER BY C.%s DESC, C.%s DESC) = 1",
		identList(cols, "C."), changes.sql(), tombstones.sql(), l.keyJoin("C", "T"), quoteIdent(l.Key[0]), qVersion, qVersion,
		identList(l.Key, "C."), qVersion, qDeleted)
	return createTableSQL(merge, l.changeColumns(), tableOptions{expireAfter: expire}, sel)
}

// mergeStatsSQL counts what a merge does: the change rows, the upserts and
// the deletes it applies (a delete of an absent key counts as applied).
func (l *layout) mergeStatsSQL(merge, changes, view tableRef) string {
	newer := fmt.Sprintf("(T.%s IS NULL OR S.%s > T.%s)", quoteIdent(l.Key[0]), qVersion, qVersion)
	return fmt.Sprintf("SELECT (SELECT COUNT(*) FROM %s), COUNTIF(NOT S.%s AND %s), COUNTIF(S.%s AND %s) FROM %s AS S LEFT JOIN %s AS T ON %s",
		changes.sql(), qDeleted, newer, qDeleted, newer, merge.sql(), view.sql(), l.keyJoin("S", "T"))
}

// applySQL applies a merge source in one transaction: the version-guarded
// MERGE into the view, the tombstones of the deletes, the removal of the
// merged change rows and of expired tombstones.
func (l *layout) applySQL(view, merge, changes, tombstones tableRef, retention time.Duration) string {
	viewCols := names(l.viewColumns())
	var sets []string
	for _, c := range viewCols {
		if !l.isKey(c) {
			sets = append(sets, quoteIdent(c)+" = S."+quoteIdent(c))
		}
	}
	guard := fmt.Sprintf("S.%s > T.%s", qVersion, qVersion)
	mergeView := fmt.Sprintf("MERGE %s AS T USING %s AS S ON %s\n"+
		"WHEN MATCHED AND %s AND S.%s THEN DELETE\n"+
		"WHEN MATCHED AND %s THEN UPDATE SET %s\n"+
		"WHEN NOT MATCHED AND NOT S.%s THEN INSERT (%s) VALUES (%s)",
		view.sql(), merge.sql(), l.keyJoin("T", "S"),
		guard, qDeleted,
		guard, strings.Join(sets, ", "),
		qDeleted, identList(viewCols, ""), identList(viewCols, "S."))
	tombCols := names(l.tombstoneColumns())
	mergeTombstones := fmt.Sprintf("MERGE %s AS T USING %s AS S ON %s\n"+
		"WHEN MATCHED AND %s AND S.%s THEN UPDATE SET %s = S.%s, %s = CURRENT_TIMESTAMP()\n"+
		"WHEN MATCHED AND %s THEN DELETE\n"+
		"WHEN NOT MATCHED AND S.%s THEN INSERT (%s) VALUES (%s, S.%s, CURRENT_TIMESTAMP())",
		tombstones.sql(), merge.sql(), l.keyJoin("T", "S"),
		guard, qDeleted, qVersion, qVersion, quoteIdent(DeletedAtColumn),
		guard,
		qDeleted, identList(tombCols, ""), identList(l.Key, "S."), qVersion)
	deleteMerged := fmt.Sprintf("DELETE FROM %s AS C WHERE EXISTS (SELECT 1 FROM %s AS S WHERE %s AND C.%s <= S.%s) "+
		"OR EXISTS (SELECT 1 FROM %s AS T WHERE %s AND C.%s <= T.%s)",
		changes.sql(), merge.sql(), l.keyJoin("S", "C"), qVersion, qVersion,
		tombstones.sql(), l.keyJoin("T", "C"), qVersion, qVersion)
	purge := fmt.Sprintf("DELETE FROM %s WHERE %s < TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL %d SECOND)",
		tombstones.sql(), quoteIdent(DeletedAtColumn), seconds(retention))
	return "BEGIN TRANSACTION;\n" + mergeView + ";\n" + mergeTombstones + ";\n" + deleteMerged + ";\n" + purge + ";\nCOMMIT TRANSACTION;"
}

func (l *layout) isKey(name string) bool {
	for _, k := range l.Key {
		if k == name {
			return true
		}
	}
	return false
}

// dropTableSQL drops a table if it exists.
func dropTableSQL(t tableRef) string { return "DROP TABLE IF EXISTS " + t.sql() }
