package transforms_test

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/transforms"
)

// The people table after DDL: age dropped, city added.
var peopleNoAge = &change.Table{Schema: "public", Name: "people", Key: []int{0}, Columns: []change.Column{
	{Name: "id", Type: "int8", Kind: change.KindInt},
	{Name: "name", Type: "text", Kind: change.KindString, Nullable: true},
	{Name: "city", Type: "text", Kind: change.KindString, Nullable: true},
}}

// The people table after age became an integer.
var peopleIntAge = &change.Table{Schema: "public", Name: "people", Key: []int{0}, Columns: []change.Column{
	{Name: "id", Type: "int8", Kind: change.KindInt},
	{Name: "name", Type: "text", Kind: change.KindString, Nullable: true},
	{Name: "age", Type: "int4", Kind: change.KindInt, Nullable: true},
}}

func docs(rb change.RecordBatch, emit func(string)) {
	for _, r := range rb.Records {
		emit(rb.View + ":" + string(change.AppendJSON(nil, r.Doc)))
	}
}

func init() { beam.RegisterFunction(docs) }

func schemaBatches(s beam.Scope) beam.PCollection {
	return beam.Create(s,
		change.Batch{Table: people, Changes: []change.Change{row(change.OpRead, 1, "ada", "36", 1)}},
		change.Batch{Table: peopleNoAge, Changes: []change.Change{{Op: change.OpUpdate, Key: []any{int64(2)}, After: []any{int64(2), "bo", "Oslo"}, Position: 2}}},
	)
}

func TestSchemaChangeUnusedColumnsRecompile(t *testing.T) {
	views := []transforms.View{
		{File: "names.yaml", Table: people, Text: "view: names\nsource: people\nkey: [id]\nfields:\n  id: id\n  name: name\n"},
		{File: "all.yaml", Table: people, Text: "view: all\nsource: people\nall_columns: true\nexclude: [age]\n"},
	}
	p, s := beam.NewPipelineWithRoot()
	records, dead := transforms.Map(s, views, schemaBatches(s))
	passert.Equals(s, beam.ParDo(s, docs, records),
		`names:{"id":1,"name":"ada"}`, `names:{"id":2,"name":"bo"}`,
		// all_columns passes the added column through
		`all:{"id":1,"name":"ada"}`, `all:{"id":2,"name":"bo","city":"Oslo"}`)
	passert.Empty(s, dead)
	ptest.RunAndValidate(t, p)
}

func ageView(policy string) []transforms.View {
	return []transforms.View{{File: "ages.yaml", Table: people,
		Text: "view: ages\nsource: people\nkey: [id]\nschema_change: " + policy + "\nfields:\n  id: id\n  age: age\n"}}
}

func TestSchemaChangeNullReadsLostColumnsAsNull(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	in := beam.Create(s,
		change.Batch{Table: peopleNoAge, Changes: []change.Change{{Op: change.OpUpdate, Key: []any{int64(2)}, After: []any{int64(2), "bo", "Oslo"}, Position: 2}}},
		change.Batch{Table: peopleIntAge, Changes: []change.Change{{Op: change.OpUpdate, Key: []any{int64(3)}, After: []any{int64(3), "cy", int64(40)}, Position: 3}}},
	)
	records, dead := transforms.Map(s, ageView("null"), in)
	passert.Equals(s, beam.ParDo(s, docs, records), `ages:{"id":2,"age":null}`, `ages:{"id":3,"age":null}`)
	passert.Empty(s, dead)
	ptest.RunAndValidate(t, p)
}

func TestSchemaChangeDeadLetter(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	records, dead := transforms.Map(s, ageView("dead_letter"), schemaBatches(s))
	passert.Equals(s, beam.ParDo(s, docs, records), `ages:{"id":1,"age":"36"}`)
	passert.Equals(s, beam.ParDo(s, deadReasons, dead), "ages:[2]:map")
	ptest.RunAndValidate(t, p)
}

func TestSchemaChangeFailNamesTheColumn(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	transforms.Map(s, ageView("fail"), schemaBatches(s))
	err := ptest.Run(p)
	if err == nil {
		t.Fatal("a dropped column the mapping reads did not fail the pipeline")
	}
	for _, want := range []string{"table public.people changed under view ages", "age was dropped", "ages.yaml", "schema_change: dead_letter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
