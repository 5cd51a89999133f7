package postgres

import (
	"context"
	"fmt"

	"github.com/beamsync/beamsync/change"
	"github.com/jackc/pgx/v5"
)

// OIDs of the built-in types with their own decoding (pg_type.h; stable
// across PostgreSQL versions).
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt2Vector  = 22
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidOIDVector   = 30
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// pgType is the part of a pg_type row the decoders need.
type pgType struct {
	OID      uint32
	Name     string
	Type     byte // typtype: b base, c composite, d domain, e enum, p pseudo, r range, m multirange
	Category byte // typcategory: A array, ...
	Elem     uint32
	Delim    byte
	BaseType uint32 // of a domain
}

// typeCatalog caches pg_type rows of one database. It is filled by one
// goroutine and read-only afterwards.
type typeCatalog struct {
	types map[uint32]*pgType
}

func newTypeCatalog() *typeCatalog { return &typeCatalog{types: map[uint32]*pgType{}} }

// load fetches the given types and, transitively, the element types of
// arrays and the base types of domains.
func (tc *typeCatalog) load(ctx context.Context, conn *pgx.Conn, oids []uint32) error {
	for {
		var missing []uint32
		seen := map[uint32]bool{}
		for _, o := range oids {
			if _, ok := tc.types[o]; !ok && o != 0 && !seen[o] {
				missing = append(missing, o)
				seen[o] = true
			}
		}
		if len(missing) == 0 {
			return nil
		}
		rows, err := conn.Query(ctx, `SELECT oid, typname::text, typtype::text, typcategory::text, typelem, typdelim::text, typbasetype
			FROM pg_catalog.pg_type WHERE oid = ANY($1)`, missing)
		if err != nil {
			return queryError("reading type information", err)
		}
		var next []uint32
		for rows.Next() {
			var t pgType
			var typ, cat, delim string
			if err := rows.Scan(&t.OID, &t.Name, &typ, &cat, &t.Elem, &delim, &t.BaseType); err != nil {
				rows.Close()
				return queryError("reading type information", err)
			}
			t.Type, t.Category, t.Delim = typ[0], cat[0], ','
			if len(delim) == 1 {
				t.Delim = delim[0]
			}
			tc.types[t.OID] = &t
			next = append(next, t.Elem, t.BaseType)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return queryError("reading type information", err)
		}
		for _, o := range missing {
			if _, ok := tc.types[o]; !ok {
				return fmt.Errorf("type with OID %d not found in pg_type", o)
			}
		}
		oids = next
	}
}

// base follows domains to their base type.
func (tc *typeCatalog) base(oid uint32) *pgType {
	for range 64 {
		t := tc.types[oid]
		if t == nil {
			return &pgType{OID: oid, Type: 'b', Delim: ','}
		}
		if t.Type != 'd' || t.BaseType == 0 {
			return t
		}
		oid = t.BaseType
	}
	return &pgType{OID: oid, Type: 'b', Delim: ','}
}

// isArray reports whether t is a true array type (int2vector and oidvector
// have a different text form and are read as text).
func isArray(t *pgType) bool {
	return t.Category == 'A' && t.Elem != 0 && t.OID != oidInt2Vector && t.OID != oidOIDVector
}

// kind returns the value kind of a column of the given type.
func (tc *typeCatalog) kind(oid uint32) change.Kind {
	t := tc.base(oid)
	switch t.OID {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return change.KindInt
	case oidFloat4, oidFloat8:
		return change.KindFloat
	case oidNumeric, oidMoney:
		return change.KindDecimal
	case oidBool:
		return change.KindBool
	case oidBytea:
		return change.KindBytes
	case oidDate:
		return change.KindDate
	case oidTime, oidTimetz:
		return change.KindTime
	case oidTimestamp, oidTimestamptz:
		return change.KindTimestamp
	case oidInterval:
		return change.KindInterval
	case oidJSON, oidJSONB:
		return change.KindJSON
	}
	if isArray(t) {
		return change.KindArray
	}
	return change.KindString
}

// decoder returns the decoder of a result column of the given type.
func (tc *typeCatalog) decoder(oid uint32) *decoder {
	t := tc.base(oid)
	if isArray(t) {
		elem := tc.base(t.Elem)
		if d, ok := binaryDecoder(elem); ok {
			return &decoder{op: opArrayBinary, format: pgx.BinaryFormatCode, elem: &d}
		}
		d := textDecoder(elem)
		return &decoder{op: opArrayText, format: pgx.TextFormatCode, elem: &d, delim: t.Delim}
	}
	switch t.OID {
	case oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidBool, oidBytea,
		oidTimestamp, oidTimestamptz, oidDate, oidUUID:
		d, _ := binaryDecoder(t)
		return &d
	}
	d := textDecoder(t)
	return &d
}

// binaryDecoder returns the binary-format decoder of a type, if it has one.
func binaryDecoder(t *pgType) (decoder, bool) {
	op := opNone
	switch t.OID {
	case oidInt2:
		op = opInt2
	case oidInt4:
		op = opInt4
	case oidInt8:
		op = opInt8
	case oidOID:
		op = opOID
	case oidFloat4:
		op = opFloat4
	case oidFloat8:
		op = opFloat8
	case oidBool:
		op = opBool
	case oidBytea:
		op = opBytes
	case oidTimestamp, oidTimestamptz:
		op = opTimestamp
	case oidDate:
		op = opDate
	case oidUUID:
		op = opUUID
	case oidText, oidVarchar, oidBPChar, oidName:
		op = opString // the binary form of text types is their text
	case oidJSON:
		op = opJSON
	case oidJSONB:
		op = opJSONBBinary
	default:
		if t.Type == 'e' {
			op = opString // enum_send sends the label
		}
	}
	return decoder{op: op, format: pgx.BinaryFormatCode}, op != opNone
}

// textDecoder returns the text-format decoder of a type.
func textDecoder(t *pgType) decoder {
	op := opString
	switch t.OID {
	case oidNumeric, oidMoney: // money is read cast to numeric (see moneyCast)
		op = opNumeric
	case oidJSON, oidJSONB:
		op = opJSON
	case oidInterval:
		op = opInterval
	case oidTime:
		op = opTime
	case oidTimetz:
		op = opTimeTZ
	}
	return decoder{op: op, format: pgx.TextFormatCode}
}

// moneyCast is the cast that reads a column of the given type exactly:
// money's text depends on lc_monetary ("$1,234.50", "-$0.05", "1.234,50 €"),
// its numeric cast does not. "" for other types.
func (tc *typeCatalog) moneyCast(oid uint32) string {
	t := tc.base(oid)
	switch {
	case t.OID == oidMoney:
		return "::numeric"
	case isArray(t) && tc.base(t.Elem).OID == oidMoney:
		return "::numeric[]"
	}
	return ""
}
