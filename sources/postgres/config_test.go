package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseTableName(t *testing.T) {
	for _, tc := range []struct {
		in, schema, name string
	}{
		{"orders", "public", "orders"},
		{"Orders", "public", "orders"},
		{"sales.Orders", "sales", "orders"},
		{`"My Schema"."Odd Table"`, "My Schema", "Odd Table"},
		{` "a.b" . "c""d" `, "a.b", `c"d`},
		{`"Orders"`, "public", "Orders"},
		{"bücher", "public", "bücher"},
		{"t$1", "public", "t$1"},
		{`x."ÜBER"`, "x", "ÜBER"},
	} {
		got, err := parseTableName(tc.in)
		if err != nil || got.Schema != tc.schema || got.Name != tc.name {
			t.Errorf("parseTableName(%q) = %+v, %v; want %s.%s", tc.in, got, err, tc.schema, tc.name)
		}
	}
	for _, in := range []string{"", "  ", "a.b.c", `"unterminated`, `""`, "a.", ".a", "my table", "1abc", `a"b"`, "a-b", "a..b"} {
		if got, err := parseTableName(in); err == nil {
			t.Errorf("parseTableName(%q) = %+v, want an error", in, got)
		}
	}
	if got := (tableName{"My Schema", `c"d`}).String(); got != `"My Schema"."c""d"` {
		t.Errorf("String = %s", got)
	}
	if got := (tableName{"public", "orders"}).String(); got != "public.orders" {
		t.Errorf("String = %s", got)
	}
}

func TestValidate(t *testing.T) {
	c := Config{Tables: []string{"a", "public.a", `"x`}, ChunkSize: -1, Parallelism: 1000, BatchSize: -5}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate passed")
	}
	for _, want := range []string{
		"tables[1]: public.a is listed twice (also tables[0])",
		`tables[2]: "\"x": unterminated quoted identifier`,
		"chunk_size: must be a positive number of rows, got -1",
		"parallelism: must be between 1 and 128 connections, got 1000",
		"batch_size: must be between 1 and 1048576 rows, got -5",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q\ndoes not contain %q", err, want)
		}
	}
	if err := (&Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "tables: list at least one table") {
		t.Errorf("empty config: %v", err)
	}
	ok := Config{Tables: []string{"a"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	d := ok.WithDefaults()
	if d.ChunkSize != 10000 || d.Parallelism != 4 || d.BatchSize != 1024 || ok.ChunkSize != 0 {
		t.Errorf("WithDefaults = %+v", d)
	}
}

func TestConfigDecoding(t *testing.T) {
	var y Config
	err := yaml.Unmarshal([]byte("tables: [orders, '\"My Schema\".\"Odd Table\"']\nchunk_size: 10\nparallelism: 2\nbatch_size: 3\nallow_no_primary_key: true\n"), &y)
	if err != nil {
		t.Fatal(err)
	}
	var j Config
	if err := json.Unmarshal([]byte(`{"tables":["orders","\"My Schema\".\"Odd Table\""],"chunk_size":10,"parallelism":2,"batch_size":3,"allow_no_primary_key":true}`), &j); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{y, j} {
		if len(c.Tables) != 2 || c.Tables[1] != `"My Schema"."Odd Table"` || c.ChunkSize != 10 || c.Parallelism != 2 || c.BatchSize != 3 || !c.AllowNoPrimaryKey {
			t.Errorf("decoded %+v", c)
		}
	}
}
