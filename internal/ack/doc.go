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
//   - The tracker lives in the process that runs the pipeline's stages,
//     which is true on the local runners: prism runs every stage in the
//     process that submits the job. Bundle finalization is not a substitute
//     there: prism calls it right after storing a bundle's output in
//     memory, before any sink has written it.
//
// This is the acknowledgement of the local runners
// (transforms.AckSinks, the default of `runner run --mode stream`).
//
// # Acknowledgement on Dataflow: what the runner committed
//
// A Dataflow streaming job (transforms.AckCommitted, set by `runner
// submit --mode stream`) cannot count parts in one process: its stages may
// run on other workers, and a worker may be replaced at any time. There the
// runner itself is the durable store: it commits a bundle's output and the
// residual restriction that continues the read atomically, and hands the
// residual to a ProcessElement call only after that commit succeeded.
//
//   - The read's restriction (transforms.StreamRestriction) carries the
//     checkpoint of the last unit claimed and a count of the units claimed
//     (Seq). The read checkpoints only at unit boundaries (it refuses
//     splits other than the self-checkpoint), so the residual names exactly
//     the units the bundle emitted.
//   - Receiving a restriction is the proof that its checkpoint was
//     committed: the read acknowledges it at the source (slot, binlog
//     position, consumer offsets) from its ack loop, without waiting on
//     the call. Everything after it is still kept by the source.
//   - The source's connection is kept open across calls in the worker
//     process. A call whose restriction's Seq differs from what that
//     connection emitted — a bundle that failed and is retried, or a read
//     that moved to this worker — abandons the connection, without
//     acknowledging, and reopens the source at the restriction's
//     checkpoint; units read ahead and not claimed are dropped and read
//     again. A connection no call has claimed from for two minutes is
//     closed, so a worker the read left releases the slot or partitions.
//   - Elements carry zero tokens (nothing is counted): once committed, the
//     runner retries downstream stages until the sinks have written, and
//     the sinks are version-guarded, so a replay is harmless.
//   - The acknowledgement trails the read by one call (about a bundle).
//     The last checkpoint of a drained job is not acknowledged; a job
//     started again from the source's position re-reads that bundle.
//
// Why not bundle finalization, which Dataflow calls once a bundle is
// committed: in the Go SDK v2.77, exec.Plan.Finalize replaces the plan's
// finalizer while its DoFns keep the old one, so a plan runs the callbacks
// of the first bundle it finalizes and never requests finalization again
// (measured on prism: one acknowledgement, then none; the callbacks
// registered later accumulate unrun). Acknowledging on the committed
// restriction needs nothing from the SDK beyond the SDF contract.
//
// Zero tokens (batch pipelines) are ignored by every function.
package ack
