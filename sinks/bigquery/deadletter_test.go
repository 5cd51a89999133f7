package bigquery

import (
	"math"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func TestRejectedRowsAreDeadLetteredAndTheRestWritten(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, mode)
			schema := change.ViewSchema{Name: "items", Key: []string{"id"}, Fields: []change.Field{
				{Name: "id", Kind: change.KindInt},
				{Name: "customer", Kind: change.KindString},
				{Name: "made", Kind: change.KindDate, Nullable: true},
				{Name: "tags", Kind: change.KindArray, Elem: change.KindString, Nullable: true},
				{Name: "qty", Kind: change.KindInt, Nullable: true},
			}}
			row := func(id int64, made any, tags any, qty any) change.Record {
				return change.Record{Key: []any{id}, Position: change.Position(100 + id), SourcePos: "src",
					Doc: &change.Doc{Names: []string{"id", "customer", "made", "tags", "qty"}, Values: []any{id, "c", made, tags, qty}}}
			}
			var records []change.Record
			for i := int64(1); i <= 20; i++ {
				records = append(records, row(i, change.Date("2024-01-01"), []any{"a", "b"}, int64(i)))
			}
			records[6] = row(7, change.Date("someday"), nil, nil)   // refused by BigQuery
			records[12] = row(13, nil, []any{"a", nil}, nil)        // a null in an array
			records[17] = row(18, nil, nil, uint64(math.MaxUint64)) // beyond INT64
			var dead []change.DeadLetter
			ws, _ := runOnce(t, cfg, schema, records, WithSinkName("bq"), WithDeadLetter(func(d change.DeadLetter) { dead = append(dead, d) }))
			rows := viewRows(t, cfg, "items")
			if len(rows) != 17 {
				t.Errorf("view has %d rows, want the 17 good ones", len(rows))
			}
			for _, id := range []string{"7", "13", "18"} {
				if _, ok := rows[id]; ok {
					t.Errorf("refused row %s is in the view", id)
				}
			}
			if ws.DeadLettered != 3 || len(dead) != 3 {
				t.Fatalf("dead letters: %d (stats %d), want 3: %+v", len(dead), ws.DeadLettered, dead)
			}
			byKey := map[string]change.DeadLetter{}
			for _, d := range dead {
				byKey[string(d.Key)] = d
				if d.Stage != change.StageWrite || d.Sink != "bq" || d.View != "items" || d.SourcePos != "src" || len(d.Row) == 0 {
					t.Errorf("dead letter lacks its context: %+v", d)
				}
			}
			for key, want := range map[string]string{
				"[7]":  "BigQuery refused the row: ",
				"[13]": "element 1 is null",
				"[18]": "above INT64's maximum",
			} {
				d, ok := byKey[key]
				if !ok || !strings.Contains(d.Reason, want) {
					t.Errorf("dead letter of key %s: %q, want a reason with %q", key, d.Reason, want)
				}
				if key == "[7]" && (d.Position != 107 || !strings.Contains(string(d.Row), "someday")) {
					t.Errorf("dead letter of key 7: %+v", d)
				}
				t.Logf("%s: %s", key, d.Reason)
			}
		})
	}
}
