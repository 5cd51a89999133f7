package debezium

import (
	"testing"

	"github.com/beamsync/beamsync/change"
)

// Debezium's PostgreSQL connector documentation shows a create and an
// update of one row with the same source.lsn: the update, which comes
// later, must have the greater position.
func TestEqualPositionsRankByArrival(t *testing.T) {
	d := NewDecoder([]*change.Table{ordersTable()}, Options{})
	ev := func(op, status string, src string) []byte {
		return []byte(`{"op":"` + op + `","before":null,"after":{"id":1,"status":"` + status + `"},"source":{"schema":"public","table":"orders",` + src + `}}`)
	}
	decode := func(text []byte, m Meta) change.Position {
		t.Helper()
		_, c, err := d.DecodeLine(text, m)
		if err != nil {
			t.Fatal(err)
		}
		return c.Position
	}
	lsn := `"lsn":24023128`
	a := decode(ev("c", "new", lsn), Meta{Seq: 1})
	b := decode(ev("u", "paid", lsn), Meta{Seq: 2})
	c := decode(ev("u", "sent", lsn), Meta{Seq: 3})
	if !(a < b && b < c) || a != 24023128<<tieBits {
		t.Errorf("positions of one lsn in arrival order: %d %d %d", a, b, c)
	}
	// A greater lsn ranks after every tie of a smaller one.
	if n := decode(ev("u", "x", `"lsn":24023129`), Meta{Seq: 4}); n <= c {
		t.Errorf("next lsn %d <= %d", n, c)
	}
	// Streams rank apart: another partition starts its ties at 0.
	if p := decode(ev("u", "y", lsn), Meta{Seq: 9, Stream: "orders/1"}); p != a {
		t.Errorf("other stream %d, want %d", p, a)
	}
	// Binlog: the row is the least tie; an equal file, pos and row later
	// ranks after it.
	bin := `"file":"mysql-bin.000003","pos":154,"row":1`
	r1 := decode(ev("c", "new", bin), Meta{Stream: "m"})
	r2 := decode(ev("u", "paid", bin), Meta{Stream: "m"})
	if r1 != (3<<32|154)<<tieBits|1 || r2 != r1+1 {
		t.Errorf("binlog positions %x %x", r1, r2)
	}
	// A stream resumed with its saved run goes on ranking after it.
	run, ok := d.Run("")
	if !ok || run.String() != "24023129.0" {
		t.Fatalf("run %v %v", run, ok)
	}
	back, err := ParseRun(run.String())
	if err != nil || back != run {
		t.Fatalf("parse run %v %v", back, err)
	}
	d2 := NewDecoder([]*change.Table{ordersTable()}, Options{})
	d2.SetRun("", Run{Base: 24023128, Tie: 2})
	if _, got, _ := d2.DecodeLine(ev("u", "z", lsn), Meta{}); got.Position != c+1 {
		t.Errorf("after a restart %d, want %d", got.Position, c+1)
	}
	// Ties saturate at the largest.
	d2.SetRun("", Run{Base: 24023128, Tie: maxTie})
	if _, got, _ := d2.DecodeLine(ev("u", "z", lsn), Meta{}); got.Position != 24023128<<tieBits|maxTie {
		t.Errorf("saturated %d", got.Position)
	}
	for _, bad := range []string{"", "1", "x.1", "1.4096"} {
		if _, err := ParseRun(bad); err == nil {
			t.Errorf("ParseRun(%q) accepted", bad)
		}
	}
	// A source.lsn beyond 52 bits does not fit.
	if _, _, err := d.DecodeLine(ev("u", "z", `"lsn":4503599627370496`), Meta{}); err == nil {
		t.Error("lsn beyond 2^52 accepted")
	}
}
