// Package change is beamsync's change model: the one set of types that every
// source emits, the mapping engine reads and every sink writes.
//
// A [Change] is one row event — a snapshot read (op "r"), an insert ("c"), an
// update ("u") or a delete ("d") — of one [Table], with its primary key, its
// before and after images and a [Position]. Changes travel through a pipeline
// in a [Batch] (rows per element keeps the per-element cost of Beam off the hot
// path). A mapping turns changes into [Record]s of a view; rows that cannot be
// decoded, mapped or written become [DeadLetter]s.
//
// # Values
//
// Row values are plain Go values of a closed set of types, so that meaning
// survives every hop (see [Kind]):
//
//	nil           SQL NULL (distinct from "" and from an empty array)
//	bool, int64, uint64 (only above MaxInt64), float64 (NaN and ±Inf kept)
//	string        any Unicode text
//	[]byte        binary
//	Decimal       NUMERIC/DECIMAL as canonical decimal text: no float loss
//	time.Time     timestamps, always in UTC with full precision
//	Date          a calendar date, "2006-01-02"
//	TimeOfDay     a time of day, "15:04:05.999999"
//	Interval      an ISO 8601 duration, "P1Y2M3DT4H5M6.5S"
//	JSON          a JSON document, kept as its text
//	[]any         an array
//	*Doc          an ordered object (mapping output)
//	map[string]any an object (keys written in sorted order)
//
// # Invariants
//
//   - Within one source, Position strictly increases in commit order for the
//     changes of any one key; a sink keeps the change with the greatest
//     Position per key (the position is the row's version).
//   - Snapshot rows carry the position of the snapshot's consistent point.
//   - This package imports nothing else of beamsync.
package change
