package change

import (
	"bytes"
	"testing"
)

// TestPlainASCII8 checks the eight-byte test against the byte-by-byte
// rule for every byte value in every position.
func TestPlainASCII8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
				b := bytes.Repeat([]byte{fill}, 8)
				b[pos] = byte(c)
				if got, want := plainASCII8(string(b)), plain(byte(c)); got != want {
					t.Fatalf("plainASCII8(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
