// Package dynamodb is beamsync's DynamoDB sink: it keeps one table per view
// (a key-value read model) equal to the newest record of every key.
//
// [Write] is the Beam entry point; beneath it, a [Writer] writes the
// records of one view and can be driven without Beam. Delivery is at least
// once (Beam retries bundles, sources replay after a restart); every write
// is idempotent and guarded by the record's version, so that what a reader
// of the table sees is effectively exactly once.
//
// # Tables and items
//
// A view's table is named by Config.Table ("{view}" by default, with an
// optional table_prefix). With create_tables (the default) a missing table
// is created with on-demand billing and its key taken from the view key:
// one key field is the partition key, two are the partition and sort key,
// more become a string partition key "_key" holding change.KeyString of the
// key (the key fields stay in the item as ordinary attributes). Key fields
// of kind int, float or decimal are N, bytes B, anything else S. An
// existing table must have that key; its own attribute types are used.
//
// An item holds the view row's fields, the key attributes and the version
// attribute ("_version", the record's position). Values keep their meaning:
//
//	int64, uint64, Decimal       N with every digit (never through float64)
//	float64                      N (the shortest text that round-trips)
//	NaN, ±Inf                    S "NaN", "Infinity", "-Infinity": N cannot hold them
//	string, []byte, bool, nil    S, B, BOOL, NULL (empty strings and binaries allowed)
//	time.Time                    S, RFC 3339 with nanoseconds, in UTC; ±infinity "infinity", "-infinity"
//	Date, TimeOfDay, Interval    S, their text
//	JSON                         M/L/N/S/BOOL/NULL, parsed with exact numbers
//	[]any, *Doc, map[string]any  L, M, M
//
// Numbers DynamoDB cannot store (more than 38 significant digits, beyond
// ±1E+126 or closer to zero than 1E-130) are refused by the server and
// dead-lettered with its message, like any other item it refuses for good.
//
// # Invariants
//
//   - Version guard. Every upsert is a PutItem with the condition
//     "attribute_not_exists(#pk) OR #v < :v": it applies only to a new key
//     or over an older version. A refused condition means the table already
//     holds this or a newer version; it is counted in Stats.SkippedOlder and
//     is not an error. An equal version is skipped too: a replay is identical.
//     Of several records of one key in a writer's buffer, only the one with
//     the greatest position is sent, and a writer has at most one buffer in
//     flight (it fills the next one meanwhile), so it never sends two
//     versions of a key at the same time.
//   - Tombstones (deletes: tombstone, the default). A delete replaces the
//     item by a tombstone, under the same condition: the key attributes,
//     "_version", "_deleted": true and "_expires_at" (Unix seconds, now +
//     tombstone_ttl, 7 days by default). An older update that arrives after
//     the delete is refused by the guard, so the key stays deleted. Readers
//     must skip items with "_deleted". Tables the sink creates get TTL on
//     "_expires_at" so DynamoDB removes tombstones after the TTL; an update
//     older than the delete arriving after that would come back, so the TTL
//     must exceed the longest redelivery delay. (Local emulators without
//     UpdateTimeToLive, such as dynalite, keep tombstones.)
//   - Hard deletes (deletes: hard). A delete is a DeleteItem under the same
//     condition. The table keeps no trace of the delete, so an update older
//     than the delete that arrives later finds no item and is written: the
//     row comes back. Use it only where redelivery of older updates cannot
//     happen after a delete, or where that is acceptable.
//   - First load (first_load: auto, the default). When a writer starts on an
//     empty table (a consistent Scan with Limit 1 finds no item, tombstones
//     included), no older version of any key can be in the table, and in a
//     one-snapshot load every key comes once: writes need no guard, and the
//     writer uses BatchWriteItem (batch_rows items per request; the items
//     still carry "_version"; UnprocessedItems are resent under the retry
//     policy). The writer stops using it for good at the first delete or the
//     first key it sees twice (it remembers the keys it wrote, up to about
//     two million, and then stops too); from then on every write is
//     conditional, and the versions the batch writes stored guard them.
//     Limitation: "empty" is decided once per writer, at its start. Two
//     writers that start on the same empty table (two jobs, or snapshot and
//     change-stream workers of one streaming job) each think they first-load
//     it, and one could overwrite the other's newer version of a key. Batch
//     runs of one job are safe (each key comes once per snapshot); streaming
//     jobs and tables written by several jobs must set first_load: never.
//   - Failures. Items over 400 KB (counted as DynamoDB counts them) and items
//     the server refuses as invalid become change.DeadLetter values (stage
//     write, with the reason) and the rest is written. Throttling, server
//     errors, timeouts and broken connections (classified by type in one
//     function, classify) are retried per item under the one retry policy,
//     internal/retry; the SDK's own retryer is off. When retries are
//     exhausted the flush returns an error, the records stay buffered, and
//     in a pipeline the bundle fails and is retried, which the guard makes
//     harmless.
//
// # Full refresh
//
// DynamoDB has no table swap: a batch run upserts the rows of its snapshot
// and applies the deletes it sees, but a key that vanished from the source
// while no change stream was running stays in the table. Removing such keys
// (a sweep of items whose version is older than the run's snapshot) is left
// for later.
//
// # Credentials
//
// The AWS default credential chain is used (see [NewClient]). Static dummy
// credentials are used only when the endpoint is on this machine (dynalite,
// DynamoDB Local).
package dynamodb
