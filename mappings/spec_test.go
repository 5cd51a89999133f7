package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const exampleSpec = `view: customer_orders
source: public.orders
key: [order_id]
where: status != "draft"
fields:
  order_id: id
  customer: upper(customer_name)
  total: decimal(amount)
  placed_at: to_tz(created_at, "Asia/Tokyo")
  address:
    city: city
    zip: coalesce(zip, "")
on_error: fail
`

func TestParse(t *testing.T) {
	s, err := Parse("m.yaml", []byte(exampleSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.View != "customer_orders" || s.Source != "public.orders" || s.Where != `status != "draft"` {
		t.Errorf("spec = %+v", s)
	}
	if !reflect.DeepEqual(s.Key, []string{"order_id"}) {
		t.Errorf("key = %v", s.Key)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	if want := []string{"order_id", "customer", "total", "placed_at", "address"}; !reflect.DeepEqual(names, want) {
		t.Errorf("fields = %v, want YAML order %v", names, want)
	}
	addr := s.Fields[4]
	if len(addr.Fields) != 2 || addr.Fields[1].Name != "zip" || addr.Fields[1].Expr != `coalesce(zip, "")` || addr.Expr != "" {
		t.Errorf("address = %+v", addr)
	}
	if addr.Line != 10 || addr.Column != 3 || addr.Fields[0].Line != 11 || addr.Fields[0].Column != 5 {
		t.Errorf("positions: address %d:%d, city %d:%d", addr.Line, addr.Column, addr.Fields[0].Line, addr.Fields[0].Column)
	}
	if s.Deletes != DeletesDelete || s.OnError != OnErrorFail || s.SchemaChange != SchemaChangeFail {
		t.Errorf("defaults: deletes %q on_error %q schema_change %q", s.Deletes, s.OnError, s.SchemaChange)
	}
	if s.Pos["where"] != (Pos{4, 8}) || s.File != "m.yaml" {
		t.Errorf("where at %v, file %q", s.Pos["where"], s.File)
	}
}

func TestParseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orders.yaml")
	if err := os.WriteFile(path, []byte("view: v\nsource: t\nall_columns: true\nexclude: secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.AllColumns || !reflect.DeepEqual(s.Exclude, []string{"secret"}) || s.File != path {
		t.Errorf("spec = %+v", s)
	}
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestParseErrors checks the problems Parse reports: each message carries
// file:line:col, and the snippet shows the line with a caret.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"malformed YAML", "view: v\nsource: [a\nfields: {a: b}\n",
			[]string{"m.yaml:2:1: invalid YAML: did not find expected ',' or ']'"}},
		{"unknown setting", "view: v\nsource: t\nfeilds:\n  a: a\n",
			[]string{`m.yaml:3:1: unknown setting "feilds" (did you mean fields?); valid settings: view, source, key, where, all_columns, exclude, fields, joins, deletes, on_error, schema_change`,
				"\n    feilds:\n    ^"}},
		{"missing view and source", "fields:\n  a: a\n",
			[]string{"m.yaml:1:1: view is required", "m.yaml:1:1: source is required", "\n    fields:\n    ^"}},
		{"bad view name", "view: Orders\nsource: t\nfields: {a: a}\n", []string{`m.yaml:1:7: view "Orders": use lower-case letters, digits and _ only`}},
		{"bad source", "view: v\nsource: a.b.c.d\nfields: {a: a}\n", []string{`m.yaml:2:9: source "a.b.c.d"`}},
		{"bad deletes", "view: v\nsource: t\nfields: {a: a}\ndeletes: sofft\n",
			[]string{`m.yaml:4:10: deletes: "sofft" is not one of delete, ignore, soft (did you mean soft?)`, "\n    deletes: sofft\n             ^"}},
		{"bad on_error", "view: v\nsource: t\nfields: {a: a}\non_error: retry\n", []string{`m.yaml:4:11: on_error: "retry" is not one of dead_letter, fail`}},
		{"bad schema_change", "view: v\nsource: t\nfields: {a: a}\nschema_change: ignore\n", []string{`m.yaml:4:16: schema_change: "ignore" is not one of fail, dead_letter, null`}},
		{"expression syntax", "view: v\nsource: t\nfields:\n  total: upper(amount))\n",
			[]string{"m.yaml:4:23: field total: unexpected token Bracket(\")\")", "\n      total: upper(amount))\n                          ^"}},
		{"where syntax", "view: v\nsource: t\nwhere: a ==\nfields: {a: a}\n", []string{"m.yaml:3:11: where: unexpected token EOF"}},
		{"no fields", "view: v\nsource: t\n", []string{"m.yaml:1:1: no fields: list the view's fields, or set all_columns: true"}},
		{"empty expression", "view: v\nsource: t\nfields:\n  a:\n", []string{"m.yaml:4:3: field a: no expression"}},
		{"duplicate field", "view: v\nsource: t\nfields:\n  a: a\n  a: b\n", []string{"m.yaml:5:3: field a is declared twice"}},
		{"bad field name", "view: v\nsource: t\nfields:\n  a-b: a\n", []string{`m.yaml:4:3: field "a-b": a field name is a letter or _`}},
		{"nested duplicate", "view: v\nsource: t\nfields:\n  o:\n    x: a\n    x: b\n", []string{"m.yaml:6:5: field o.x is declared twice"}},
		{"field list", "view: v\nsource: t\nfields:\n  - a\n", []string{"m.yaml:4:3: fields: want a mapping of field names to expressions, got a list"}},
		{"exclude without all_columns", "view: v\nsource: t\nexclude: [a]\nfields: {a: a}\n", []string{"m.yaml:3:10: exclude only applies with all_columns: true"}},
		{"key not a field", "view: v\nsource: t\nkey: [id, nme]\nfields: {id: id, name: name}\n", []string{`m.yaml:3:11: key: "nme" is not a field of the view (did you mean name?)`}},
		{"object key", "view: v\nsource: t\nkey: o\nfields:\n  o: {a: a}\n", []string{`m.yaml:3:6: key: "o" is an object`}},
		{"soft delete field clash", "view: v\nsource: t\ndeletes: soft\nfields: {id: id, _deleted: x}\n", []string{"field _deleted is added by deletes: soft"}},
		{"all_columns not bool", "view: v\nsource: t\nall_columns: yes please\n", []string{`m.yaml:3:14: all_columns: want true or false, got "yes please"`}},
		{"view is a list", "view: [a]\nsource: t\nfields: {a: a}\n", []string{"m.yaml:1:7: view: want a single value, got a list"}},
		{"set twice", "view: v\nview: w\nsource: t\nfields: {a: a}\n", []string{"m.yaml:2:1: view is set twice"}},
		{"not a mapping", "- view: v\n", []string{"m.yaml:1:1: a mapping file must be a YAML mapping"}},
		{"two documents", "view: v\nsource: t\nfields: {a: a}\n---\nview: w\n", []string{"m.yaml:4:1: a mapping file holds one view"}},
		{"empty file", "", []string{"m.yaml:1:1: empty mapping file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("m.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; spec %+v", s)
			}
			if s != nil {
				t.Errorf("spec returned with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *CompileError: %T", err)
			}
		})
	}
}

// TestValidateProgrammatic checks a spec built in Go, without positions.
func TestValidateProgrammatic(t *testing.T) {
	s := &Spec{View: "v", Source: "t", Deletes: "never", Fields: []FieldSpec{{Name: "a", Expr: "a +"}}}
	err := s.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{`deletes: "never" is not one of`, "field a: unexpected token EOF"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	ok := &Spec{View: "v", Source: "t", Fields: []FieldSpec{{Name: "id", Expr: "id"}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	if _, err := Compile(ok, ordersTable()); err != nil {
		t.Errorf("Compile of a programmatic spec: %v", err)
	}
}
