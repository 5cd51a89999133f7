package verify

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// Row is one view row of one side, in canonical form.
type Row struct {
	// Key is the canonical JSON array of the key values.
	Key string
	// Doc is the canonical JSON of the row's document.
	Doc []byte
	// Version is the row's version: the source position (expected side) or
	// the stored version (sink side), when HasVersion.
	Version    uint64
	HasVersion bool
}

// Kind is the kind of a difference.
type Kind string

// The kinds of differences.
const (
	Missing Kind = "missing" // in the source's view, not in the sink
	Extra   Kind = "extra"   // in the sink, not in the source's view
	Changed Kind = "changed" // in both, documents differ
	Stale   Kind = "stale"   // same document, stored version ahead of the source or absent
)

// Diff is one differing key.
type Diff struct {
	Kind Kind
	Key  string
	// Source and Sink are the two sides' rows (nil where absent).
	Source, Sink *Row
}

// Result is the outcome of comparing one view's two sides.
type Result struct {
	SourceRows, SinkRows           int
	Missing, Extra, Changed, Stale int
	// Diffs lists every differing key, in key order (change.CompareKeys).
	Diffs []Diff
	// Ranges counts the key ranges whose checksums were compared.
	Ranges int
}

// Equal reports whether the sides hold the same rows.
func (r *Result) Equal() bool { return len(r.Diffs) == 0 }

// Options tune Compare.
type Options struct {
	// SourcePosition is the position of the source's snapshot: a stored
	// version above it is stale.
	SourcePosition uint64
	// SinkKeepsVersions says the sink stores a version with every row: a
	// row stored without one is stale.
	SinkKeepsVersions bool
	// LeafRows is the size of a key range below which rows are compared
	// key by key instead of split further (default 8).
	LeafRows int
}

// SortRows sorts rows by key (stably: duplicate keys keep their order).
func SortRows(rows []Row) {
	slices.SortStableFunc(rows, func(a, b Row) int { return strings.Compare(a.Key, b.Key) })
}

// Compare reconciles the rows the source's view holds (expected) with the
// rows a sink holds (actual); both must be sorted by key (SortRows).
// It compares the checksums of key ranges and bisects the ranges that
// differ down to single keys (see the package documentation).
func Compare(expected, actual []Row, o Options) Result {
	if o.LeafRows <= 0 {
		o.LeafRows = 8
	}
	c := comparer{o: o, res: Result{SourceRows: len(expected), SinkRows: len(actual)}}
	c.bisect(expected, actual)
	sortDiffs(c.res.Diffs)
	return c.res
}

// sortDiffs puts differences in the view's key order (numbers by value,
// as change.CompareKeys orders keys), not in the canonical text's order
// the bisection works in.
func sortDiffs(ds []Diff) {
	keys := make(map[string][]any, len(ds))
	for _, d := range ds {
		if _, ok := keys[d.Key]; !ok {
			keys[d.Key] = keyValues(d.Key)
		}
	}
	slices.SortStableFunc(ds, func(a, b Diff) int {
		if c := change.CompareKeys(keys[a.Key], keys[b.Key]); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// keyValues decodes a canonical key for ordering: numbers become
// change.Decimal (compared by value), the rest stays as decoded.
func keyValues(key string) []any {
	d := json.NewDecoder(strings.NewReader(key))
	d.UseNumber()
	var vs []any
	if d.Decode(&vs) != nil {
		return []any{key}
	}
	for i, v := range vs {
		if n, ok := v.(json.Number); ok {
			vs[i] = change.Decimal(n)
		}
	}
	return vs
}

type comparer struct {
	o   Options
	res Result
}

// versionOK says whether a sink row's version is acceptable.
func (c *comparer) versionOK(r *Row) bool {
	if !r.HasVersion {
		return !c.o.SinkKeepsVersions
	}
	return r.Version <= c.o.SourcePosition
}

// checksum hashes a range of rows: keys, documents and, on the sink side,
// whether each version is acceptable (expected rows always are).
func (c *comparer) checksum(rows []Row, sink bool) uint64 {
	h := fnv.New64a()
	var flag [1]byte
	var n [8]byte
	for i := range rows {
		r := &rows[i]
		binary.LittleEndian.PutUint64(n[:], uint64(len(r.Key)))
		h.Write(n[:])
		h.Write([]byte(r.Key))
		binary.LittleEndian.PutUint64(n[:], uint64(len(r.Doc)))
		h.Write(n[:])
		h.Write(r.Doc)
		flag[0] = 1
		if sink && !c.versionOK(r) {
			flag[0] = 0
		}
		h.Write(flag[:])
	}
	return h.Sum64()
}

// bisect compares one key range, given as the rows of each side in it.
func (c *comparer) bisect(exp, act []Row) {
	c.res.Ranges++
	if len(exp) == len(act) && c.checksum(exp, false) == c.checksum(act, true) {
		return
	}
	if len(exp)+len(act) <= c.o.LeafRows || singleKey(exp, act) {
		c.leaf(exp, act)
		return
	}
	// Split at the middle key of the larger side: both halves are
	// non-empty on that side, so every step shrinks the range.
	big := exp
	if len(act) > len(exp) {
		big = act
	}
	pivot := big[len(big)/2].Key
	if pivot == big[0].Key { // duplicates of the first key: split after them
		i := upper(big, pivot)
		if i == len(big) {
			c.leaf(exp, act)
			return
		}
		pivot = big[i].Key
	}
	ei, ai := lower(exp, pivot), lower(act, pivot)
	c.bisect(exp[:ei], act[:ai])
	c.bisect(exp[ei:], act[ai:])
}

func singleKey(exp, act []Row) bool {
	var k string
	first := true
	for _, s := range [][]Row{exp, act} {
		if len(s) == 0 {
			continue
		}
		if first {
			k, first = s[0].Key, false
		}
		if s[0].Key != k || s[len(s)-1].Key != k {
			return false
		}
	}
	return true
}

func lower(rows []Row, key string) int {
	i, _ := slices.BinarySearchFunc(rows, key, func(r Row, k string) int { return strings.Compare(r.Key, k) })
	return i
}

func upper(rows []Row, key string) int {
	return lower(rows, key+"\x00") // the first key greater than key (keys hold no NUL: JSON escapes it)
}

// leaf compares a small range key by key (a merge of the two sorted
// sides). A key the sink holds twice counts its second row as extra.
func (c *comparer) leaf(exp, act []Row) {
	i, j := 0, 0
	for i < len(exp) || j < len(act) {
		var o int
		switch {
		case i == len(exp):
			o = 1
		case j == len(act):
			o = -1
		default:
			o = cmp.Compare(exp[i].Key, act[j].Key)
		}
		switch {
		case o < 0:
			c.add(Missing, &exp[i], nil)
			i++
		case o > 0:
			c.add(Extra, nil, &act[j])
			j++
		default:
			e, a := &exp[i], &act[j]
			switch {
			case !bytes.Equal(e.Doc, a.Doc):
				c.add(Changed, e, a)
			case !c.versionOK(a):
				c.add(Stale, e, a)
			}
			i++
			j++
			// further rows of the same key on either side
			for i < len(exp) && exp[i].Key == e.Key {
				c.add(Missing, &exp[i], nil) // cannot happen for a mapped view: keys are unique
				i++
			}
			for j < len(act) && act[j].Key == e.Key {
				c.add(Extra, nil, &act[j])
				j++
			}
		}
	}
}

func (c *comparer) add(k Kind, src, sink *Row) {
	d := Diff{Kind: k, Source: src, Sink: sink}
	if src != nil {
		d.Key = src.Key
	} else {
		d.Key = sink.Key
	}
	c.res.Diffs = append(c.res.Diffs, d)
	switch k {
	case Missing:
		c.res.Missing++
	case Extra:
		c.res.Extra++
	case Changed:
		c.res.Changed++
	case Stale:
		c.res.Stale++
	}
}
