package joins

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/beamsync/beamsync/change"
)

// Store holds the rows of the tables that joined views read, and the
// indexes their joins look rows up by, on disk (a pebble LSM tree): memory
// stays bounded by the cache whatever the tables' sizes.
//
// Keys:
//
//	'R' table(4) pk...           the row: uvarint position, flags, change.AppendValues of the row
//	'I' index(4) values... pk... an index entry: the row again (as 'R' holds it)
//
// where table and index are small numbers the store hands out by name
// (Table, Index), and pk and values are join forms (keys.go).
type Store struct {
	dir string
	db  *pebble.DB

	mu      sync.Mutex
	tables  map[string]uint32 // by table ID (tableID)
	indexes map[indexKey]*index
	byTable map[uint32][]*index
	dropped bool
	noSync  bool
}

type indexKey struct {
	table uint32
	cols  string // the column numbers, comma-separated
}

type index struct {
	id    uint32
	table uint32
	cols  []int
}

// Options tune a store.
type Options struct {
	// CacheBytes is the block cache (default 64 MiB); MemTableBytes each
	// memtable (default 32 MiB).
	CacheBytes, MemTableBytes int64
	// NoSync makes writes that are not followed by a Sync unsynced (a
	// batch run's scratch store, removed after the run).
	NoSync bool
}

// Open opens (creating it when missing) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.MemTableBytes <= 0 {
		o.MemTableBytes = 32 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the join store: %w", err)
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, MemTableSize: uint64(o.MemTableBytes), Logger: quietLogger{}, DisableWAL: o.NoSync}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("opening the join store in %s: %w", dir, err)
	}
	return &Store{dir: dir, db: db, noSync: o.NoSync, tables: map[string]uint32{}, indexes: map[indexKey]*index{}, byTable: map[uint32][]*index{}}, nil
}

// Close closes the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped || s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// Drop closes the store and removes its directory.
func (s *Store) Drop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.db != nil {
		err = s.db.Close()
		s.db = nil
	}
	s.dropped = true
	return errors.Join(err, os.RemoveAll(s.dir))
}

// Table returns the number of a table, handing out a new one on first use.
func (s *Store) Table(t *change.Table) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := t.ID()
	n, ok := s.tables[id]
	if !ok {
		n = uint32(len(s.tables) + 1)
		s.tables[id] = n
	}
	return n
}

// Index makes sure the store keeps an index of table t by cols (unless
// cols is its primary key, which rows are keyed by), and returns it (nil
// for the primary key). Rows written before an index exists are not in it:
// declare every index before the first write.
func (s *Store) Index(t *change.Table, cols []int) *index {
	if slices.Equal(cols, t.Key) {
		return nil
	}
	tid := s.Table(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := indexKey{table: tid, cols: fmt.Sprint(cols)}
	if ix := s.indexes[k]; ix != nil {
		return ix
	}
	ix := &index{id: uint32(len(s.indexes) + 1), table: tid, cols: slices.Clone(cols)}
	s.indexes[k] = ix
	s.byTable[tid] = append(s.byTable[tid], ix)
	return ix
}

func rowKey(b []byte, table uint32, pk []any) []byte {
	b = binary.BigEndian.AppendUint32(append(b, 'R'), table)
	return appendValues(b, pk)
}

func indexPrefix(b []byte, ix *index, vals []any) []byte {
	b = binary.BigEndian.AppendUint32(append(b, 'I'), ix.id)
	return appendValues(b, vals)
}

// prefixEnd returns the least key greater than every key with the prefix.
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Row flags.
const flagDeleted = 1

// storedRow is a row as the store holds it.
type storedRow struct {
	pos     change.Position
	deleted bool
	values  []any
}

func encodeRow(b []byte, r storedRow) []byte {
	b = binary.AppendUvarint(b, uint64(r.pos))
	var flags byte
	if r.deleted {
		flags |= flagDeleted
	}
	b = append(b, flags)
	if !r.deleted {
		b = change.AppendValues(b, r.values)
	}
	return b
}

func decodeRow(b []byte) (storedRow, error) {
	pos, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+1 {
		return storedRow{}, errors.New("join store: a damaged row")
	}
	r := storedRow{pos: change.Position(pos), deleted: b[n]&flagDeleted != 0}
	if !r.deleted {
		d := change.NewDecoder(b[n+1:])
		r.values = d.Values()
		if d.Err() != nil {
			return storedRow{}, fmt.Errorf("join store: a damaged row: %w", d.Err())
		}
	}
	return r, nil
}

// get reads a row by primary key; ok is false when there is none (or a
// tombstone, returned with deleted set).
func (s *Store) get(table uint32, pk []any) (storedRow, bool, error) {
	v, closer, err := s.db.Get(rowKey(nil, table, pk))
	if errors.Is(err, pebble.ErrNotFound) {
		return storedRow{}, false, nil
	}
	if err != nil {
		return storedRow{}, false, fmt.Errorf("reading the join store: %w", err)
	}
	defer closer.Close()
	r, err := decodeRow(v)
	return r, err == nil, err
}

func keyOf(t *change.Table, row []any) []any {
	pk := make([]any, len(t.Key))
	for i, k := range t.Key {
		pk[i] = row[k]
	}
	return pk
}

func project(row []any, cols []int) ([]any, bool) {
	vals := make([]any, len(cols))
	for i, c := range cols {
		if c >= len(row) || row[c] == nil || change.IsUnchanged(row[c]) {
			return nil, false
		}
		vals[i] = row[c]
	}
	return vals, true
}

// Writer batches writes to a store.
type Writer struct {
	s     *Store
	b     *pebble.Batch
	n     int
	sync  bool
	blind bool
}

// NewWriter starts a batch of writes. Blind writers (a first load into an
// empty store, each key once) neither read rows back nor guard versions.
func (s *Store) NewWriter(blind bool) *Writer {
	return &Writer{s: s, b: s.db.NewBatch(), blind: blind}
}

// writerFlushBytes bounds a writer's batch.
const writerFlushBytes = 16 << 20

// Apply writes the changes of a batch: an upsert keeps the row (and its
// index entries), a delete leaves a tombstone; an older change than the
// stored row is skipped (the position is the row's version).
func (w *Writer) Apply(b change.Batch) error {
	t := b.Table
	tid := w.s.Table(t)
	ixs := w.s.byTable[tid]
	for i := range b.Changes {
		c := &b.Changes[i]
		row := c.Row()
		pk := c.Key
		if len(pk) != len(t.Key) {
			if row == nil {
				continue
			}
			pk = keyOf(t, row)
		}
		var old storedRow
		var had bool
		if !w.blind {
			var err error
			if old, had, err = w.s.get(tid, pk); err != nil {
				return err
			}
			if had && old.pos > c.Position {
				continue
			}
		}
		rk := rowKey(nil, tid, pk)
		if had && !old.deleted {
			for _, ix := range ixs {
				if vals, ok := project(old.values, ix.cols); ok {
					if err := w.b.Delete(appendValues(indexPrefix(nil, ix, vals), pk), nil); err != nil {
						return err
					}
				}
			}
		}
		if c.Op == change.OpDelete {
			if err := w.b.Set(rk, encodeRow(nil, storedRow{pos: c.Position, deleted: true}), nil); err != nil {
				return err
			}
			continue
		}
		vals, cloned := c.After, false
		if had && !old.deleted && len(old.values) == len(vals) {
			for j, v := range vals {
				if change.IsUnchanged(v) {
					if !cloned {
						vals, cloned = slices.Clone(c.After), true
					}
					vals[j] = old.values[j]
				}
			}
		}
		enc := encodeRow(nil, storedRow{pos: c.Position, values: vals})
		if err := w.b.Set(rk, enc, nil); err != nil {
			return err
		}
		for _, ix := range ixs {
			if iv, ok := project(vals, ix.cols); ok {
				// The entry holds the row too: a lookup by the index reads
				// its rows in one ordered scan, without a read per row.
				if err := w.b.Set(appendValues(indexPrefix(nil, ix, iv), pk), enc, nil); err != nil {
					return err
				}
			}
		}
		w.n++
		if w.b.Len() >= writerFlushBytes {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush commits what the writer holds (synced unless the store is a
// scratch store).
func (w *Writer) Flush() error {
	if w.b.Empty() {
		return nil
	}
	opts := pebble.Sync
	if w.s.noSync {
		opts = pebble.NoSync
	}
	if err := w.b.Commit(opts); err != nil {
		return fmt.Errorf("writing the join store: %w", err)
	}
	w.b.Close()
	w.b = w.s.db.NewBatch()
	return nil
}

// Close discards what was not flushed.
func (w *Writer) Close() { w.b.Close() }

// rowsByIndex calls fn with every live row whose index columns equal vals,
// in primary-key order (index entries hold their rows).
func (s *Store) rowsByIndex(ix *index, vals []any, fn func(r storedRow) error) error {
	return s.scanPrefix(indexPrefix(nil, ix, vals), fn)
}

// scanTable calls fn with every live row of a table, in primary-key order.
func (s *Store) scanTable(table uint32, fn func(r storedRow) error) error {
	return s.scanPrefix(binary.BigEndian.AppendUint32([]byte{'R'}, table), fn)
}

// scanPrefix calls fn with the live rows stored under the keys with the
// prefix, in key order.
func (s *Store) scanPrefix(prefix []byte, fn func(r storedRow) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("reading the join store: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("reading the join store: %w", err)
		}
		r, err := decodeRow(v)
		if err != nil {
			return err
		}
		if r.deleted {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return it.Error()
}

// quietLogger sends pebble's errors to slog and drops its chatter.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error("join store: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	slog.Error("join store: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}
