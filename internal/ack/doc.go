// Package ack decides when a stream pipeline may acknowledge a source
// position: only once every element read up to it has been written by
// every sink it goes to, or dead-lettered durably.
//
// # The model
//
// A change stream hands the pipeline one change.Progress at a time. The
// source opens a unit for it (Tracker.Open), with one part per element it
// emits (a change.Batch per table, a dead letter per undecodable event),
// and stamps every element with the unit's change.AckToken. Every stage
// that consumes an element with a token accounts for it exactly once:
//
//   - a stage that turns one element into n others (the mapping stage: one
//     change.RecordBatch per view and per sink the view goes to, plus one
//     part per dead letter) calls Fork(token, n) before it emits them, and
//     stamps them with the same token;
//   - a stage that makes an element durable (a sink after the flush that
//     wrote it, the dead-letter writer after its fsync) calls Done(token, 1)
//     — through Pending, which does it for a sink's whole flush.
//
// A pipeline reads one stream; Pending assumes its tokens are of one.
//
// A unit is complete when it has no parts left. The acknowledgeable
// checkpoint is the checkpoint of the newest unit that is complete and whose
// predecessors are all complete: units complete in any order, but the
// acknowledgement only moves forward over a gap-free prefix. The source
// acknowledges that checkpoint (advances its slot, commits its offsets,
// saves its checkpoint file).
//
// # Invariants
//
//   - A checkpoint is acknowledged only when every element of its unit and
//     of every earlier unit was written or dead-lettered durably: after a
//     crash at any moment, the stream resumes from the last acknowledged
//     checkpoint and re-reads everything that might not have been written.
//     Re-reading is harmless: sinks are version-guarded.
//   - Fork is called before the forked parts are emitted, so a unit never
//     reaches zero parts while some of its elements are still in flight.
//   - A dead letter a sink produces is charged to the oldest unit of the
//     flush that produced it (Pending.Charge), never to a newer one: the
//     acknowledgement cannot pass the record before its dead letter is
//     written.
//   - The tracker lives in the process that runs the pipeline's stages.
//     That is true on the local runners (prism runs every stage in the
//     process that submits the job), and on Dataflow only while the read,
//     the mapping and the sinks stay fused in one worker (the stream
//     pipeline has no shuffle, so Dataflow fuses them, but nothing
//     guarantees it). Bundle finalization is not a substitute locally:
//     prism calls it right after storing a bundle's output in memory.
//
// # Not built yet: acknowledgement on Dataflow
//
// On Dataflow the right signal is bundle finalization, which it calls once
// a bundle's output is durably committed: the source may then acknowledge
// the bundle's last checkpoint, and the restriction must carry that
// checkpoint so that a residual resumed on another worker reopens the
// source there. Neither is implemented: a streaming job submitted to
// Dataflow counts parts in the source's worker as locally, and a worker
// that restarts reopens the stream from the submitted position
// (runner submit warns about it).
//
// Zero tokens (batch pipelines) are ignored by every function.
package ack
