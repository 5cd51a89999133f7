package change

import (
	"context"
	"time"
)

// Checkpoint names a point of a change stream at a transaction boundary, in
// the source's own words: opening the stream from it resumes with the first
// change after it. It is text, so that it can be saved in a checkpoint file
// and given back with --from-position: "0/16B3748" (PostgreSQL LSN),
// "binlog.000003:1234" or a GTID set (MySQL), "orders:0@17,orders:1@4"
// (Kafka offsets). The empty checkpoint means "not yet anywhere".
type Checkpoint string

// Progress is what one Stream.Next returns: the changes of zero or more
// whole transactions, in commit order, and the checkpoint right after them.
// A Progress without changes reports that the source moved on without
// changing a captured table (a keepalive, or transactions of other tables):
// acknowledging its checkpoint lets the source release what it holds.
type Progress struct {
	// Batches holds the changes, each batch of one table; the order of the
	// batches and of the changes in each is commit order.
	Batches []Batch
	// Checkpoint is the stream's position after the last change of Batches
	// (or the keepalive point). Never empty; never behind an earlier one.
	Checkpoint Checkpoint
	// CommitTime is the commit time of the last transaction in Batches (zero
	// for a keepalive): now minus it is the stream's lag.
	CommitTime time.Time
	// DeadLetters holds the events the source received but could not decode
	// (Stage "decode", with the source position and the reason); they are
	// covered by Checkpoint like the changes.
	DeadLetters []DeadLetter
	// LagBytes is how far the source's head is ahead of Checkpoint, in the
	// source's unit (WAL or binlog bytes; Kafka: messages), or -1 when the
	// source cannot tell.
	LagBytes int64
}

// Stream is an open change stream of a source. One goroutine calls Next;
// Ack and Close may be called from others.
//
// Positions: every change carries a Position that is greater than the
// Position of every earlier change of the same key, and greater than the
// position of a snapshot the stream was opened after (so that a sink's
// version guard never drops a change as older than the snapshot row it
// follows). Each source documents how it builds them.
type Stream interface {
	// Next blocks until the source has changes or progress to report, ctx
	// ends (ctx.Err() is returned) or the stream fails. An error is final
	// for this Stream: the caller closes it and opens a new one from the
	// last acknowledged checkpoint.
	Next(ctx context.Context) (Progress, error)
	// Ack tells the source that every change up to cp has been written by
	// every sink, so it may release them for good: advance the replication
	// slot, commit the consumer offsets. Checkpoints are acknowledged in
	// order; acknowledging an older one than before is a no-op. Ack must not
	// block on Next.
	Ack(ctx context.Context, cp Checkpoint) error
	// Close ends the stream and releases its connections. It does not
	// acknowledge anything.
	Close() error
}
