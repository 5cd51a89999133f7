package mysql

import (
	"fmt"
	"slices"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/beamsync/beamsync/change"
)

// binaryCollation is the collation id of binary strings (BINARY, BLOB).
const binaryCollation = 63

// mapColumn derives column i's type from a table map event: the binlog
// type and metadata, and (with binlog_row_metadata=FULL) signedness,
// collation and ENUM/SET values. ok is false when the event does not say
// enough (a text or binary column without collations).
func mapColumn(e *replication.TableMapEvent, i int) (change.Column, bool) {
	if i >= len(e.ColumnType) || i >= len(e.ColumnMeta) {
		return change.Column{}, false
	}
	meta := e.ColumnMeta[i]
	unsigned := ""
	if e.UnsignedMap()[i] {
		unsigned = " unsigned"
	}
	coll, hasColl := e.CollationMap()[i]
	text := func(binary, textual string) (string, bool) {
		if !hasColl {
			return "", false
		}
		if coll == binaryCollation {
			return binary, true
		}
		return textual, true
	}
	var ct string
	ok := true
	switch e.ColumnType[i] {
	case gomysql.MYSQL_TYPE_TINY:
		ct = "tinyint" + unsigned
	case gomysql.MYSQL_TYPE_SHORT:
		ct = "smallint" + unsigned
	case gomysql.MYSQL_TYPE_INT24:
		ct = "mediumint" + unsigned
	case gomysql.MYSQL_TYPE_LONG:
		ct = "int" + unsigned
	case gomysql.MYSQL_TYPE_LONGLONG:
		ct = "bigint" + unsigned
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		ct = fmt.Sprintf("decimal(%d,%d)%s", meta>>8, meta&0xFF, unsigned)
	case gomysql.MYSQL_TYPE_FLOAT:
		ct = "float"
	case gomysql.MYSQL_TYPE_DOUBLE:
		ct = "double"
	case gomysql.MYSQL_TYPE_YEAR:
		ct = "year"
	case gomysql.MYSQL_TYPE_BIT:
		ct = fmt.Sprintf("bit(%d)", (meta>>8)*8+meta&0xFF)
	case gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_NEWDATE:
		ct = "date"
	case gomysql.MYSQL_TYPE_DATETIME:
		ct = "datetime"
	case gomysql.MYSQL_TYPE_DATETIME2:
		ct = withFSP("datetime", meta)
	case gomysql.MYSQL_TYPE_TIMESTAMP:
		ct = "timestamp"
	case gomysql.MYSQL_TYPE_TIMESTAMP2:
		ct = withFSP("timestamp", meta)
	case gomysql.MYSQL_TYPE_TIME:
		ct = "time"
	case gomysql.MYSQL_TYPE_TIME2:
		ct = withFSP("time", meta)
	case gomysql.MYSQL_TYPE_JSON:
		ct = "json"
	case gomysql.MYSQL_TYPE_GEOMETRY:
		ct = "geometry"
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING:
		ct, ok = text("varbinary", "varchar")
	case gomysql.MYSQL_TYPE_BLOB:
		size := map[uint16]string{1: "tiny", 2: "", 3: "medium", 4: "long"}[meta]
		ct, ok = text(size+"blob", size+"text")
	case gomysql.MYSQL_TYPE_STRING:
		b0, b1 := byte(meta>>8), byte(meta&0xFF)
		real, length := b0, int(b1)
		if b0&0x30 != 0x30 {
			real, length = b0|0x30, int(uint16(b1)|uint16((b0&0x30)^0x30)<<4)
		}
		switch real {
		case gomysql.MYSQL_TYPE_ENUM:
			vals, have := e.EnumStrValueMap()[i]
			ct, ok = "enum("+quoteValues(vals)+")", have
		case gomysql.MYSQL_TYPE_SET:
			vals, have := e.SetStrValueMap()[i]
			ct, ok = "set("+quoteValues(vals)+")", have
		default:
			if hasColl && coll == binaryCollation {
				ct = fmt.Sprintf("binary(%d)", length)
			} else {
				ct, ok = text("binary", "char")
			}
		}
	default:
		ok = false
	}
	if !ok {
		return change.Column{}, false
	}
	dt := ct
	if j := strings.IndexAny(dt, "( "); j >= 0 {
		dt = dt[:j]
	}
	_, kind := classify(dt, ct, false)
	col := change.Column{Type: ct, Kind: kind, Nullable: true}
	if names := e.ColumnNameString(); i < len(names) {
		col.Name = names[i]
	}
	if have, null := e.Nullable(i); have {
		col.Nullable = null
	}
	return col, true
}

func withFSP(t string, fsp uint16) string {
	if fsp == 0 {
		return t
	}
	return fmt.Sprintf("%s(%d)", t, fsp)
}

func quoteValues(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ",")
}

// compatible reports whether a column of a schema decodes the values of a
// column derived from the binlog: the same decode type (text and MariaDB's
// JSON, which is text, count as one) and signedness.
func compatible(derived, col change.Column) bool {
	if st := storageType(col.Type); st != "" {
		return strings.EqualFold(derived.Type, st)
	}
	bc := binColumns(&change.Table{Columns: []change.Column{derived, col}})
	a, b := bc[0], bc[1]
	if a.typ != b.typ && !(a.typ == ctString && b.typ == ctJSON) {
		return false
	}
	return a.unsigned == b.unsigned || a.typ != ctUnsigned && a.typ != ctSigned
}

// storageTypes are MariaDB's data types that a table map event describes
// by their storage: the binlog names the storage type, the catalog the
// declared one, and both describe the same column.
var storageTypes = map[string]string{
	"uuid":  "binary(16)",
	"inet6": "binary(16)",
	"inet4": "binary(4)",
}

// storageType returns the type a table map event gives a column of the
// declared type ct, when it differs from ct ("" otherwise).
func storageType(ct string) string {
	return storageTypes[strings.ToLower(strings.TrimSpace(ct))]
}

// tableFromMap builds the schema of the rows that follow a table map
// event: its columns, by name, as the table has them now, or had them
// before, or (for a column since dropped or retyped) as the binlog
// describes them.
func tableFromMap(e *replication.TableMapEvent, old, now *change.Table) (*change.Table, error) {
	names := e.ColumnNameString()
	if names == nil {
		// Without binlog_row_metadata=FULL the event names no columns.
		if int(e.ColumnCount) == len(now.Columns) {
			return now, nil
		}
		return nil, fmt.Errorf("its rows have %d columns, the table now %d, and the binlog names no columns (set binlog_row_metadata = FULL to follow schema changes)",
			e.ColumnCount, len(now.Columns))
	}
	t := &change.Table{Database: old.Database, Schema: old.Schema, Name: old.Name, EstimatedRows: old.EstimatedRows}
	for i, name := range names {
		derived, ok := mapColumn(e, i)
		var pick *change.Column
		for _, from := range []*change.Table{now, old} {
			if j := from.ColumnIndex(name); j >= 0 && (!ok || compatible(derived, from.Columns[j])) {
				pick = &from.Columns[j]
				break
			}
		}
		switch {
		case pick != nil:
			t.Columns = append(t.Columns, *pick)
		case ok:
			t.Columns = append(t.Columns, derived)
		default:
			return nil, fmt.Errorf("column %q of the binlog's rows is not in the table now, and the binlog does not say its type", name)
		}
		if have, null := e.Nullable(i); have {
			t.Columns[i].Nullable = null
		}
	}
	switch {
	case len(e.PrimaryKey) > 0:
		for _, k := range e.PrimaryKey {
			t.Key = append(t.Key, int(k))
		}
	default:
		for _, from := range []*change.Table{now, old} {
			key, ok := keyByName(t, from)
			if ok {
				t.Key = key
				break
			}
		}
	}
	if len(t.Key) == 0 && len(now.Key) > 0 {
		return nil, fmt.Errorf("its primary key (%s) is not among the binlog's columns (%s)", strings.Join(now.KeyNames(), ", "), strings.Join(names, ", "))
	}
	if slices.Equal(t.Columns, now.Columns) && slices.Equal(t.Key, now.Key) {
		return now, nil
	}
	return t, nil
}

// keyByName maps from's key columns to t by name.
func keyByName(t, from *change.Table) ([]int, bool) {
	var key []int
	for _, n := range from.KeyNames() {
		j := t.ColumnIndex(n)
		if j < 0 {
			return nil, false
		}
		key = append(key, j)
	}
	return key, len(key) > 0
}
