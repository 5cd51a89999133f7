package opensearch

import (
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func TestInfinityPolicy(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		rec := func(id int64, ts time.Time, dt change.Date) change.Record {
			return change.Record{Key: []any{id}, Position: change.Position(10 + id), SourcePos: "test",
				Doc: &change.Doc{Names: []string{"id", "ts", "dt", "tss"}, Values: []any{id, ts, dt, []any{ts}}}}
		}
		finite := time.Date(2024, 2, 29, 1, 2, 3, 4000, time.UTC)
		for _, c := range []struct {
			policy          string
			hi, lo          string // the stored sources; "" for a dead letter
			clamped, nulled int64
		}{
			{"", "", "", 0, 0},
			{InfinityClamp, `{"id":1,"ts":"9999-12-31T23:59:59.999999Z","dt":"9999-12-31","tss":["9999-12-31T23:59:59.999999Z"],"_beamsync_version":11}`,
				`{"id":2,"ts":"0001-01-01T00:00:00Z","dt":"0001-01-01","tss":["0001-01-01T00:00:00Z"],"_beamsync_version":12}`, 6, 0},
			{InfinityNull, `{"id":1,"ts":null,"dt":null,"tss":[null],"_beamsync_version":11}`,
				`{"id":2,"ts":null,"dt":null,"tss":[null],"_beamsync_version":12}`, 0, 6},
		} {
			cfg := tr.config()
			cfg.Infinity = c.policy
			view := change.ViewSchema{Name: tr.uniqueView(t, "inf"), Key: []string{"id"}, Fields: []change.Field{
				{Name: "id", Kind: change.KindInt}, {Name: "ts", Kind: change.KindTimestamp, Nullable: true},
				{Name: "dt", Kind: change.KindDate, Nullable: true},
				{Name: "tss", Kind: change.KindArray, Elem: change.KindTimestamp, Nullable: true}}}
			alias := ensure(t, cfg, view)
			var dl deadLetters
			w := newWriter(t, cfg, view, WithDeadLetter(dl.add))
			write(t, w, rec(1, change.TimestampInfinity, change.DateInfinity), rec(2, change.TimestampNegInfinity, change.DateNegInfinity),
				rec(3, finite, "2024-02-29"))
			st := w.Stats()
			if st.InfinityClamped != c.clamped || st.InfinityNulled != c.nulled {
				t.Errorf("policy %q: stats %+v", c.policy, st)
			}
			if c.hi == "" {
				got := dl.all()
				if len(got) != 2 || !strings.Contains(got[0].Reason, "infinity, which a date field cannot hold") {
					t.Errorf("policy %q: dead letters %+v", c.policy, got)
				}
				if n := tr.count(t, alias); n != 1 {
					t.Errorf("policy %q: %d documents, want the finite one", c.policy, n)
				}
				continue
			}
			docs := snapshot(t, tr, alias, 3)
			if docs["1"] != "v11 "+c.hi || docs["2"] != "v12 "+c.lo {
				t.Errorf("policy %q: documents\n%s\n%s\nwant\n%s\n%s", c.policy, docs["1"], docs["2"], c.hi, c.lo)
			}
		}
		if err := (Config{Addresses: []string{"http://x:9200"}, Infinity: "round"}).Validate(); err == nil || !strings.Contains(err.Error(), `"round"`) {
			t.Errorf("a bad policy: %v", err)
		}
	})
}
