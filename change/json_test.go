package change

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
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

// TestAppendTimeUTCMatchesRFC3339Nano checks the hand-written timestamp
// format against the time package's over the whole range it covers and
// past both ends.
func TestAppendTimeUTCMatchesRFC3339Nano(t *testing.T) {
	check := func(tm time.Time) {
		t.Helper()
		if got, want := string(appendTimeUTC(nil, tm)), tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendTimeUTC(%v) = %s, want %s", tm, got, want)
		}
	}
	for _, tm := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 999999999), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 100, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.FixedZone("x", 5*3600+1800)),
	} {
		check(tm)
	}
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(10005, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 200000 {
		ns := int64(0)
		switch r.IntN(3) {
		case 1:
			ns = r.Int64N(1e9)
		case 2:
			ns = r.Int64N(1e6) * 1000
		}
		check(time.Unix(lo+r.Int64N(hi-lo), ns))
	}
}
