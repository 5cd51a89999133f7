package bigquery

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	bqv2 "google.golang.org/api/bigquery/v2"

	"github.com/beamsync/beamsync/change"
)

// The GoogleSQL types the sink writes (see the package documentation for
// the mapping from view kinds).
const (
	typeInt64      = "INT64"
	typeNumeric    = "NUMERIC"
	typeBigNumeric = "BIGNUMERIC"
	typeFloat64    = "FLOAT64"
	typeString     = "STRING"
	typeBytes      = "BYTES"
	typeBool       = "BOOL"
	typeTimestamp  = "TIMESTAMP"
	typeDate       = "DATE"
	typeTime       = "TIME"
	typeJSON       = "JSON"
	typeStruct     = "STRUCT"
)

// The columns the sink adds to a view's rows.
const (
	// VersionColumn holds the record's position (NUMERIC: a position is an
	// unsigned 64-bit number, which INT64 cannot always hold).
	VersionColumn = "_beamsync_version"
	// DeletedColumn marks a delete in staging and change tables.
	DeletedColumn = "_beamsync_deleted"
	// DeletedAtColumn is when a tombstone was written.
	DeletedAtColumn = "_beamsync_deleted_at"
	// versionType is the type of VersionColumn.
	versionType = typeNumeric
	// The pseudo-columns of a Storage Write API row in CDC mode.
	changeTypeColumn     = "_CHANGE_TYPE"
	changeSequenceColumn = "_CHANGE_SEQUENCE_NUMBER"
)

// column is one column of a view table.
type column struct {
	Name     string
	Type     string // the element type of a repeated column
	Repeated bool
	Fields   []column // of a STRUCT
}

// ddl renders the column's type in DDL form: INT64, ARRAY<STRUCT<a INT64>>.
func (c column) ddl() string {
	t := c.Type
	if t == typeStruct {
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = quoteIdent(f.Name) + " " + f.ddl()
		}
		t = "STRUCT<" + strings.Join(parts, ", ") + ">"
	}
	if c.Repeated {
		t = "ARRAY<" + t + ">"
	}
	return t
}

// layout is a view's table layout: its columns and key.
type layout struct {
	View    string
	Columns []column
	Key     []string // key column names, in key order
	keyCols []int    // index in Columns of each key column
}

// columnName is what the sink accepts as a column name: BigQuery's
// classic rule (flexible column names are not used, so that every name
// works unquoted in a reader's SQL too).
var columnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,299}$`)

// reservedPrefixes may not start a BigQuery column name.
var reservedPrefixes = []string{"_table_", "_file_", "_partition", "_row_timestamp", "__root__", "_colidentifier", "_change_"}

// layoutOf derives a view's table layout from its schema. It refuses what
// BigQuery cannot hold: invalid or duplicate column names, fields named
// like the sink's own columns, a missing or unusable key.
func layoutOf(v change.ViewSchema) (*layout, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("bigquery sink: view %s: "+format, append([]any{v.Name}, args...)...))
	}
	l := &layout{View: v.Name, Key: v.Key}
	if len(v.Fields) == 0 {
		bad("has no fields")
	}
	checkNames(v.Fields, "", bad)
	for _, f := range v.Fields {
		l.Columns = append(l.Columns, columnOf(f))
	}
	if len(v.Key) == 0 {
		bad("has no key: the sink keeps one row per key")
	}
	for _, k := range v.Key {
		i := -1
		for j, f := range v.Fields {
			if f.Name == k {
				i = j
			}
		}
		if i < 0 {
			bad("key field %q is not a field of the view", k)
			continue
		}
		switch c := l.Columns[i]; {
		case c.Repeated, c.Type == typeStruct, c.Type == typeJSON, c.Type == typeFloat64:
			bad("key field %q is of kind %s, which BigQuery cannot group or join by (%s): key a view by a scalar such as an int, string, decimal or timestamp",
				k, v.Fields[i].Kind, c.ddl())
		}
		l.keyCols = append(l.keyCols, i)
	}
	return l, errors.Join(errs...)
}

// checkNames reports invalid, reserved and duplicate field names, nested
// ones included (BigQuery compares column names without case).
func checkNames(fields []change.Field, path string, bad func(string, ...any)) {
	seen := map[string]string{}
	for _, f := range fields {
		lower := strings.ToLower(f.Name)
		switch {
		case !columnName.MatchString(f.Name):
			bad("field %q: a BigQuery column name is a letter or '_' followed by up to 299 letters, digits or '_'", path+f.Name)
		case strings.HasPrefix(lower, "_beamsync_"):
			bad("field %q: names starting with _beamsync_ are the sink's own columns", path+f.Name)
		default:
			for _, p := range reservedPrefixes {
				if strings.HasPrefix(lower, p) {
					bad("field %q: BigQuery reserves column names starting with %s", path+f.Name, strings.ToUpper(p))
				}
			}
		}
		if other, ok := seen[lower]; ok {
			bad("fields %q and %q differ only in case: BigQuery column names ignore case", path+other, path+f.Name)
		}
		seen[lower] = f.Name
		if f.Kind == change.KindObject && len(f.Fields) > 0 {
			checkNames(f.Fields, path+f.Name+".", bad)
		}
	}
}

// columnOf maps a view field to its column (see the package documentation).
func columnOf(f change.Field) column {
	c := column{Name: f.Name}
	switch f.Kind {
	case change.KindArray:
		switch f.Elem {
		case change.KindAny, change.KindArray, change.KindJSON, change.KindObject:
			// Mixed, nested or free-form elements (and nulls among them)
			// are kept whole in one JSON value.
			c.Type = typeJSON
		default:
			c.Type, c.Repeated = scalarType(f.Elem), true
		}
	case change.KindObject:
		if len(f.Fields) == 0 {
			c.Type = typeJSON
			break
		}
		c.Type = typeStruct
		for _, sub := range f.Fields {
			c.Fields = append(c.Fields, columnOf(sub))
		}
	default:
		c.Type = scalarType(f.Kind)
	}
	return c
}

// scalarType is the column type of a scalar kind.
func scalarType(k change.Kind) string {
	switch k {
	case change.KindBool:
		return typeBool
	case change.KindInt:
		return typeInt64
	case change.KindFloat:
		return typeFloat64
	case change.KindDecimal:
		return typeBigNumeric
	case change.KindString, change.KindInterval:
		return typeString
	case change.KindBytes:
		return typeBytes
	case change.KindTimestamp:
		return typeTimestamp
	case change.KindDate:
		return typeDate
	case change.KindTime:
		return typeTime
	}
	return typeJSON // KindAny, KindJSON
}

// The extra columns of each table a view uses.
var (
	versionCol   = column{Name: VersionColumn, Type: versionType}
	deletedCol   = column{Name: DeletedColumn, Type: typeBool}
	deletedAtCol = column{Name: DeletedAtColumn, Type: typeTimestamp}
)

// viewColumns are the columns of the view table: the fields and the version.
func (l *layout) viewColumns() []column { return append(clone(l.Columns), versionCol) }

// changeColumns are the columns of staging and change tables: the view's,
// and the delete mark.
func (l *layout) changeColumns() []column { return append(l.viewColumns(), deletedCol) }

// tombstoneColumns are the columns of the tombstone table: the key, the
// version of the delete and when it was applied.
func (l *layout) tombstoneColumns() []column {
	var cols []column
	for _, i := range l.keyCols {
		cols = append(cols, l.Columns[i])
	}
	return append(cols, versionCol, deletedAtCol)
}

func clone(cols []column) []column { return append([]column(nil), cols...) }

// describe renders a column's type with its nested fields, names in lower
// case: two columns of the same description hold the same values.
func (c column) describe() string {
	t := c.Type
	if t == typeStruct {
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = strings.ToLower(f.Name) + " " + f.describe()
		}
		t += "<" + strings.Join(parts, ", ") + ">"
	}
	if c.Repeated {
		t = "ARRAY<" + t + ">"
	}
	return t
}

// columnOfField converts a table's field (as the REST API describes it,
// with its legacy type names) to a column.
func columnOfField(f *bqv2.TableFieldSchema) column {
	c := column{Name: f.Name, Type: f.Type, Repeated: f.Mode == "REPEATED"}
	switch f.Type {
	case "INTEGER":
		c.Type = typeInt64
	case "FLOAT":
		c.Type = typeFloat64
	case "BOOLEAN":
		c.Type = typeBool
	case "RECORD":
		c.Type = typeStruct
	}
	for _, sub := range f.Fields {
		c.Fields = append(c.Fields, columnOfField(sub))
	}
	return c
}

// schemaDiff describes how a table's columns differ from the columns the
// sink writes ("" when it holds each of them with the same type). Columns
// the table has beyond them are allowed.
func schemaDiff(want []column, have *bqv2.TableSchema) string {
	byName := map[string]column{}
	if have != nil {
		for _, f := range have.Fields {
			byName[strings.ToLower(f.Name)] = columnOfField(f)
		}
	}
	var diffs []string
	for _, c := range want {
		h, ok := byName[strings.ToLower(c.Name)]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("column %s is missing", c.Name))
		case h.describe() != c.describe():
			diffs = append(diffs, fmt.Sprintf("column %s is %s, the view needs %s", c.Name, h.describe(), c.describe()))
		}
	}
	return strings.Join(diffs, "; ")
}
