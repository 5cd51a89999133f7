// Package joins keeps the rows of the tables that joined views read, and
// composes the rows of those views: for each row of a view's source, the
// rows its joins attach (lookups, and the arrays of many joins, in their
// order), ready for mappings.Evaluator.ApplyJoined.
//
// The rows live in a [Store] on local disk (a pebble LSM tree), keyed by
// table and primary key, with an index per join whose joined columns are
// not the joined table's primary key. Memory is bounded by the store's
// cache and memtables whatever the size of the tables; a customer with a
// million orders, or an order with a hundred thousand lines, is a range of
// index entries read in order.
//
// # Invariants
//
//   - A row is stored with the position of the change that wrote it; a
//     change older than the stored row is skipped, and a delete leaves a
//     tombstone so that an older, replayed update cannot bring the row back.
//   - Join values are compared in one canonical form (keys.go): integers
//     and integral decimals are equal by value, decimals regardless of
//     trailing zeros, text regardless of its text kind. NULL joins nothing.
//   - A lookup takes the first matching row by the joined table's primary
//     key; a many join takes every matching row, ordered by its order_by
//     columns (then by primary key) and cut at its limit. An inner join
//     without a match removes the parent row: from the view, or from the
//     array it would be an element of.
//
// This package imports no Beam package; transforms wraps it.
package joins
