package file

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/beamsync/beamsync/change"
)

// A view key is stored in one of two forms:
//
//   - the sortable form, for keys whose components are all nil, bool, int64,
//     text (string, Date, TimeOfDay, Interval), time.Time or []byte: an
//     order-preserving byte string, so that bytes.Compare of two sortable
//     keys orders them exactly as change.CompareKeys orders the keys;
//   - the values form (change.AppendValues), for every other key; such keys
//     are decoded once and compared with change.CompareKeys.
//
// Sortable form: per component a tag whose order follows the ranks of
// change.Compare, then
//
//	int64       8 bytes big-endian of the value with the sign bit flipped
//	text, bytes the bytes with 0x00 escaped as 0x00 0xFF, ended by 0x00 0x01
//	time.Time   Unix seconds as for int64, then nanoseconds as 4 bytes BE
//
// A shorter key that is a prefix of a longer one sorts first, as in
// change.CompareKeys.
const (
	tagNil   = 0x10
	tagFalse = 0x20
	tagTrue  = 0x21
	tagInt   = 0x30
	tagText  = 0x40
	tagTime  = 0x50
	tagBytes = 0x60
)

// appendSortKey appends the sortable form of key to b. It reports false (and
// b may then hold a partial encoding past its original length) when a
// component has no sortable form.
func appendSortKey(b []byte, key []any) ([]byte, bool) {
	for _, v := range key {
		switch x := v.(type) {
		case nil:
			b = append(b, tagNil)
		case bool:
			if x {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		case int64:
			b = binary.BigEndian.AppendUint64(append(b, tagInt), uint64(x)^(1<<63))
		case string:
			b = appendEscaped(append(b, tagText), x)
		case change.Date:
			b = appendEscaped(append(b, tagText), string(x))
		case change.TimeOfDay:
			b = appendEscaped(append(b, tagText), string(x))
		case change.Interval:
			b = appendEscaped(append(b, tagText), string(x))
		case time.Time:
			b = binary.BigEndian.AppendUint64(append(b, tagTime), uint64(x.Unix())^(1<<63))
			b = binary.BigEndian.AppendUint32(b, uint32(x.Nanosecond()))
		case []byte:
			b = appendEscaped(append(b, tagBytes), string(x))
		default:
			return b, false
		}
	}
	return b, true
}

func appendEscaped(b []byte, s string) []byte {
	for {
		i := indexZero(s)
		if i < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:i]...)
		b = append(b, 0x00, 0xFF)
		s = s[i+1:]
	}
	return append(b, 0x00, 0x01)
}

func indexZero(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

var errBadSortKey = errors.New("file sink: malformed sortable key")

// decodeSortKey decodes a sortable key into values that change.CompareKeys
// orders the same way (all text comes back as string).
func decodeSortKey(b []byte) ([]any, error) {
	var key []any
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		switch tag {
		case tagNil:
			key = append(key, nil)
		case tagFalse:
			key = append(key, false)
		case tagTrue:
			key = append(key, true)
		case tagInt:
			if len(b) < 8 {
				return key, errBadSortKey
			}
			key = append(key, int64(binary.BigEndian.Uint64(b)^(1<<63)))
			b = b[8:]
		case tagTime:
			if len(b) < 12 {
				return key, errBadSortKey
			}
			sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
			ns := int64(binary.BigEndian.Uint32(b[8:]))
			key = append(key, time.Unix(sec, ns).UTC())
			b = b[12:]
		case tagText, tagBytes:
			var raw []byte
			var ok bool
			raw, b, ok = unescape(b)
			if !ok {
				return key, errBadSortKey
			}
			if tag == tagText {
				key = append(key, string(raw))
			} else {
				key = append(key, raw)
			}
		default:
			return key, errBadSortKey
		}
	}
	return key, nil
}

func unescape(b []byte) (out, rest []byte, ok bool) {
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 || i+1 >= len(b) {
			return nil, nil, false
		}
		out = append(out, b[:i]...)
		switch b[i+1] {
		case 0x01:
			if out == nil {
				out = []byte{}
			}
			return out, b[i+2:], true
		case 0xFF:
			out = append(out, 0)
			b = b[i+2:]
		default:
			return nil, nil, false
		}
	}
}
