package mysql

import (
	"context"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
)

func TestParseTableName(t *testing.T) {
	ok := map[string]tableRef{
		"orders":                {name: "orders"},
		"shop.orders":           {db: "shop", name: "orders"},
		"`my.db`.`odd.name`":    {db: "my.db", name: "odd.name"},
		"`a``b`":                {name: "a`b"},
		"shop.Odd `Table` Name": {db: "shop", name: "Odd `Table` Name"},
		"With Space":            {name: "With Space"},
		"`shop`.orders":         {db: "shop", name: "orders"},
	}
	for in, want := range ok {
		got, err := parseTableName(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "a.", ".b", "a.b.c", "`a", "`a`b", "a..b"} {
		if r, err := parseTableName(in); err == nil {
			t.Errorf("%q: parsed as %+v", in, r)
		}
	}
}

func TestConfig(t *testing.T) {
	c := Config{Tables: []string{"a"}}.WithDefaults()
	if c.ChunkSize != DefaultChunkSize || c.Parallelism != DefaultParallelism || c.BatchSize != DefaultBatchSize {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	bad := Config{Tables: []string{"a", "a", "x.y.z"}, ChunkSize: -1, Parallelism: 1000, BatchSize: -2}
	err := bad.Validate()
	for _, want := range []string{"listed twice", "too many dots", "chunk_size", "parallelism", "batch_size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q", err, want)
		}
	}
	if err := (&Config{ChunkSize: 5}).validateSizes(); err != nil {
		t.Errorf("sizes without tables: %v", err)
	}
}

func TestRangeSQL(t *testing.T) {
	p := &tablePlan{
		cols: []column{{name: "a", bind: bindInt}, {name: "x"}, {name: "b`c", bind: bindDecimal, cast: "DECIMAL(10,2)"}, {name: "d", bind: bindString}},
		key:  []int{0, 2, 3},
	}
	sql, args := p.rangeSQL(">", ">")
	want := "((`a` > ?) OR (`a` = ? AND `b``c` > CAST(? AS DECIMAL(10,2))) OR (`a` = ? AND `b``c` = CAST(? AS DECIMAL(10,2)) AND `d` > ?))"
	if sql != want || len(args) != 6 || args[5] != 2 || args[4] != 1 {
		t.Errorf("lower:\n%s\n%s %v", sql, want, args)
	}
	sql, _ = p.rangeSQL("<", "<=")
	if !strings.HasSuffix(sql, "AND `d` <= ?))") || !strings.HasPrefix(sql, "((`a` < ?) OR") {
		t.Errorf("upper: %s", sql)
	}
}

func TestDecodeHelpers(t *testing.T) {
	if _, zero, ok := parseDateTime([]byte("2024-01-02 03:04:05.5")); zero || !ok {
		t.Error("fraction")
	}
	for _, bad := range []string{"2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05.", "2024-01-02 03:04:05.1234567890"} {
		if _, _, ok := parseDateTime([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	for in, want := range map[float32]float64{0.1: 0.1, 16777216: 16777216, 3.4028235e38: 3.4028235e38, -1.17549435e-38: -1.1754944e-38} {
		if got := floatValue(in); got != want {
			t.Errorf("floatValue(%v) = %v, want %v", in, got, want)
		}
	}
	if s, err := change.BinlogSequence("mysql-bin.000123"); s != 123 || err != nil {
		t.Errorf("sequence %d %v", s, err)
	}
	if _, err := binlogPosition("binlog.000001", 1<<32); err == nil {
		t.Error("offset beyond 4 GiB accepted")
	}
	if p, _ := binlogPosition("binlog.000003", 1234); p != 3<<44|1234<<12 {
		t.Errorf("position %d", p)
	}
	if got := similarNames("ordrs", []string{"orders", "customers", "order_items", "ORDRS2"}, 5); len(got) < 2 || got[0] != "ORDRS2" && got[0] != "orders" {
		t.Errorf("similar: %v", got)
	}
}

func TestConfigZeroDates(t *testing.T) {
	for _, p := range []string{"", ZeroDatesKeep, ZeroDatesNull, ZeroDatesDeadLetter} {
		c := Config{Tables: []string{"t"}, ZeroDates: p}
		if err := c.Validate(); err != nil {
			t.Errorf("zero_dates %q: %v", p, err)
		}
	}
	c := Config{Tables: []string{"t"}, ZeroDates: "drop"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `zero_dates: "drop" is not a policy`) || !strings.Contains(err.Error(), "dead_letter") {
		t.Errorf("zero_dates drop: %v", err)
	}
	if _, err := Snapshot(context.Background(), "root@tcp(127.0.0.1:1)/x", Config{ZeroDates: ZeroDatesDeadLetter}, []*change.Table{{Name: "t"}}, nil); err == nil || !strings.Contains(err.Error(), "OnDeadLetter") {
		t.Errorf("dead_letter without OnDeadLetter: %v", err)
	}
}
