// Package kafka is beamsync's Kafka source: Debezium change events (Kafka
// Connect's JSON converter, with or without schemas) read from Kafka topics
// by a consumer group, with franz-go. It decodes them with package
// sources/debezium, the decoder the files source uses for its Debezium
// files, so an event means the same in a file and on a topic (see that
// package for the mapping: ops, tables, keys, positions, values, outbox
// routing).
//
// [Describe] returns the declared Config.Tables, or infers the tables from
// a sample of the topics (Config.Sample messages per partition from the
// earliest offsets, read by a plain client that joins no group and commits
// nothing). [OpenStream] opens a [change.Stream]; [StreamSpecJSON] and the
// "kafka" stream kind registered with transforms.RegisterStreamSource let a
// pipeline open it on a worker (a topic has no snapshot: the snapshot
// callback is ignored).
//
// # Where a stream starts
//
// Per partition: at the offset the checkpoint `from` names
// ("topic:partition@next~base.tie,..."; "~base.tie", the partition's
// position run after its last record, restores the ranking of equal
// positions, and a partition without it starts with none), even when the
// group committed another (the group's offsets carry no run: a stream
// resumed from them alone ranks a run of equal positions that spans the
// restart from tie 0 again);
// else at the group's committed offset; else at Config.Start ("earliest",
// the default, or "latest"), resolved to a number when the partition is
// assigned so that the checkpoint names every partition. Entries of `from`
// for topics no longer configured are dropped.
//
// # The records
//
//   - Position: source.lsn, else the MySQL binlog coordinates packed,
//     else the record's offset, with a tie that orders records of one
//     such position by offset within their partition (see package
//     sources/debezium, Positions; Debezium keys records by the table's
//     key, so the changes of one key share a partition).
//   - CommitTime: source.ts_ms, else ts_ms, else the record's timestamp.
//   - SourcePos: "topic/partition@offset".
//   - Key: the record key's fields (with or without its schema) when they
//     hold the table's key columns, else the row image's key columns.
//   - A truncate (op t) of a captured table fails Next, naming the table
//     and the record (Config.Truncate "fail", the default), or is counted
//     (runstats "truncates"), logged and skipped ("ignore"). Logical
//     decoding messages (op m) are skipped and counted (runstats
//     "messages").
//   - Tombstones (a nil or empty value), deletes of outbox rows, and events
//     of tables not given to OpenStream are skipped: nothing is emitted,
//     and the checkpoint moves past them.
//   - A record that cannot be decoded (malformed JSON, unknown op, a value
//     that does not fit its column, ...) is a dead letter: Stage "decode",
//     SourcePos "topic/partition@offset", Position the offset, Reason, and
//     Row the value when it is JSON, else the value as a JSON string.
//   - Columns an event has and the table has not (added after Describe, or
//     left out of a declared table) are dropped.
//
// # Invariants
//
//   - Next returns everything one poll returned: the changes of each
//     partition in offset order (partitions in topic and number order), in
//     batches of consecutive changes of one table of up to Config.BatchSize.
//     A poll whose records were all skipped still returns a Progress, so
//     acknowledgements move on.
//   - Progress.Checkpoint holds the next offset of every partition assigned
//     so far (and every partition `from` named), sorted by topic and
//     partition; it never goes back. LagBytes is the sum over partitions of
//     high watermark minus next offset, in messages (-1 before any fetch).
//   - Offsets are committed only by Ack, with exactly the checkpoint's
//     offsets (CommitOffsetsSync with explicit offsets, never the client's
//     poll position; autocommit is off, and nothing is committed on a
//     rebalance or on Close). The pipeline acknowledges a checkpoint only
//     once every sink wrote everything before it, so a committed offset
//     never overtakes an unwritten change. An older or equal checkpoint is
//     a no-op. Ack does not wait for Next.
//   - Rebalances are held while Next works on a poll
//     (kgo.BlockRebalanceOnPoll) and allowed before it returns, so nothing
//     polled is pending when partitions are revoked; the client drops what
//     it buffered for them, and a partition assigned again resumes at this
//     stream's next offset. One beamsync process per consumer group is the
//     supported setup: the checkpoint keeps naming revoked partitions, and
//     two processes would commit each other's partitions.
//   - Close leaves the group and closes the client; it may be called twice
//     and while Next blocks (Next then returns ErrClosed).
//   - The brokers are asked with Config.Timeout (default 10s) as dial and
//     request timeout: Describe and OpenStream fail with a clear error when
//     no broker answers or a topic does not exist.
package kafka
