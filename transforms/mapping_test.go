package transforms_test

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/transforms"
)

func TestMain(m *testing.M) { ptest.Main(m) }

var people = &change.Table{Schema: "public", Name: "people", Key: []int{0}, EstimatedRows: -1, Columns: []change.Column{
	{Name: "id", Type: "int8", Kind: change.KindInt},
	{Name: "name", Type: "text", Kind: change.KindString, Nullable: true},
	{Name: "age", Type: "text", Kind: change.KindString, Nullable: true},
}}

func row(op change.Op, id int64, name, age any, pos change.Position) change.Change {
	return change.Change{Op: op, Key: []any{id}, After: []any{id, name, age}, Position: pos, SourcePos: "test"}
}

// recordKeys flattens record batches into "view:key:op" strings.
func recordKeys(rb change.RecordBatch, emit func(string)) {
	for _, r := range rb.Records {
		op := "upsert"
		if r.Delete {
			op = "delete"
		}
		emit(rb.View + ":" + change.KeyString(r.Key) + ":" + op)
	}
}

func deadReasons(d change.DeadLetter, emit func(string)) {
	emit(d.View + ":" + string(d.Key) + ":" + d.Stage)
}

func init() {
	register.Function2x0(recordKeys)
	register.Function2x0(deadReasons)
	register.Emitter1[string]()
}

func TestMapRoutesRecordsFiltersAndDeadLetters(t *testing.T) {
	views := []transforms.View{
		{File: "adults.yaml", Table: people, Text: "view: adults\nsource: people\nkey: [id]\nwhere: int(age) >= 18\nfields:\n  id: id\n  name: upper(name)\n"},
		{File: "names.yaml", Table: people, Text: "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n"},
	}
	p, s := beam.NewPipelineWithRoot()
	in := beam.Create(s, change.Batch{Table: people, Changes: []change.Change{
		row(change.OpRead, 1, "ada", "36", 1),
		row(change.OpRead, 2, "kid", "9", 1),
		row(change.OpRead, 3, "bad", "n/a", 1),
	}})
	records, dead := transforms.Map(s, views, in)
	passert.Equals(s, beam.ParDo(s, recordKeys, records),
		"adults:1:upsert", "names:1:upsert", "names:2:upsert", "names:3:upsert")
	passert.Equals(s, beam.ParDo(s, deadReasons, dead), "adults:[3]:map")
	ptest.RunAndValidate(t, p)
}

func TestMapCarriesTheSchemaOfEveryTable(t *testing.T) {
	other := &change.Table{Name: "other", Key: []int{0}, Columns: []change.Column{{Name: "id", Kind: change.KindInt}}}
	views := []transforms.View{{File: "names.yaml", Table: people, Text: "view: names\nsource: people\nall_columns: true\n"}}
	p, s := beam.NewPipelineWithRoot()
	in := beam.Create(s,
		change.Batch{Table: other, Changes: []change.Change{{Op: change.OpRead, Key: []any{int64(9)}, After: []any{int64(9)}}}},
		change.Batch{Table: people, Changes: []change.Change{row(change.OpDelete, 5, nil, nil, 2)}})
	records, dead := transforms.Map(s, views, in)
	passert.Equals(s, beam.ParDo(s, recordKeys, records), "names:5:delete")
	passert.Empty(s, dead)
	ptest.RunAndValidate(t, p)
}
