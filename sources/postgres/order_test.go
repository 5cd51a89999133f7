package postgres

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/beamsync/beamsync/change"
)

// orderInput simulates readers: chunk seq has sizes[seq] batches of one
// change each (Position = seq, CommitTime unused, Key = {seq, i}); the
// batches of one chunk arrive in order, the chunks interleaved at random,
// each ended by a last batch (empty for an empty chunk).
func orderInput(r *rand.Rand, sizes []int) []chunkBatch {
	var streams [][]chunkBatch
	for seq, n := range sizes {
		var s []chunkBatch
		for i := range n {
			s = append(s, chunkBatch{seq: seq, batch: change.Batch{Changes: []change.Change{{Key: []any{int64(seq), int64(i)}}}}})
		}
		if n > 0 && r.IntN(2) == 0 {
			s[n-1].last = true // the last batch carries rows
		} else {
			s = append(s, chunkBatch{seq: seq, last: true})
		}
		streams = append(streams, s)
	}
	var out []chunkBatch
	for len(streams) > 0 {
		// Readers work on nearby chunks: pick among the first few.
		i := r.IntN(min(len(streams), 4))
		out = append(out, streams[i][0])
		if streams[i] = streams[i][1:]; len(streams[i]) == 0 {
			streams = slices.Delete(streams, i, i+1)
		}
	}
	return out
}

func TestChunkOrder(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 9))
		sizes := make([]int, 1+r.IntN(12))
		for i := range sizes {
			sizes[i] = r.IntN(6)
		}
		for _, maxRows := range []int{1 << 20, 3, 0} {
			name := "seed " + strconv.Itoa(int(seed)) + " maxRows " + strconv.Itoa(maxRows)
			window := make(chan struct{}, len(sizes))
			o := chunkOrder{pending: map[int]*pendingChunk{}, window: window, maxRows: maxRows}
			var got [][]any
			for _, cb := range orderInput(r, sizes) {
				if err := o.add(cb, func(b change.Batch) error {
					if len(b.Changes) == 0 {
						t.Fatalf("%s: empty batch delivered", name)
					}
					for _, c := range b.Changes {
						got = append(got, c.Key)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			// Every chunk gave its window token back.
			if len(window) != len(sizes) {
				t.Fatalf("%s: %d tokens given back for %d chunks", name, len(window), len(sizes))
			}
			var want [][]any
			for seq, n := range sizes {
				for i := range n {
					want = append(want, []any{int64(seq), int64(i)})
				}
			}
			sorted := slices.IsSortedFunc(got, change.CompareKeys)
			slices.SortFunc(got, change.CompareKeys)
			if !slices.EqualFunc(got, want, func(a, b []any) bool { return change.CompareKeys(a, b) == 0 }) {
				t.Fatalf("%s: delivered %v, want %v", name, got, want)
			}
			if maxRows == 1<<20 && !sorted {
				t.Fatalf("%s: not delivered in chunk order", name)
			}
		}
	}
}
