// Package files is beamsync's file source (the demo's embedded source): it
// reads JSON-lines snapshots and Debezium change events from files and emits
// change.Batches. It is plain Go; the Beam wrappers call [Describe] once and
// [Read] to stream.
//
// Config.Path names one file or a glob; the files are read in sorted order as
// one sequence. A missing file, a glob matching nothing or a directory is an
// error naming the path. Blank lines are skipped (they still count in line
// numbers).
//
// # Format "jsonl"
//
// Each line is one row object; every row becomes a change with op r
// (snapshot read) of the one table (Config.Table, default the first file's
// name without extension) keyed by Config.Key.
//
//   - Position: the line number across the sorted files, 1-based.
//   - SourcePos: "file.jsonl:LINE", LINE the line within its file.
//   - CommitTime: the file's modification time, in UTC.
//   - Columns are those of the rows, in order of first appearance; a column
//     absent from a row is NULL there (and the column nullable).
//
// # Format "debezium"
//
// Each line is a Debezium change event as the Kafka Connect JSON converter
// writes it: the bare payload {"op", "before", "after", "source", "ts_ms"},
// the payload with its schema {"schema": ..., "payload": ...}, or a record
// pair {"key": ..., "value": ...} whose parts have either shape. A tombstone
// (a null line, or a pair whose value is null or empty) is skipped.
//
//   - Op: c, u, d or r. A truncate (op t) of a table fails Read, naming
//     the table and the line (Config.Truncate "fail", the default), or is
//     counted (runstats "truncates"), logged and skipped ("ignore"); a
//     logical decoding message (op m) is skipped and counted (runstats
//     "messages"). Any other op is a dead letter.
//   - Table: source.db, source.schema and source.table (Table.Database,
//     Schema, Name), unless Config.Table names one table for all events.
//   - Key: the event's key part (its fields, in order, name the key
//     columns), else the row image's Config.Key columns.
//   - Position: source.lsn, else the MySQL binlog file and offset, else
//     the line number across the files, then the arrival order of events
//     of one such position within the files (see Positions in package
//     sources/debezium): of two events of a key stamped alike, the later
//     line wins.
//   - CommitTime: source.ts_ms, else ts_ms, else the file's time.
//   - SourcePos: "file.jsonl:LINE" (the coordinate of this source).
//   - Before: for a delete with only a key part, the key columns (the other
//     columns Unchanged). A column missing from an image is Unchanged (in an
//     update's after image and in before images) or NULL (creates, reads);
//     Debezium's "__debezium_unavailable_value" placeholder is Unchanged.
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
// Describe reads the files through. A column's kind is the kind of its
// values; when numbers of several kinds meet, the column is float (decimal
// if any value is a decimal, or an integer beyond ±2^53 meets a float), and
// Read converts the column's numbers to that kind exactly (a decimal column
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
// # Outbox
//
// With Config.Outbox (format debezium only, and not with Config.Table), the
// events of a transactional-outbox table are routed to the tables named by
// their aggregate types, keyed by the aggregate id, with the payload as the
// row; Describe infers those tables from the payloads. The rules are those
// of debezium.Outbox (package sources/debezium, which holds the decoder
// this package shares with the Kafka source).
//
// # Invariants
//
//   - Batches hold up to Config.BatchSize changes of one table, in file
//     order; emit and dead are called only from Read's goroutine.
//   - Nothing is dropped silently: a line that is not valid JSON, not an
//     object, not an event, has an unknown op, a create or update without
//     after, a delete without before or key, a null key, a value that does
//     not decode, or a column Describe did not see, becomes a dead letter
//     (Stage "decode", SourcePos "file:LINE", Position the line number,
//     Row the line, Reason naming the problem) and reading goes on.
//     Tombstones are the only lines skipped.
package files
