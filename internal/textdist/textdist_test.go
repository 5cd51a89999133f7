package textdist

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"chunk_sise", "chunk_size", 1}, {"kitten", "sitting", 3}, {"ordres", "orders", 1}, {"dya", "day", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
