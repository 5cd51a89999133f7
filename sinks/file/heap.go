package file

// minHeap is a binary min-heap of merge inputs ordered by cmp; the k-way
// merges pop the smallest input, use its current element, then advance it
// and fix the top (or drop it when exhausted).
type minHeap[T any] struct {
	s   []T
	cmp func(a, b T) int
}

func (h *minHeap[T]) init() {
	for i := len(h.s)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *minHeap[T]) top() T { return h.s[0] }

// fixTop restores the order after the top input advanced.
func (h *minHeap[T]) fixTop() { h.down(0) }

// dropTop removes the top input.
func (h *minHeap[T]) dropTop() {
	n := len(h.s) - 1
	h.s[0] = h.s[n]
	var zero T
	h.s[n] = zero
	h.s = h.s[:n]
	if n > 0 {
		h.down(0)
	}
}

func (h *minHeap[T]) down(i int) {
	n := len(h.s)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h.cmp(h.s[r], h.s[l]) < 0 {
			j = r
		}
		if h.cmp(h.s[j], h.s[i]) >= 0 {
			return
		}
		h.s[i], h.s[j] = h.s[j], h.s[i]
		i = j
	}
}
