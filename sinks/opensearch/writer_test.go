package opensearch

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func TestSameBatchTwiceSameState(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		cfg.BatchRows = 7
		view := simpleView(tr.uniqueView(t, "twice"))
		alias := ensure(t, cfg, view)
		var batch []change.Record
		for i := int64(1); i <= 40; i++ {
			batch = append(batch, row(i, uint64(100+i), fmt.Sprintf("n%d", i), i*3))
		}
		batch = append(batch, tomb(5, 500), tomb(41, 501))

		w1 := newWriter(t, cfg, view)
		write(t, w1, batch...)
		first := snapshot(t, tr, alias, 41)
		if st := w1.Stats(); st.Written != 40 || st.Deleted != 2 || st.SkippedOlder != 0 {
			t.Fatalf("first write stats = %+v", st)
		}

		w2 := newWriter(t, cfg, view)
		write(t, w2, batch...)
		if st := w2.Stats(); st.Written != 0 || st.Deleted != 0 || st.SkippedOlder != 42 {
			t.Fatalf("replay stats = %+v, want every record skipped as older", st)
		}
		if second := snapshot(t, tr, alias, 41); !reflect.DeepEqual(first, second) {
			t.Fatalf("state changed by the replay:\n%v\n%v", first, second)
		}
		if n := tr.count(t, alias); n != 39 {
			t.Fatalf("readers of %s see %d documents, want 39", alias, n)
		}
	})
}

// snapshot reads documents 1..n by id: source and version.
func snapshot(t *testing.T, tr *tier, alias string, n int) map[string]string {
	out := map[string]string{}
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		src, v, found := tr.get(t, alias, id)
		if found {
			out[id] = fmt.Sprintf("v%d %s", v, src)
		}
	}
	return out
}

func TestNewerThenOlderKeepsNewer(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		view := simpleView(tr.uniqueView(t, "order"))
		alias := ensure(t, cfg, view)
		w := newWriter(t, cfg, view)

		newer := row(1, 20, "newer", 2)
		write(t, w, newer)
		write(t, w, row(1, 10, "older", 1))
		// Out of order within one batch too.
		write(t, w, row(2, 31, "newest", 3), row(2, 30, "stale", 0), row(2, 31, "same version", 9))

		if src, v, _ := tr.get(t, alias, "1"); string(src) != docOf(newer) || v != 20 {
			t.Fatalf("doc 1 = v%d %s, want v20 %s", v, src, docOf(newer))
		}
		if src, v, _ := tr.get(t, alias, "2"); !strings.Contains(string(src), `"newest"`) || v != 31 {
			t.Fatalf("doc 2 = v%d %s, want the newest", v, src)
		}
		if st := w.Stats(); st.Written != 2 || st.SkippedOlder != 3 {
			t.Fatalf("stats = %+v, want 2 written, 3 skipped as older", st)
		}
	})
}

func TestDeleteThenOlderUpdateStaysDeleted(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		cfg.Settings = map[string]any{"index": map[string]any{"gc_deletes": "1s"}}
		view := simpleView(tr.uniqueView(t, "tomb"))
		alias := ensure(t, cfg, view)
		index := tr.aliasIndices(t, alias)[0]
		w := newWriter(t, cfg, view)

		write(t, w, row(1, 1, "alive", 1), row(2, 1, "other", 1))
		write(t, w, tomb(1, 10))
		write(t, w, row(1, 5, "late older update", 5))
		assertDeleted(t, tr, alias, index, "1", 10)

		// Long after OpenSearch forgot deleted versions, the tombstone (a
		// live document) still refuses the late update.
		tr.passGCDeletes(t, index, time.Second)
		write(t, w, row(1, 6, "later older update", 6))
		assertDeleted(t, tr, alias, index, "1", 10)
		if st := w.Stats(); st.Deleted != 1 || st.SkippedOlder != 2 || st.Written != 2 {
			t.Fatalf("stats = %+v", st)
		}

		// A newer version brings the key back.
		back := row(1, 12, "back", 12)
		write(t, w, back)
		if src, _, _ := tr.get(t, alias, "1"); string(src) != docOf(back) {
			t.Fatalf("doc 1 = %s, want %s", src, docOf(back))
		}
		if ids := tr.searchIDs(t, alias); len(ids) != 2 {
			t.Fatalf("readers see %v, want both keys", ids)
		}
	})
}

// assertDeleted checks that readers of the alias do not see a key, and
// that the index holds its tombstone at the delete's version.
func assertDeleted(t *testing.T, tr *tier, alias, index, id string, version int) {
	t.Helper()
	for _, got := range tr.searchIDs(t, alias) {
		if got == id {
			t.Fatalf("readers of %s still see %s", alias, id)
		}
	}
	src, v, found := tr.get(t, index, id)
	want := fmt.Sprintf(`{"_beamsync_deleted":true,"_beamsync_version":%d}`, version)
	if !found || string(src) != want || v != version {
		t.Fatalf("raw %s/%s = v%d %s (found %v), want the tombstone v%d %s", index, id, v, src, found, version, want)
	}
}

func TestHardDeletes(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		cfg.Deletes = DeletesHard // with the default index.gc_deletes (60s)
		view := simpleView(tr.uniqueView(t, "hard"))
		alias := ensure(t, cfg, view)
		index := tr.aliasIndices(t, alias)[0]
		w := newWriter(t, cfg, view)

		write(t, w, row(1, 1, "alive", 1))
		write(t, w, tomb(1, 10), tomb(2, 11)) // 2 never existed: not_found, still applied
		if _, _, found := tr.get(t, index, "1"); found {
			t.Fatal("document 1 still exists after a hard delete")
		}
		// Within gc_deletes OpenSearch remembers the delete's version.
		write(t, w, row(1, 5, "late older update", 5), row(2, 6, "late older insert", 6))
		if _, _, found := tr.get(t, index, "1"); found {
			t.Fatal("an older update resurrected document 1 within gc_deletes")
		}
		if st := w.Stats(); st.Deleted != 2 || st.SkippedOlder != 2 {
			t.Fatalf("stats = %+v", st)
		}
		if tr.srv == nil {
			return // when a real server prunes deleted versions is its own affair
		}
		// The documented hazard of hard deletes: once gc_deletes passed, the
		// version is forgotten and a late, older update resurrects the row.
		tr.passGCDeletes(t, index, time.Minute)
		write(t, w, row(1, 6, "resurrected", 6))
		if _, v, found := tr.get(t, index, "1"); !found || v != 6 {
			t.Fatalf("after gc_deletes: found %v v%d, want the resurrected v6 (the hazard hard mode documents)", found, v)
		}
	})
}

func TestRejectedRowDeadLettered(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		view := simpleView(tr.uniqueView(t, "dead"))
		alias := ensure(t, cfg, view)
		var dl deadLetters
		w := newWriter(t, cfg, view, WithDeadLetter(dl.add), WithSinkName("search"))

		bad := row(2, 7, "bad", "not a number")
		longKey := change.Record{Key: []any{strings.Repeat("k", 513)}, Position: 8, Doc: &change.Doc{}}
		hugePos := row(4, 1<<63, "huge position", 1)
		write(t, w, row(1, 5, "ok", 1), bad, row(3, 6, "ok too", 3), longKey, hugePos)

		if n := tr.count(t, alias); n != 2 {
			t.Fatalf("readers see %d documents, want the 2 good ones", n)
		}
		st := w.Stats()
		if st.Written != 2 || st.DeadLettered != 3 {
			t.Fatalf("stats = %+v, want 2 written and 3 dead letters", st)
		}
		got := dl.all()
		if len(got) != 3 {
			t.Fatalf("dead letters = %+v", got)
		}
		byKey := map[string]change.DeadLetter{}
		for _, d := range got {
			byKey[string(d.Key)] = d
		}
		d := byKey["[2]"]
		want := change.DeadLetter{View: view.Name, Sink: "search", Stage: change.StageWrite, Key: change.JSON("[2]"),
			Position: 7, SourcePos: "test:7", Row: change.JSON(change.AppendJSON(nil, bad.Doc))}
		reason := d.Reason
		d.Reason = ""
		if !reflect.DeepEqual(d, want) {
			t.Fatalf("dead letter = %+v\nwant %+v", d, want)
		}
		for _, part := range []string{"mapper_parsing_exception", "failed to parse field [qty] of type [long] in document with id '2'"} {
			if !strings.Contains(reason, part) {
				t.Errorf("reason %q lacks the server's %q", reason, part)
			}
		}
		if r := byKey[`["`+strings.Repeat("k", 513)+`"]`].Reason; !strings.Contains(r, "513 bytes") {
			t.Errorf("long key reason = %q", r)
		}
		if r := byKey["[4]"].Reason; !strings.Contains(r, "largest version") {
			t.Errorf("huge position reason = %q", r)
		}
	})
}

func TestRejectedRowWithoutDeadLetterOutputFails(t *testing.T) {
	srvTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		view := simpleView(tr.uniqueView(t, "nodl"))
		ensure(t, cfg, view)
		w := newWriter(t, cfg, view)
		ctx := context.Background()
		if err := w.Add(ctx, row(1, 1, "bad", true)); err != nil {
			t.Fatal(err)
		}
		err := w.Flush(ctx)
		if err == nil || !strings.Contains(err.Error(), "WithDeadLetter") || !strings.Contains(err.Error(), "mapper_parsing_exception") {
			t.Fatalf("Flush = %v, want the rejection with a hint at WithDeadLetter", err)
		}
		if err := w.Add(ctx, row(2, 2, "good", 1)); err == nil {
			t.Fatal("a failed writer accepted more records")
		}
	})
}

// srvTier runs a test on the ostest tier only: for what a real server
// cannot be made to do.
func srvTier(t *testing.T, fn func(t *testing.T, tr *tier)) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		if tr.srv == nil {
			return
		}
		fn(t, tr)
	})
}

func TestBatchesByRowsAndBytes(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		cfg := tr.config()
		cfg.BatchRows, cfg.BatchBytes, cfg.Concurrency = 10, 600, 1
		view := simpleView(tr.uniqueView(t, "batch"))
		alias := ensure(t, cfg, view)
		w := newWriter(t, cfg, view)
		var recs []change.Record
		for i := int64(10); i < 35; i++ { // equal sizes: two-digit ids
			recs = append(recs, row(i, 1, strings.Repeat("x", 40), 1))
		}
		body, _, _ := bulkEncoder{}.append(nil, &recs[0])
		perBatch := 600 / len(body)
		write(t, w, recs...)
		st := w.Stats()
		if want := (25 + perBatch - 1) / perBatch; st.Batches != int64(want) || st.Written != 25 {
			t.Fatalf("stats = %+v, want 25 records in %d batches of %d (%d bytes each)", st, want, perBatch, len(body))
		}
		if st.Bytes != int64(25*len(body)) {
			t.Fatalf("%d bytes sent, want %d", st.Bytes, 25*len(body))
		}
		if n := tr.count(t, alias); n != 25 {
			t.Fatalf("count = %d", n)
		}
	})
}

func TestWriterNeedsItsIndex(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		view := simpleView(tr.uniqueView(t, "none"))
		_, err := NewWriter(context.Background(), tr.config(), view)
		if err == nil || !strings.Contains(err.Error(), "EnsureIndex") {
			t.Fatalf("NewWriter = %v, want an error naming EnsureIndex", err)
		}
	})
}
