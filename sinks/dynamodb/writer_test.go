package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

func TestSameBatchTwiceGivesSameItems(t *testing.T) {
	ep := dynalite(t)
	for _, firstLoad := range []string{FirstLoadAuto, FirstLoadNever} {
		t.Run(firstLoad, func(t *testing.T) {
			cfg := testConfig(ep, uniqueTable(t, ep, "replay"))
			cfg.FirstLoad = firstLoad
			var batch []change.Record
			for i := range int64(60) {
				batch = append(batch, order(i, change.Position(100+i), fmt.Sprintf("n%d", i)))
			}
			c := testClient(t, ep)

			w, _ := newWriter(t, cfg, ordersView)
			addAll(t, w, batch...)
			first := scanAll(t, c, cfg.Table)
			if s := w.Stats(); len(first) != 60 || s.Written != 60 {
				t.Fatalf("first write: %d items, stats %+v", len(first), s)
			}

			w2, _ := newWriter(t, cfg, ordersView)
			addAll(t, w2, batch...)
			if !reflect.DeepEqual(scanAll(t, c, cfg.Table), first) {
				t.Error("writing the same batch again changed the items")
			}
			if s := w2.Stats(); s.Written != 0 || s.SkippedOlder != 60 {
				t.Errorf("replay stats %+v, want 0 written and 60 skipped", s)
			}
		})
	}
}

func TestNewerThenOlderKeepsNewer(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "order"))
	c := testClient(t, ep)
	w, _ := newWriter(t, cfg, ordersView)

	addAll(t, w, order(1, 10, "new"))
	addAll(t, w, order(1, 5, "old")) // a later flush, an older version
	// In one buffer: the newest of a key wins whatever the order.
	addAll(t, w, order(2, 7, "new"), order(2, 3, "old"), order(3, 3, "old"), order(3, 8, "new"))

	items := scanAll(t, c, cfg.Table)
	for _, id := range []string{"1", "2", "3"} {
		if got := attrText(items[id]["name"]); got != "new" {
			t.Errorf("id %s: name %q, want the newer %q", id, got, "new")
		}
	}
	if got := attrText(items["1"]["_version"]); got != "10" {
		t.Errorf("id 1: _version %s, want 10", got)
	}
	if s := w.Stats(); s.SkippedOlder != 3 || s.Written != 3 {
		t.Errorf("stats %+v, want 3 written and 3 skipped as older", s)
	}
}

func TestDeleteThenOlderUpdateStaysDeleted(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "tomb"))
	c := testClient(t, ep)
	w, _ := newWriter(t, cfg, ordersView)

	addAll(t, w, order(1, 5, "v5"), order(2, 5, "v5"))
	addAll(t, w, deleteOf(1, 10))
	addAll(t, w, order(1, 7, "late and older")) // redelivered after the delete
	addAll(t, w, deleteOf(3, 4))                // a delete of a key never written

	items := scanAll(t, c, cfg.Table)
	tomb := items["1"]
	if attrText(tomb["_deleted"]) != "true" || attrText(tomb["_version"]) != "10" {
		t.Fatalf("id 1 is %v, want a tombstone at version 10", tomb)
	}
	if _, ok := tomb["name"]; ok {
		t.Errorf("the tombstone kept the row's fields: %v", tomb)
	}
	exp, _ := strconv.ParseInt(attrText(tomb["_expires_at"]), 10, 64)
	if want := time.Now().Add(DefaultTombstoneTTL).Unix(); exp < want-60 || exp > want+60 {
		t.Errorf("_expires_at %d, want about %d (now + 7 days)", exp, want)
	}
	if attrText(items["3"]["_deleted"]) != "true" {
		t.Errorf("a delete of an unknown key leaves a tombstone, got %v", items["3"])
	}
	if attrText(items["2"]["name"]) != "v5" {
		t.Errorf("id 2 changed: %v", items["2"])
	}
	// An update newer than the delete brings the key back.
	addAll(t, w, order(1, 11, "reborn"))
	if it := getItem(t, c, cfg.Table, idKey("1")); attrText(it["name"]) != "reborn" || it["_deleted"] != nil {
		t.Errorf("after a newer update: %v", it)
	}
	if s := w.Stats(); s.Deleted != 2 || s.SkippedOlder != 1 || s.Written != 3 {
		t.Errorf("stats %+v", s)
	}
}

// Hard deletes leave no trace: an update older than the delete that arrives
// later is written and the row comes back (see the package comment).
func TestHardDeleteLetsALateOlderUpdateBack(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "hard"))
	cfg.Deletes = DeletesHard
	c := testClient(t, ep)
	w, _ := newWriter(t, cfg, ordersView)

	addAll(t, w, order(1, 5, "v5"), order(2, 5, "v5"))
	addAll(t, w, deleteOf(1, 10), deleteOf(2, 3)) // 2: the delete is older than the row
	items := scanAll(t, c, cfg.Table)
	if _, ok := items["1"]; ok {
		t.Errorf("id 1 still present after a hard delete: %v", items["1"])
	}
	if attrText(items["2"]["name"]) != "v5" {
		t.Errorf("an older delete removed id 2: %v", items["2"])
	}
	addAll(t, w, order(1, 7, "resurrected"))
	if it := getItem(t, c, cfg.Table, idKey("1")); attrText(it["name"]) != "resurrected" {
		t.Errorf("hard mode: want the late older update written (documented), got %v", it)
	}
	if s := w.Stats(); s.Deleted != 1 || s.SkippedOlder != 1 {
		t.Errorf("stats %+v, want 1 deleted and 1 skipped", s)
	}
}

func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	ep := dynalite(t)
	proxy := testenv.NewFaultProxy(t, ep, 4, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if n%8 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected throttling"}`)
	})
	c := testClient(t, ep)
	for _, firstLoad := range []string{FirstLoadAuto, FirstLoadNever} {
		t.Run(firstLoad, func(t *testing.T) {
			cfg := testConfig(proxy.URL, uniqueTable(t, ep, "faults"))
			cfg.FirstLoad = firstLoad
			cfg.Concurrency = 4
			w, dead := newWriter(t, cfg, ordersView)
			before := proxy.Faults()
			var recs []change.Record
			for i := range int64(300) {
				recs = append(recs, order(i, 1, "x"))
			}
			addAll(t, w, recs...)
			if n := len(scanAll(t, c, cfg.Table)); n != 300 {
				t.Errorf("%d items, want 300", n)
			}
			s := w.Stats()
			if s.Retried == 0 || proxy.Faults() == before || s.Written != 300 || len(*dead) != 0 {
				t.Errorf("stats %+v, %d faults injected, %d dead letters", s, proxy.Faults()-before, len(*dead))
			}
		})
	}
}

func TestExhaustedRetriesFailTheFlushAndKeepRecords(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "exhaust"))
	w, _ := newWriter(t, cfg, ordersView)
	// From now on every request is throttled.
	proxy := testenv.NewFaultProxy(t, ep, 1, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`)
	})
	w.api = testClient(t, proxy.URL)
	w.cfg.Retry.Attempts = 3
	ctx := context.Background()
	if err := w.Add(ctx, order(1, 1, "x")); err != nil {
		t.Fatal(err)
	}
	err := w.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "retries exhausted") {
		t.Fatalf("Flush = %v, want exhausted retries", err)
	}
	if len(w.buf) != 1 {
		t.Fatalf("%d records buffered after the failure, want 1", len(w.buf))
	}
	w.api = testClient(t, ep) // the throttling ends
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Written != 1 || s.Retried < 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestRejectedRowsAreDeadLettered(t *testing.T) {
	ep := dynalite(t)
	for _, firstLoad := range []string{FirstLoadAuto, FirstLoadNever} {
		t.Run(firstLoad, func(t *testing.T) {
			cfg := testConfig(ep, uniqueTable(t, ep, "dead"))
			cfg.FirstLoad = firstLoad
			c := testClient(t, ep)
			w, dead := newWriter(t, cfg, ordersView)
			var recs []change.Record
			for i := range int64(20) {
				recs = append(recs, order(i, 3, "ok"))
			}
			recs[5] = order(5, 3, strings.Repeat("x", 500*1024))
			recs[6].SourcePos = "binlog.000001:42"
			// Over 38 significant digits: only the server knows.
			recs[6].Doc.Values[2] = change.Decimal("1234567890123456789012345678901234567890")
			addAll(t, w, recs...)

			items := scanAll(t, c, cfg.Table)
			if len(items) != 18 {
				t.Errorf("%d items written, want 18", len(items))
			}
			if len(*dead) != 2 {
				t.Fatalf("%d dead letters, want 2: %+v", len(*dead), *dead)
			}
			byKey := map[string]change.DeadLetter{}
			for _, d := range *dead {
				byKey[string(d.Key)] = d
			}
			big := byKey["[5]"]
			if !strings.HasPrefix(big.Reason, "item is ") || !strings.HasSuffix(big.Reason, " bytes, over DynamoDB's 400 KB limit") {
				t.Errorf("reason %q", big.Reason)
			}
			if big.Stage != change.StageWrite || big.Sink != "ddb" || big.View != "orders" || big.Position != 3 ||
				big.SourcePos != "test@3" || !strings.Contains(string(big.Row), `"name":"xxx`) {
				t.Errorf("dead letter %+v", big)
			}
			num := byKey["[6]"]
			if !strings.Contains(num.Reason, "ValidationException") || num.SourcePos != "binlog.000001:42" {
				t.Errorf("server rejection dead letter: %+v", num)
			}
			t.Logf("server's reason: %s", num.Reason)
			if s := w.Stats(); s.DeadLettered != 2 || s.Written != 18 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestRejectedWithoutDeadLetterFunctionIsAnError(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "nodead"))
	w, err := NewWriter(context.Background(), cfg, ordersView)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Add(context.Background(), change.Record{Key: []any{nil}, Position: 1})
	if !errors.Is(err, ErrRejected) {
		t.Errorf("Add = %v, want ErrRejected", err)
	}
}

func TestFirstLoadUsesBatchWriteOnlyOnAnEmptyTable(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "first"))
	cfg.FlushRows = 40
	c := testClient(t, ep)

	api := &countingAPI{API: c}
	w, _ := newWriter(t, cfg, ordersView, WithClient(api))
	if !w.FirstLoad() {
		t.Fatal("a new table is not a first load")
	}
	var recs []change.Record
	for i := range int64(100) {
		recs = append(recs, order(i, 1, "snap"))
	}
	addAll(t, w, recs...)
	// Flushes of 40, 40 and 20 records: 2 + 2 + 1 requests of up to 25 items.
	if api.batchWrites.Load() != 5 || api.puts.Load() != 0 {
		t.Errorf("first load: %d BatchWriteItem, %d PutItem; want 5 and 0", api.batchWrites.Load(), api.puts.Load())
	}
	if it := getItem(t, c, cfg.Table, idKey("7")); attrText(it["_version"]) != "1" {
		t.Errorf("a batch-written item carries no version: %v", it)
	}
	// A key seen again ends the first load: from then on every write is
	// conditional, guarded by the versions the batch writes stored.
	addAll(t, w, order(7, 0, "older than the snapshot"))
	if w.FirstLoad() || api.puts.Load() != 1 {
		t.Errorf("after a repeated key: first load %v, %d PutItem", w.FirstLoad(), api.puts.Load())
	}
	if it := getItem(t, c, cfg.Table, idKey("7")); attrText(it["name"]) != "snap" {
		t.Errorf("the older record overwrote the first load: %v", it)
	}

	// A writer that starts on a non-empty table never batch-writes.
	api2 := &countingAPI{API: c}
	w2, _ := newWriter(t, cfg, ordersView, WithClient(api2))
	if w2.FirstLoad() {
		t.Fatal("a non-empty table is taken for a first load")
	}
	recs = recs[:0]
	for i := range int64(50) {
		recs = append(recs, order(1000+i, 2, "new"))
	}
	addAll(t, w2, recs...)
	if api2.batchWrites.Load() != 0 || api2.puts.Load() != 50 {
		t.Errorf("non-empty table: %d BatchWriteItem, %d PutItem; want 0 and 50", api2.batchWrites.Load(), api2.puts.Load())
	}

	// A batch with two records of one key, or with a delete, is written
	// conditionally.
	for name, extra := range map[string]change.Record{"repeat": order(1, 9, "again"), "delete": deleteOf(2, 9)} {
		cfg := testConfig(ep, uniqueTable(t, ep, "first_"+name))
		api := &countingAPI{API: c}
		w, _ := newWriter(t, cfg, ordersView, WithClient(api))
		addAll(t, w, order(1, 5, "a"), order(2, 5, "b"), extra)
		if api.batchWrites.Load() != 0 || w.FirstLoad() {
			t.Errorf("%s: %d BatchWriteItem, first load %v; want conditional writes", name, api.batchWrites.Load(), w.FirstLoad())
		}
	}
}

func TestCompositeAndSortKeys(t *testing.T) {
	ep := dynalite(t)
	c := testClient(t, ep)
	two := change.ViewSchema{Name: "lines", Key: []string{"order_id", "line"},
		Fields: []change.Field{{Name: "order_id", Kind: change.KindString}, {Name: "line", Kind: change.KindInt}, {Name: "qty", Kind: change.KindInt}}}
	three := change.ViewSchema{Name: "cells", Key: []string{"a", "b", "c"},
		Fields: []change.Field{{Name: "a", Kind: change.KindInt}, {Name: "b", Kind: change.KindString}, {Name: "c", Kind: change.KindInt}}}

	cfg := testConfig(ep, uniqueTable(t, ep, "two"))
	w, _ := newWriter(t, cfg, two)
	doc := &change.Doc{Names: []string{"order_id", "line", "qty"}, Values: []any{"o-1", int64(2), int64(5)}}
	addAll(t, w, change.Record{Key: []any{"o-1", int64(2)}, Position: 1, Doc: doc})
	it := getItem(t, c, cfg.Table, map[string]types.AttributeValue{
		"order_id": &types.AttributeValueMemberS{Value: "o-1"}, "line": &types.AttributeValueMemberN{Value: "2"}})
	if attrText(it["qty"]) != "5" {
		t.Errorf("partition + sort key item: %v", it)
	}

	cfg = testConfig(ep, uniqueTable(t, ep, "three"))
	w, _ = newWriter(t, cfg, three)
	doc = &change.Doc{Names: []string{"a", "b", "c"}, Values: []any{int64(1), "x", int64(3)}}
	addAll(t, w, change.Record{Key: []any{int64(1), "x", int64(3)}, Position: 1, Doc: doc})
	it = getItem(t, c, cfg.Table, map[string]types.AttributeValue{"_key": &types.AttributeValueMemberS{Value: `[1,"x",3]`}})
	if attrText(it["b"]) != "x" {
		t.Errorf("composite key item: %v", it)
	}

	// An existing table with another key is refused.
	cfg.Table = w.Table()
	if _, err := NewWriter(context.Background(), cfg, two); err == nil || !strings.Contains(err.Error(), "needs key") {
		t.Errorf("NewWriter on a table with another key: %v", err)
	}
}

func TestMissingTableWithoutCreateTables(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "missing"))
	no := false
	cfg.CreateTables = &no
	_, err := NewWriter(context.Background(), cfg, ordersView)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("NewWriter = %v, want a missing-table error", err)
	}
}

// The delivery contract: whatever the order and however often records are
// delivered, each item ends equal to the newest record of its key, and a
// key whose newest record is a delete stays deleted.
func TestOutOfOrderReplayedDeliveryConverges(t *testing.T) {
	ep := dynalite(t)
	for _, firstLoad := range []string{FirstLoadAuto, FirstLoadNever} {
		t.Run(firstLoad, func(t *testing.T) {
			cfg := testConfig(ep, uniqueTable(t, ep, "converge"))
			cfg.FirstLoad = firstLoad
			cfg.FlushRows = 7
			rng := rand.New(rand.NewPCG(1, uint64(len(firstLoad))))
			newest := map[int64]change.Record{}
			var recs []change.Record
			for id := range int64(40) {
				pos := change.Position(0)
				for v := range 1 + rng.IntN(5) {
					pos += change.Position(1 + rng.IntN(10))
					r := order(id, pos, fmt.Sprintf("id%d v%d", id, v))
					if rng.IntN(4) == 0 {
						r = deleteOf(id, pos)
					}
					recs = append(recs, r)
					newest[id] = r
				}
			}
			// Replay a third of them, then shuffle everything.
			for i := range len(recs) / 3 {
				recs = append(recs, recs[i*3])
			}
			rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })

			w, dead := newWriter(t, cfg, ordersView)
			addAll(t, w, recs...)
			if len(*dead) > 0 {
				t.Fatalf("dead letters: %+v", *dead)
			}
			items := scanAll(t, testClient(t, ep), cfg.Table)
			for id, r := range newest {
				it := items[strconv.FormatInt(id, 10)]
				if attrText(it["_version"]) != r.Position.String() {
					t.Errorf("id %d: version %s, want %s", id, attrText(it["_version"]), r.Position)
				}
				if r.Delete != (attrText(it["_deleted"]) == "true") {
					t.Errorf("id %d: item %v, newest record deleted: %v", id, it, r.Delete)
				}
				if !r.Delete && attrText(it["name"]) != r.Doc.Values[1] {
					t.Errorf("id %d: name %s, want %s", id, attrText(it["name"]), r.Doc.Values[1])
				}
			}
			s := w.Stats()
			if s.Written+s.Deleted+s.SkippedOlder != int64(len(recs)) {
				t.Errorf("stats %+v do not add up to %d records", s, len(recs))
			}
		})
	}
}

func TestFlushInterval(t *testing.T) {
	ep := dynalite(t)
	cfg := testConfig(ep, uniqueTable(t, ep, "interval"))
	cfg.FlushInterval = 50 * time.Millisecond
	w, _ := newWriter(t, cfg, ordersView)
	ctx := context.Background()
	if err := w.Add(ctx, order(1, 1, "a")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := w.Add(ctx, order(2, 1, "b")); err != nil { // the buffer is due: both go
		t.Fatal(err)
	}
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Written != 2 || len(w.buf) != 0 {
		t.Errorf("after the interval: stats %+v, %d buffered", s, len(w.buf))
	}
}
