// Package transforms holds beamsync's generic Beam transforms: the coders of
// the change model, the mapping stage that turns change batches into view
// records, and the dead-letter plumbing every stage shares.
//
// # Invariants
//
//   - Every element type that crosses a stage boundary has a registered,
//     deterministic coder (change.Batch and change.RecordBatch use the change
//     package's binary codec; dead letters use JSON).
//   - The mapping stage never drops an input silently: each change either
//     yields records, is filtered by the view's where clause (counted), or
//     becomes a dead letter (or fails the job when the view says on_error: fail).
//   - Mappings are compiled once per DoFn instance, in Setup, from the mapping
//     file's text carried in the DoFn (no local paths on workers).
package transforms
