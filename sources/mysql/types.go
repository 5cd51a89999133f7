package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// colType is how a column's values are selected and decoded.
type colType uint8

const (
	ctString   colType = iota // CHAR, VARCHAR, TEXT, ENUM, SET, unknown types
	ctSigned                  // TINYINT..BIGINT, YEAR
	ctUnsigned                // TINYINT..BIGINT UNSIGNED
	ctBool                    // BIT(1)
	ctBit                     // BIT(2..64)
	ctDecimal                 // DECIMAL, NUMERIC
	ctFloat                   // FLOAT (selected as DOUBLE, see decodeFloat)
	ctDouble                  // DOUBLE, REAL
	ctBytes                   // BINARY, VARBINARY, BLOB
	ctDate                    // DATE
	ctDateTime                // DATETIME, TIMESTAMP
	ctTime                    // TIME
	ctJSON                    // JSON, and MariaDB's LONGTEXT CHECK (json_valid(col))
	ctGeometry                // spatial types (selected as WKT text)
)

// bindKind is how a primary-key boundary value is passed back as a query
// parameter so that the comparison uses the column's own order (the index
// order): integers as integers, DECIMAL through an exact cast, text as text
// (compared in the column's collation), binary as binary, temporal values as
// their text (converted to the column's temporal type).
type bindKind uint8

const (
	bindNone    bindKind = iota // the type cannot bound a chunk (FLOAT, BIT, ENUM, SET, JSON, ...)
	bindInt                     // int64 or uint64 as the driver returns it
	bindDecimal                 // text in CAST(? AS DECIMAL(p,s))
	bindString                  // text
	bindBytes                   // binary
)

// column is what a reader needs to know of one column.
type column struct {
	name string
	typ  colType
	bind bindKind
	cast string // for bindDecimal: "DECIMAL(p,s)"
}

// classify maps information_schema's DATA_TYPE and COLUMN_TYPE to a column
// type and the change.Kind its values decode to.
func classify(dataType, columnType string, jsonChecked bool) (colType, change.Kind) {
	dt := strings.ToLower(dataType)
	ct := strings.ToLower(columnType)
	switch dt {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		if strings.Contains(ct, "unsigned") || strings.Contains(ct, "zerofill") {
			return ctUnsigned, change.KindInt
		}
		return ctSigned, change.KindInt
	case "year":
		return ctSigned, change.KindInt
	case "bit":
		if bitWidth(ct) == 1 {
			return ctBool, change.KindBool
		}
		return ctBit, change.KindInt
	case "decimal", "numeric", "fixed":
		return ctDecimal, change.KindDecimal
	case "float":
		return ctFloat, change.KindFloat
	case "double", "real", "double precision":
		return ctDouble, change.KindFloat
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return ctBytes, change.KindBytes
	case "date":
		return ctDate, change.KindDate
	case "datetime", "timestamp":
		return ctDateTime, change.KindTimestamp
	case "time":
		return ctTime, change.KindTime
	case "json":
		return ctJSON, change.KindJSON
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return ctGeometry, change.KindString
	case "tinytext", "text", "mediumtext", "longtext", "char", "varchar":
		if jsonChecked {
			return ctJSON, change.KindJSON
		}
	}
	return ctString, change.KindString
}

// bitWidth returns n of "bit(n)" (1 when absent).
func bitWidth(ct string) int {
	if i := strings.IndexByte(ct, '('); i >= 0 {
		if j := strings.IndexByte(ct[i:], ')'); j > 0 {
			if n, err := strconv.Atoi(ct[i+1 : i+j]); err == nil {
				return n
			}
		}
	}
	return 1
}

// bindFor returns how a key column of this type bounds a chunk.
func bindFor(typ colType, dataType, columnType string) (bindKind, string) {
	switch typ {
	case ctSigned, ctUnsigned:
		return bindInt, ""
	case ctDecimal:
		p, s := 10, 0 // MySQL's defaults for a bare DECIMAL
		ct := strings.ToLower(columnType)
		if i := strings.IndexByte(ct, '('); i >= 0 {
			if j := strings.IndexByte(ct[i:], ')'); j > 0 {
				args := strings.Split(ct[i+1:i+j], ",")
				p, _ = strconv.Atoi(strings.TrimSpace(args[0]))
				if len(args) > 1 {
					s, _ = strconv.Atoi(strings.TrimSpace(args[1]))
				}
			}
		}
		if p <= 0 {
			return bindNone, ""
		}
		return bindDecimal, fmt.Sprintf("DECIMAL(%d,%d)", p, s)
	case ctBytes:
		return bindBytes, ""
	case ctDate, ctDateTime, ctTime:
		return bindString, ""
	case ctString:
		switch strings.ToLower(dataType) {
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
			return bindString, ""
		}
	}
	return bindNone, ""
}

// selectExpr is the select-list expression of a column.
func (c *column) selectExpr() string {
	q := quoteIdent(c.name)
	switch c.typ {
	case ctFloat:
		// The text protocol prints FLOAT with 6 significant digits
		// (16777216 arrives as "16777200"); as DOUBLE it arrives exactly.
		return "CAST(" + q + " AS DOUBLE)"
	case ctGeometry:
		return "ST_AsText(" + q + ")"
	}
	return q
}

// placeholder is the parameter expression of a key boundary of this column.
func (c *column) placeholder() string {
	if c.bind == bindDecimal {
		return "CAST(? AS " + c.cast + ")"
	}
	return "?"
}
