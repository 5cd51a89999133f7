package mysql

import (
	"strconv"
	"strings"
)

// storageText renders the bytes the binlog holds for a MariaDB UUID, INET6
// or INET4 value as the server shows the value (and the snapshot reads it).
// The binlog drops trailing zero bytes, as for BINARY(n).
func storageText(c *binColumn, v any) (any, error) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return nil, badValue(&column{name: c.name}, v)
	}
	size := 16
	if c.storage == storageInet4 {
		size = 4
	}
	if len(b) > size {
		return nil, badValue(&column{name: c.name}, v)
	}
	full := make([]byte, size)
	copy(full, b)
	switch c.storage {
	case storageUUID:
		return uuidText(full), nil
	case storageInet6:
		return inet6Text(full), nil
	default:
		return inet4Text(full), nil
	}
}

// uuidText renders 16 bytes as "123e4567-e89b-12d3-a456-426614174000".
func uuidText(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&0xF])
	}
	return string(out)
}

// inet4Text renders 4 bytes as a dotted quad.
func inet4Text(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.Itoa(int(x)))
	}
	return sb.String()
}

// inet6Text renders 16 bytes as MariaDB's INET6 does: lower-case hex
// groups without leading zeros, the first longest run of zero groups
// (even a single one) as "::", and IPv4-compatible (::a.b.c.d) and
// IPv4-mapped (::ffff:a.b.c.d) addresses with their IPv4 part dotted.
// This differs from Go's net.IP, which shows a mapped address as bare
// IPv4 and leaves a single zero group alone.
func inet6Text(b []byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	gapPos, gapLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > gapLen {
			gapPos, gapLen = i, j-i
		}
		i = j
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		switch {
		case i == gapPos:
			if i == 0 {
				sb.WriteByte(':')
			}
			sb.WriteByte(':')
			i += gapLen - 1
		case i == 6 && gapPos == 0 && (gapLen == 6 || gapLen == 5 && w[5] == 0xFFFF):
			sb.WriteString(inet4Text(b[12:]))
			return sb.String()
		default:
			sb.WriteString(strconv.FormatUint(uint64(w[i]), 16))
			if i != 7 {
				sb.WriteByte(':')
			}
		}
	}
	return sb.String()
}
