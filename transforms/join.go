package transforms

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/joins"
	"github.com/beamsync/beamsync/mappings"
)

// JoinViews builds the views with joins of a batch pipeline:
//
//	change batches ─► JoinLoad (every row of the tables the views read,
//	                  into a store on local disk) ─► loaded counts
//	impulse ─► JoinCompose (side input: the counts, so it starts once every
//	           row is stored) ─► record batches, dead letters
//
// Every record carries version as its position: a batch writes each key
// once, and a later run's version is greater. dir is the store's
// directory, fresh for the run (the caller removes it before and after).
// The store is local to the process: the local runners run both stages in
// it.
func JoinViews(s beam.Scope, dir string, version change.Position, views []View, batches beam.PCollection) (records, dead beam.PCollection) {
	s = s.Scope("Join")
	loaded := beam.ParDo(s.Scope("JoinLoad"), &joinLoadFn{Dir: dir, Views: views}, batches)
	return beam.ParDo2(s.Scope("JoinCompose"), &joinComposeFn{Dir: dir, Views: views, Version: version},
		beam.Impulse(s), beam.SideInput{Input: loaded})
}

// sharedStore is a store open in this process, with the views declared in
// it in one order (so that every DoFn instance numbers tables and indexes
// alike).
type sharedStore struct {
	store *joins.Store
	views []*joins.View
	refs  int
}

var (
	storesMu sync.Mutex
	stores   = map[string]*sharedStore{}
)

func acquireStore(dir string, views []View) (*sharedStore, error) {
	storesMu.Lock()
	defer storesMu.Unlock()
	if ss := stores[dir]; ss != nil {
		ss.refs++
		return ss, nil
	}
	st, err := joins.Open(dir, joins.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	ss := &sharedStore{store: st, refs: 1}
	for _, v := range views {
		m, err := v.Compile()
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("compiling mapping %s: %w", v.File, err)
		}
		ss.views = append(ss.views, joins.NewView(st, m))
	}
	stores[dir] = ss
	return ss, nil
}

func releaseStore(dir string, drop bool) error {
	storesMu.Lock()
	defer storesMu.Unlock()
	ss := stores[dir]
	if ss == nil {
		return nil
	}
	ss.refs--
	if ss.refs > 0 && !drop {
		return nil
	}
	delete(stores, dir)
	if drop {
		return ss.store.Drop()
	}
	return ss.store.Close()
}

// joinLoadFn writes the rows of the tables joined views read into the
// store, and emits one count per batch it wrote.
type joinLoadFn struct {
	Dir   string `json:"dir"`
	Views []View `json:"views"`

	ss     *sharedStore
	tables map[string]bool
	w      *joins.Writer
}

func (f *joinLoadFn) Setup() error {
	ss, err := acquireStore(f.Dir, f.Views)
	if err != nil {
		return err
	}
	f.ss, f.tables = ss, map[string]bool{}
	for _, v := range ss.views {
		for _, t := range v.Tables() {
			f.tables[t.ID()] = true
		}
	}
	return nil
}

func (f *joinLoadFn) ProcessElement(b change.Batch, emit func(int64)) error {
	if b.Table == nil || !f.tables[b.Table.ID()] {
		return nil
	}
	if f.w == nil {
		f.w = f.ss.store.NewWriter(true)
	}
	if err := f.w.Apply(b); err != nil {
		return fmt.Errorf("storing rows of %s for the joined views: %w", b.Table.QualifiedName(), err)
	}
	emit(int64(len(b.Changes)))
	return nil
}

// FinishBundle writes what the bundle stored before its counts reach the
// compose stage.
func (f *joinLoadFn) FinishBundle(_ func(int64)) error {
	if f.w == nil {
		return nil
	}
	w := f.w
	f.w = nil
	defer w.Close()
	return w.Flush()
}

func (f *joinLoadFn) Teardown() error {
	if f.ss == nil {
		return nil
	}
	f.ss = nil
	return releaseStore(f.Dir, false)
}

// joinComposeBatch is how many records one emitted batch holds.
const joinComposeBatch = 1024

// joinComposeFn maps every row of each joined view's source, with the rows
// its joins attach, once the store holds every row.
type joinComposeFn struct {
	Dir     string          `json:"dir"`
	Views   []View          `json:"views"`
	Version change.Position `json:"version"`
}

func (f *joinComposeFn) ProcessElement(ctx context.Context, _ []byte, loaded func(*int64) bool,
	emit func(change.RecordBatch), dead func(change.DeadLetter)) error {
	var n int64
	for loaded(&n) {
	}
	ss, err := acquireStore(f.Dir, f.Views)
	if err != nil {
		return err
	}
	defer releaseStore(f.Dir, true)
	for _, v := range ss.views {
		if err := f.compose(ctx, v, emit, dead); err != nil {
			return err
		}
	}
	return nil
}

func (f *joinComposeFn) compose(ctx context.Context, v *joins.View, emit func(change.RecordBatch), dead func(change.DeadLetter)) error {
	m := v.Mapping()
	name, table := m.View(), m.Table()
	e := m.NewEvaluator()
	var out []change.Record
	var mapped, filtered, deadN int64
	flush := func() {
		if len(out) > 0 {
			emit(change.RecordBatch{View: name, Records: out})
			mapped += int64(len(out))
			out = nil
		}
	}
	err := v.ScanSource(func(row []any, pos change.Position) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := change.Change{Op: change.OpRead, After: row, Key: keyValues(table, row), Position: f.Version, SourcePos: "join"}
		aliases, ok, err := v.Compose(row)
		if err != nil {
			return err
		}
		if !ok {
			filtered++
			return nil
		}
		before := len(out)
		out, err = e.ApplyJoined(&c, aliases, out)
		if err != nil {
			out = out[:before]
			if m.OnError() == mappings.OnErrorFail {
				return fmt.Errorf("%w (row %s of %s; the view's on_error is fail)", err, change.KeyString(c.Key), table.QualifiedName())
			}
			dead(MappingDeadLetter(name, table, &c, err))
			deadN++
			return nil
		}
		if len(out) == before {
			filtered++
		}
		if len(out) >= joinComposeBatch {
			flush()
		}
		return nil
	})
	flush()
	runstats.Add(runstats.Mapped, name, mapped)
	runstats.Add(runstats.Filtered, name, filtered)
	runstats.Add(runstats.Dead, name, deadN)
	return err
}

func keyValues(t *change.Table, row []any) []any {
	k := make([]any, len(t.Key))
	for i, c := range t.Key {
		k[i] = row[c]
	}
	return k
}

func init() {
	register.DoFn2x1[change.Batch, func(int64), error](&joinLoadFn{})
	register.DoFn5x1[context.Context, []byte, func(*int64) bool, func(change.RecordBatch), func(change.DeadLetter), error](&joinComposeFn{})
	register.Emitter1[int64]()
	register.Iter1[int64]()
}
