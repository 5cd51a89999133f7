// Package debezium decodes Debezium change events, as Kafka Connect's JSON
// converter writes them, into change.Changes; the files source (format
// debezium) and the Kafka source share it. It also infers the tables of a
// sequence of events ([Describer]) and routes the events of a
// transactional-outbox table ([Outbox]).
//
// A [Decoder] is built with the tables to decode for and [Options]; it
// returns [ErrSkip] for an event without a change, an [*UnknownTableError]
// for an event of a table it was not given (the caller decides: the files
// source dead-letters it, the Kafka source skips it), and else the table
// and the change, or the error that makes the event a dead letter. Below,
// "Config.Table" and "Config.Key" are Options.Table and the key the caller
// gives [Describer.Tables]; "the line" is the event's Meta.Seq (a file's
// line number, a Kafka offset) and "the file's time" its Meta.Time.
//
// # Events
//
// An event is a Debezium change event as the Kafka Connect JSON converter
// writes it (a line of a file, the value of a Kafka record): the bare
// payload {"op", "before", "after", "source", "ts_ms"},
// the payload with its schema {"schema": ..., "payload": ...}, or a record
// pair {"key": ..., "value": ...} whose parts have either shape. A tombstone
// (a null line, or a pair whose value is null or empty) is skipped.
//
//   - Op: c, u, d or r. A truncate (t) of a given table is a
//     [*TruncateError] (the caller applies its truncate policy:
//     TruncateFail stops the job naming the table, TruncateIgnore counts,
//     logs and skips it); a logical decoding message (m) is [ErrMessage]
//     (skipped and counted). Any other op is a dead letter.
//   - Table: source.db, source.schema and source.table (Table.Database,
//     Schema, Name; a table given with other fields but the same qualified
//     name, "schema.table" or "db.table", matches too), unless Config.Table
//     names one table for all events.
//   - Key: the event's key part (its fields, in order, name the key
//     columns), else the row image's Config.Key columns.
//   - Position: see Positions below.
//   - CommitTime: source.ts_ms, else ts_ms, else Meta.Time (the file's
//     time, the record's timestamp).
//   - SourcePos: Meta.SourcePos ("file.jsonl:LINE", "topic/partition@offset").
//   - Before: for a delete with only a key part, the key columns (the other
//     columns Unchanged). A column missing from an image is Unchanged (in an
//     update's after image and in before images) or NULL (creates, reads);
//     Debezium's "__debezium_unavailable_value" placeholder is Unchanged.
//
// # Positions
//
// A change's Position is base<<12 | tie. The base position is source.lsn
// when present (PostgreSQL; below 2^52), else the MySQL binlog coordinates
// seq<<32 | pos, where seq is the number after source.file's last dot
// ("mysql-bin.000003" → 3; below 2^20) and pos the byte offset of the event
// in the file (below 2^32), else Meta.Seq (the line number across the
// files, the offset). An event whose base position does not fit is a dead
// letter.
//
// The tie orders events of one base position by arrival within their
// stream (Meta.Stream: the files of a files source, read in order, are one
// stream; each Kafka partition is one): an event whose base position equals
// the previous event's of the stream gets that event's tie plus one, any
// other event 0; a binlog event's source.row is its least tie. Ties
// saturate at 4095. So the order of the changes of a key is a total order
// (base position, then arrival), and the later of two changes Debezium
// stamped alike (its documented create and update examples share an lsn)
// wins in every sink. Events of one base position that are not consecutive
// in their stream (a duplicate re-published later) rank with tie 0 again.
//
// The order state of a stream (its last base position and tie, [Run]) is
// part of the Kafka source's checkpoint, so a stream resumed from its
// checkpoint goes on ranking as before ([Decoder.SetRun]).
//
// # Values
//
// With a schema, values follow its types: int8-64 → int64, float/double →
// float64 (NaN and infinities kept), boolean, string, bytes (base64) →
// []byte, struct → *change.Doc, array → []any, map → map[string]any;
// org.apache.kafka.connect.data.Decimal (base64 unscaled bytes + scale) and
// io.debezium.data.VariableScaleDecimal → change.Decimal; Date (days) →
// change.Date; Time, MicroTime, NanoTime, ZonedTime → change.TimeOfDay
// (a negative MySQL TIME keeps its sign, "-00:00:01"; beyond a day,
// "838:59:59"); Timestamp (ms), MicroTimestamp, NanoTimestamp,
// ZonedTimestamp → time.Time in UTC (zone offsets in seconds, as Java
// writes historical ones, "+00:19:32", included); io.debezium.time.IsoDate
// ("2017-09-15Z") → change.Date("2017-09-15"), IsoTime → change.TimeOfDay
// (zone kept, Z as +00:00), IsoTimestamp → time.Time in UTC;
// io.debezium.data.Bits → the bit string, most significant bit first
// (BIT(10) b'1000000011' → "1000000011", the length parameter's bits, a
// string column); MicroDuration, Interval → change.Interval;
// io.debezium.data.Json → change.JSON. Without a schema, values are plain
// JSON values (below).
//
// # Plain JSON values and kinds
//
// null → nil, true/false → bool, strings → string (kept as written: a
// timestamp in a string stays a string, its zone included), objects and
// arrays → change.JSON (compacted). Numbers are kept exactly
// (json.Decoder.UseNumber): an integer is int64 (uint64 beyond MaxInt64,
// change.Decimal beyond that); any other number is float64 when it has at
// most 15 significant digits, else change.Decimal.
//
// A Describer sees every event it is given. A column's kind is the kind of its
// values; when numbers of several kinds meet, the column is float (decimal
// if any value is a decimal, or an integer beyond ±2^53 meets a float), and
// the Decoder converts the column's numbers to that kind exactly (a decimal column
// keeps each number's text: 10.50 stays "10.50"). Any other mix is KindAny,
// its values as decoded. Where a schema gives a column a kind, plain values
// written as that schema writes its values (an ISO string for a
// ZonedTimestamp, an integer for a MicroTimestamp, base64 text or a number
// for a Decimal) are of the schema's kind, and the Decoder decodes them by
// the column's schema (the last an event gave it: a decimal's scale; else
// its logical type, Column.Type), so a column has one type whether an
// event carries the schema part or not. Other plain kinds merge with the
// schema's as above. Column.Type is the schema's type (its logical
// name when it has one), else the kind's name.
//
// With Options.IgnoreUnknownColumns (the Kafka source) a column the table
// does not have is dropped rather than failing the event (a column added
// after the table was described, or left out of a declared table); with
// Options.KeyFromImage a key part that lacks a key column is passed over
// and the key taken from the row image.
//
// A Kafka record's key is its event's key part when it is a JSON object
// (with or without its schema); any other key (a plain string) is ignored.
//
// # Outbox routing
//
// With Options.Outbox, the events of the outbox table (Outbox.Table, matched
// against "schema.table", "db.table", "db.schema.table" or the bare table
// name; empty: every event) are not changes of that table but events to
// route:
//
//   - A delete of an outbox row (its clean-up) is skipped (ErrSkip). A
//     create, read or update routes its after image, the outbox row.
//   - The row's AggregateType column (a string, required) names the table
//     the event belongs to (change.Table.Name, matched against the tables'
//     qualified names); an aggregate type of a table not given is an
//     *UnknownTableError.
//   - The AggregateID column (required) is the key. A routed table has
//     exactly one key column; inferred tables name it like the AggregateID
//     column. The id is converted to the key column's kind (text "17" to an
//     int column, a number to a string column or to a column of any kind,
//     so that the ids 17 and "17" are one key), or the event is a dead
//     letter. An inferred aggregate-id column whose ids are text and
//     numbers is a string column.
//   - Payload holds the row: a JSON object, or a string holding one (null
//     or absent: no payload). Its members are decoded as plain JSON values
//     for the table's columns; the key column is set to the aggregate id.
//   - An event whose Type column value is one of DeleteTypes is a delete
//     (op d) of the key; its before image is the payload when there is one
//     (absent columns Unchanged), else the key alone.
//   - Any other event is an upsert with op u (so that a row that stops
//     matching a view's where leaves it) and no before image; payload
//     members it lacks are NULL (the payload is the aggregate's state).
//     Without a payload it is a dead letter.
//   - Position, CommitTime and SourcePos are the outbox event's, so a later
//     event of an aggregate has a greater position.
//
// A [Describer] infers a routed table from the payloads: the aggregate-id
// column first (the kind of the ids, or of their schema), then the payload
// members in order of first appearance, each nullable when absent from
// some payload.
package debezium
