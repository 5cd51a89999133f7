package mappings

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func compileErr(t *testing.T, src string) error {
	t.Helper()
	s, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	m, err := Compile(s, ordersTable())
	if err == nil {
		t.Fatalf("Compile succeeded: %+v", m.Fields())
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Errorf("error is not a *CompileError: %T", err)
	}
	return err
}

func TestCompileErrorFormat(t *testing.T) {
	err := compileErr(t, "view: v\nsource: public.orders\nfields:\n  id: id\n  total: amount * 2\n")
	want := "m.yaml:5:17: field total: invalid operation: * (mismatched types change.Decimal and int)\n" +
		"      total: amount * 2\n" +
		"                    ^"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestCompileErrors(t *testing.T) {
	const head = "view: v\nsource: public.orders\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{"type error", head + "fields:\n  id: id\n  c: upper(id)\n",
			[]string{"m.yaml:5:12: field c: cannot use int64 as argument (type string) to call upper", "\n      c: upper(id)\n               ^"}},
		{"unknown column", head + "fields:\n  id: id\n  c: upper(custmer_name)\n",
			[]string{"m.yaml:5:12: field c: unknown name custmer_name (did you mean customer_name?)", "\n      c: upper(custmer_name)\n               ^"}},
		{"unknown function", head + "fields:\n  id: id\n  c: uper(customer_name)\n",
			[]string{"m.yaml:5:6: field c: unknown name uper (did you mean upper?)"}},
		{"where not bool", head + "where: qty + 1\nfields:\n  id: id\n",
			[]string{"m.yaml:3:8: where: must be a bool expression, got int"}},
		{"where unknown column", head + "where: stauts == \"x\"\nfields:\n  id: id\n",
			[]string{"m.yaml:3:8: where: unknown name stauts (did you mean status?)"}},
		{"decimal arithmetic", head + "fields:\n  id: id\n  t: amount + amount\n",
			[]string{"m.yaml:5:13: field t: decimal values do not support +"}},
		{"decimal compared with text", head + "fields:\n  id: id\n  t: amount == \"1\"\n",
			[]string{"m.yaml:5:13: field t: invalid operation: == (mismatched types change.Decimal and string)"}},
		{"date compared with int", head + "fields:\n  id: id\n  t: day > 3\n", []string{"m.yaml:5:10: field t: invalid operation: >"}},
		{"bad zone", head + "fields:\n  id: id\n  t: to_tz(created_at, \"Asia/Tokio\")\n",
			[]string{"m.yaml:5:24: field t: to_tz: unknown time zone \"Asia/Tokio\""}},
		{"bad regexp", head + "fields:\n  id: id\n  t: regex_match(status, \"a(\")\n",
			[]string{"m.yaml:5:26: field t: regex_match: invalid regular expression"}},
		{"bad unit", head + "fields:\n  id: id\n  t: trunc_time(created_at, \"dya\")\n",
			[]string{`field t: trunc_time: unknown unit "dya" (did you mean day?)`}},
		{"coalesce kinds", head + "fields:\n  id: id\n  t: coalesce(qty, \"none\")\n",
			[]string{"field t: coalesce: arguments of different kinds (int and string)"}},
		{"cast", head + "fields:\n  id: id\n  t: int(created_at)\n", []string{"field t: int: cannot convert timestamp"}},
		{"function value", head + "fields:\n  id: id\n  t: upper\n", []string{"cannot be stored in a view"}},
		{"now disabled", head + "fields:\n  id: id\n  t: now()\n", []string{"unknown name now (now() is disabled"}},
		{"quoted string", head + "fields:\n  id: id\n  t: \"paid\"\n", []string{`unknown name paid (YAML removed the quotes: for the text "paid" write '"paid"')`}},
		{"no primary key passthrough", head + "fields:\n  order_id: id\n",
			[]string{`m.yaml:2:9: key: not set, and the primary key column "id" of public.orders is not passed through under its own name: set key`}},
		{"key field unknown", head + "all_columns: true\nkey: [idd]\n", []string{`m.yaml:4:7: key: "idd" is not a field of the view (did you mean id?)`}},
		{"exclude unknown", head + "all_columns: true\nexclude: [secret, zipp]\n",
			[]string{`m.yaml:4:11: exclude: public.orders has no column "secret"`, `m.yaml:4:19: exclude: public.orders has no column "zipp" (did you mean zip?)`}},
		{"several errors", head + "fields:\n  id: id\n  a: upper(id)\n  b: nope\n",
			[]string{"m.yaml:5:12: field a:", "m.yaml:6:6: field b: unknown name nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compileErr(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

// TestErrorPositionsInScalars checks that positions inside expressions
// account for YAML quoting, escapes and block scalars.
func TestErrorPositionsInScalars(t *testing.T) {
	const head = "view: v\nsource: public.orders\nfields:\n  id: id\n"
	tests := []struct {
		name, field string
		line, col   int
	}{
		{"plain", `  x: concat("a", nope)`, 5, 18},
		{"double quoted", `  x: "concat(\"a\", nope)"`, 5, 21},
		{"double quoted escapes", `  x: "concat(\"\u00e9\t\", nope)"`, 5, 28},
		{"single quoted", `  x: 'concat("it''s", nope)'`, 5, 23},
		{"literal block", "  x: |\n    concat(\"a\",\n      nope)", 7, 7},
		{"folded block", "  x: >-\n    concat(\"a\",\n      nope)", 7, 7},
		{"multi-line plain", "  x: concat(\"a\",\n    nope)", 6, 5},
		{"emoji before", `  x: concat("😀😀", nope)`, 5, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compileErr(t, head+tt.field+"\n")
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("%T", err)
			}
			if ce.Line != tt.line || ce.Column != tt.col {
				t.Errorf("at %d:%d, want %d:%d\n%v", ce.Line, ce.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(ce.Message, "unknown name nope") {
				t.Errorf("message %q", ce.Message)
			}
		})
	}
}

func TestFieldsSchema(t *testing.T) {
	m := mustCompile(t, `view: v
source: public.orders
deletes: soft
fields:
  id: id
  name: customer_name
  upper_name: upper(customer_name)
  label: concat("#", id)
  total: decimal(amount)
  dbl: qty * 2
  big: amount > 100
  placed: to_tz(created_at, "UTC")
  day: date_of(created_at)
  j: json_get(payload, "a")
  ex: extra
  one: 1
  addr:
    city: city
    zip: coalesce(zip, "")
`)
	got := m.Fields()
	want := []Field{
		{Name: "id", Kind: change.KindInt},
		{Name: "name", Kind: change.KindString, Nullable: true},
		{Name: "upper_name", Kind: change.KindString, Nullable: true},
		{Name: "label", Kind: change.KindString},
		{Name: "total", Kind: change.KindDecimal, Nullable: true},
		{Name: "dbl", Kind: change.KindInt, Nullable: true},
		{Name: "big", Kind: change.KindBool},
		{Name: "placed", Kind: change.KindString},
		{Name: "day", Kind: change.KindDate},
		{Name: "j", Kind: change.KindAny, Nullable: true},
		{Name: "ex", Kind: change.KindAny, Nullable: true},
		{Name: "one", Kind: change.KindInt},
		{Name: "addr", Kind: change.KindObject, Fields: []Field{
			{Name: "city", Kind: change.KindString, Nullable: true},
			{Name: "zip", Kind: change.KindString},
		}},
		{Name: "_deleted", Kind: change.KindBool},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w Field
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("field %d: got %+v, want %+v", i, g, w)
			}
		}
	}
	if !reflect.DeepEqual(m.KeyFields(), []string{"id"}) || m.View() != "v" || m.OnError() != OnErrorDeadLetter || m.Deletes() != DeletesSoft {
		t.Errorf("key %v view %q on_error %q deletes %q", m.KeyFields(), m.View(), m.OnError(), m.Deletes())
	}
	if m.Spec().View != "v" || m.Table().Name != "orders" {
		t.Error("Spec or Table")
	}
	// Fields returns a copy.
	got[12].Fields[0].Name = "changed"
	if m.Fields()[12].Fields[0].Name != "city" {
		t.Error("Fields exposes the mapping's schema")
	}
}

func TestAllColumnsSchema(t *testing.T) {
	m := mustCompile(t, `view: v
source: public.orders
all_columns: true
exclude: [payload, extra, day]
fields:
  status: upper(status)
  added: qty + 1
`)
	var names []string
	for _, f := range m.Fields() {
		names = append(names, f.Name+":"+f.Kind.String())
	}
	want := "id:int customer_name:string amount:decimal created_at:timestamp qty:int status:string city:string zip:string added:int"
	if strings.Join(names, " ") != want {
		t.Errorf("fields %v\nwant %s", names, want)
	}
	if m.identity {
		t.Error("a mapping with overrides is not the identity")
	}
	if id := mustCompile(t, "view: v\nsource: public.orders\nall_columns: true\n"); !id.identity {
		t.Error("all_columns without changes should be the identity")
	}
}

func TestUsedColumns(t *testing.T) {
	table := &change.Table{Name: "t", Key: []int{0}, Columns: []change.Column{
		{Name: "id", Kind: change.KindInt}, {Name: "a", Kind: change.KindString}, {Name: "b", Kind: change.KindString},
		{Name: "c", Kind: change.KindInt}, {Name: "unused", Kind: change.KindString},
	}}
	spec, err := Parse("m.yaml", []byte("view: v\nsource: t\nwhere: c > 1\nfields:\n  id: id\n  x: a\n  nested:\n    y: upper(b)\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(spec, table)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.UsedColumns(), ","); got != "id,a,b,c" {
		t.Fatalf("UsedColumns = %s, want id,a,b,c", got)
	}
}
