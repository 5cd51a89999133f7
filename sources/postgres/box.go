package postgres

import (
	"math"
	"time"
	"unsafe"

	"github.com/beamsync/beamsync/change"
)

// Boxing a decoded value into an `any` normally costs one small heap object
// per value (runtime.convT64, convTstring, ...): ten columns make ten
// allocations per row, which the collector then has to find and free. The
// arena instead keeps the values of one batch in a few typed slabs and
// makes each interface point into its slab. The interface is an ordinary
// one to everything that reads it (type switches, comparison, reflect);
// its value is never written after it is boxed, as for any boxed value. A
// value kept alive keeps its slab (boxSlab values) alive, as the arena's
// text does.

const boxSlab = 256

// eface is the layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of the interface v.
func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// The types the decoders box.
var (
	typeInt64     = typeWord(int64(0))
	typeFloat64   = typeWord(float64(0))
	typeTime      = typeWord(time.Time{})
	typeString    = typeWord("")
	typeDecimal   = typeWord(change.Decimal(""))
	typeInterval  = typeWord(change.Interval(""))
	typeTimeOfDay = typeWord(change.TimeOfDay(""))
	typeDate      = typeWord(change.Date(""))
	typeBytes     = typeWord([]byte(nil))
	typeJSON      = typeWord(change.JSON(nil))
)

// slot appends v to the slab *s (a new slab when it is full) and returns
// the address of its copy; with no slab (a nil arena) the copy is a heap
// object of its own, as Go's boxing makes it.
func slot[T any](s *[]T, v T) unsafe.Pointer {
	if s == nil {
		p := new(T)
		*p = v
		return unsafe.Pointer(p)
	}
	if len(*s) == cap(*s) {
		*s = make([]T, 0, boxSlab)
	}
	*s = append(*s, v)
	return unsafe.Pointer(&(*s)[len(*s)-1])
}

// makeAny returns the interface of type typ whose value is at data.
func makeAny(typ, data unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, data
	return v
}

// boxes are the slabs of one arena, one per representation: types with the
// same representation (string and change.Decimal) share a slab.
type boxes struct {
	words   []uint64 // int64, float64
	strings []string
	slices  [][]byte
	times   []time.Time
}

func (a *arena) boxInt64(v int64) any {
	if a == nil || (v >= 0 && v < 256) { // Go boxes these without allocating
		return v
	}
	return makeAny(typeInt64, slot(&a.box.words, uint64(v)))
}

func (a *arena) boxFloat64(v float64) any {
	if a == nil {
		return v
	}
	return makeAny(typeFloat64, slot(&a.box.words, math.Float64bits(v)))
}

func (a *arena) boxTime(v time.Time) any {
	if a == nil {
		return v
	}
	return makeAny(typeTime, slot(&a.box.times, v))
}

// boxString boxes s as the string-kinded type typ.
func (a *arena) boxString(typ unsafe.Pointer, s string) any {
	if a == nil {
		return makeAny(typ, slot(nil, s))
	}
	return makeAny(typ, slot(&a.box.strings, s))
}

// boxBytes boxes b as the []byte-kinded type typ.
func (a *arena) boxBytes(typ unsafe.Pointer, b []byte) any {
	if a == nil {
		return makeAny(typ, slot(nil, b))
	}
	return makeAny(typ, slot(&a.box.slices, b))
}
