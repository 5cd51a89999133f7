package bigquery

import (
	"strings"
	"testing"

	bqv2 "google.golang.org/api/bigquery/v2"

	"github.com/beamsync/beamsync/change"
)

func TestLayoutMapsEveryKind(t *testing.T) {
	l, err := layoutOf(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id": "INT64", "i": "INT64", "d": "BIGNUMERIC", "f": "FLOAT64", "s": "STRING", "b": "BYTES", "bo": "BOOL",
		"ts": "TIMESTAMP", "dt": "DATE", "tm": "TIME", "iv": "STRING", "j": "JSON", "a": "ARRAY<INT64>",
		"sa": "ARRAY<STRING>", "mixed": "JSON", "st": "STRUCT<`x` INT64, `y` STRING, `z` STRUCT<`q` BOOL>>", "anything": "JSON",
	}
	for _, c := range l.Columns {
		if got := c.ddl(); got != want[c.Name] {
			t.Errorf("column %s: %s, want %s", c.Name, got, want[c.Name])
		}
	}
	if got := names(l.viewColumns()); got[len(got)-1] != VersionColumn {
		t.Errorf("view columns end with %s, want %s", got[len(got)-1], VersionColumn)
	}
	if got := names(l.changeColumns()); got[len(got)-1] != DeletedColumn {
		t.Errorf("change columns end with %s, want %s", got[len(got)-1], DeletedColumn)
	}
	if got := strings.Join(names(l.tombstoneColumns()), ","); got != "id,_beamsync_version,_beamsync_deleted_at" {
		t.Errorf("tombstone columns: %s", got)
	}
}

func TestLayoutRefusesWhatBigQueryCannotHold(t *testing.T) {
	v := change.ViewSchema{Name: "v", Key: []string{"f", "missing"}, Fields: []change.Field{
		{Name: "f", Kind: change.KindFloat},
		{Name: "2bad", Kind: change.KindInt},
		{Name: "_beamsync_version", Kind: change.KindInt},
		{Name: "_PARTITIONTIME", Kind: change.KindInt},
		{Name: "Name", Kind: change.KindString},
		{Name: "name", Kind: change.KindString},
		{Name: "o", Kind: change.KindObject, Fields: []change.Field{{Name: "a-b", Kind: change.KindInt}}},
	}}
	_, err := layoutOf(v)
	if err == nil {
		t.Fatal("layoutOf accepted an impossible view")
	}
	for _, want := range []string{`key field "f" is of kind float`, `key field "missing" is not a field`, `field "2bad"`,
		`field "_beamsync_version"`, `field "_PARTITIONTIME"`, `fields "Name" and "name" differ only in case`, `field "o.a-b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if _, err := layoutOf(change.ViewSchema{Name: "v", Fields: []change.Field{{Name: "a", Kind: change.KindInt}}}); err == nil ||
		!strings.Contains(err.Error(), "has no key") {
		t.Errorf("view without a key: %v", err)
	}
}

func TestSchemaDiffReadsTheAPIsTypeNames(t *testing.T) {
	l, err := layoutOf(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	api := func(c column) *bqv2.TableFieldSchema {
		f := &bqv2.TableFieldSchema{Name: strings.ToUpper(c.Name), Type: c.Type, Mode: "NULLABLE"}
		switch c.Type {
		case typeInt64:
			f.Type = "INTEGER"
		case typeFloat64:
			f.Type = "FLOAT"
		case typeBool:
			f.Type = "BOOLEAN"
		case typeStruct:
			f.Type = "RECORD"
		}
		if c.Repeated {
			f.Mode = "REPEATED"
		}
		return f
	}
	var have bqv2.TableSchema
	var walk func(cols []column) []*bqv2.TableFieldSchema
	walk = func(cols []column) []*bqv2.TableFieldSchema {
		var out []*bqv2.TableFieldSchema
		for _, c := range cols {
			f := api(c)
			f.Fields = walk(c.Fields)
			out = append(out, f)
		}
		return out
	}
	have.Fields = append(walk(l.viewColumns()), &bqv2.TableFieldSchema{Name: "extra", Type: "STRING"})
	if d := schemaDiff(l.viewColumns(), &have); d != "" {
		t.Errorf("schemaDiff of the same columns in the API's names: %s", d)
	}
	have.Fields[1].Type = "STRING"
	have.Fields = append(have.Fields[:2], have.Fields[3:]...)
	d := schemaDiff(l.viewColumns(), &have)
	if !strings.Contains(d, "column i is STRING, the view needs INT64") || !strings.Contains(d, "column d is missing") {
		t.Errorf("schemaDiff: %s", d)
	}
}
