package verify

import (
	"errors"
	"fmt"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/mappings"
)

// Expected is the source side of a view: its rows as the view's mapping
// makes them from the source's rows now, sorted by key.
type Expected struct {
	Rows []Row
	// Position is the greatest position of the source rows read (the
	// snapshot's position for a database snapshot).
	Position uint64
	// MapErrors counts the rows the mapping refused (the pipeline
	// dead-letters them; they are not expected in the view), FirstMapError
	// is the first one's error.
	MapErrors     int
	FirstMapError error
}

// ExpectedBuilder maps the source rows of one view into its expected rows.
// Feed it the snapshot's batches of the view's table with Add, then call
// Finish.
type ExpectedBuilder struct {
	ev   *mappings.Evaluator
	out  Expected
	recs []change.Record
	buf  []byte
}

// NewExpectedBuilder returns a builder for a compiled mapping.
func NewExpectedBuilder(m *mappings.Mapping) *ExpectedBuilder {
	return &ExpectedBuilder{ev: m.NewEvaluator()}
}

// Add maps a batch of source changes (snapshot reads).
func (b *ExpectedBuilder) Add(bt change.Batch) error {
	for i := range bt.Changes {
		c := &bt.Changes[i]
		if uint64(c.Position) > b.out.Position {
			b.out.Position = uint64(c.Position)
		}
		recs, err := b.ev.Apply(c, b.recs[:0])
		b.recs = recs
		if err != nil {
			var re *mappings.RowError
			if !errors.As(err, &re) {
				return fmt.Errorf("mapping a source row: %w", err)
			}
			b.out.MapErrors++
			if b.out.FirstMapError == nil {
				b.out.FirstMapError = err
			}
			continue
		}
		for _, r := range recs {
			if r.Delete {
				continue // a snapshot row out of the view (cannot be in it)
			}
			row, err := RecordRow(r)
			if err != nil {
				return err
			}
			b.out.Rows = append(b.out.Rows, row)
		}
	}
	return nil
}

// Finish returns the expected side, sorted by key.
func (b *ExpectedBuilder) Finish() Expected {
	SortRows(b.out.Rows)
	return b.out
}

// RecordRow is the canonical row of a mapped record (what the file sink
// writes: change.AppendJSON of its Doc), versioned by its position.
func RecordRow(r change.Record) (Row, error) {
	key, err := Canonical(change.AppendJSON(nil, r.Key))
	if err != nil {
		return Row{}, fmt.Errorf("canonical key: %w", err)
	}
	doc, err := Canonical(change.AppendJSON(nil, r.Doc))
	if err != nil {
		return Row{}, fmt.Errorf("canonical row of key %s: %w", key, err)
	}
	return Row{Key: string(key), Doc: doc, Version: uint64(r.Position), HasVersion: true}, nil
}

// SinkRow is the canonical row of a stored document (JSON), its key taken
// from the key fields (names, in key order) and its bookkeeping
// attributes (drop) left out.
func SinkRow(doc []byte, keyNames []string, drop []string, version uint64, hasVersion bool) (Row, error) {
	c, err := Canonical(doc, drop...)
	if err != nil {
		return Row{}, err
	}
	return sinkRowOf(c, keyNames, version, hasVersion)
}

// SinkRowValue is SinkRow for a document already decoded (a map of
// json.Number, string, bool, nil, []any and map[string]any values; other
// values go through change.AppendJSON).
func SinkRowValue(doc map[string]any, keyNames []string, version uint64, hasVersion bool) (Row, error) {
	return sinkRowOf(AppendCanonical(nil, doc), keyNames, version, hasVersion)
}

func sinkRowOf(canon []byte, keyNames []string, version uint64, hasVersion bool) (Row, error) {
	// Decode the canonical text once more to pick the key fields: the
	// key's values are then canonical too.
	m, err := decodeObject(canon)
	if err != nil {
		return Row{}, err
	}
	key := make([]any, len(keyNames))
	for i, n := range keyNames {
		v, ok := m[n]
		if !ok {
			return Row{}, fmt.Errorf("stored row %.200s has no key field %q", canon, n)
		}
		key[i] = v
	}
	return Row{Key: string(AppendCanonical(nil, key)), Doc: canon, Version: version, HasVersion: hasVersion}, nil
}
