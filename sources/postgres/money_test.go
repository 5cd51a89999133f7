package postgres

import (
	"fmt"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// TestMoneyIsExactDecimal reads money (whose text is "$92,233,720,368,547,758.07"
// under lc_monetary) by snapshot and by stream, as a key and in arrays: every
// value is the exact decimal.
func TestMoneyIsExactDecimal(t *testing.T) {
	const rows = `(%d, '92233720368547758.07', '{92233720368547758.07,-0.01,NULL}'), (%d, '-92233720368547758.08', '{-92233720368547758.08}'),
		(%d, '-1.5', '{}'), (%d, '0', NULL), (%d, NULL, '{1234567.89}')`
	ins := func(base int) string {
		return "INSERT INTO m VALUES " + fmt.Sprintf(rows, base+1, base+2, base+3, base+4, base+5)
	}
	dsn, scfg := streamDB(t, `CREATE DOMAIN price AS money`,
		`CREATE TABLE m (id int PRIMARY KEY, amt price, amts money[])`, `ALTER TABLE m REPLICA IDENTITY FULL`,
		`CREATE TABLE mk (k money PRIMARY KEY, v int)`,
		ins(0), `INSERT INTO mk VALUES ('-1234.56', 1), ('92233720368547758.07', 2)`)
	cfg := Config{Tables: []string{"m", "mk"}}
	tables := describe(t, dsn, cfg)
	if k := tables[0].Columns[1].Kind; k != change.KindDecimal {
		t.Fatalf("money column kind %s, want decimal", k)
	}
	st, _, snap := startStream(t, dsn, cfg, scfg, tables)
	testenv.ExecAllPostgres(t, dsn, ins(10),
		`UPDATE m SET amt = amt - '0.01'::money WHERE id = 1`,
		`UPDATE mk SET v = 3 WHERE k = '-1234.56'`,
		`DELETE FROM mk WHERE k = '92233720368547758.07'`)
	got, _, _ := collectChanges(t, st, 8)
	want := []string{
		`[1,92233720368547758.07,[92233720368547758.07,-0.01,null]]`,
		`[2,-92233720368547758.08,[-92233720368547758.08]]`,
		`[3,-1.50,[]]`,
		`[4,0.00,null]`,
		`[5,null,[1234567.89]]`,
	}
	for i, c := range snap["m"] {
		if s := string(change.AppendJSON(nil, c.After)); s != want[i] {
			t.Errorf("snapshot row %d: %s, want %s", i, s, want[i])
		}
	}
	for i, c := range got[:5] {
		row := append([]any{int64(i + 1)}, c.After[1:]...)
		if s := string(change.AppendJSON(nil, row)); s != want[i] {
			t.Errorf("streamed row %v: %s, want %s", c.Key, s, want[i])
		}
	}
	if c := got[5]; string(change.AppendJSON(nil, []any{c.Before[1], c.After[1]})) != `[92233720368547758.07,92233720368547758.06]` {
		t.Errorf("update of 1: before %v, after %v", c.Before[1], c.After[1])
	}
	if c := got[6]; c.Op != change.OpUpdate || string(change.AppendJSON(nil, c.Key)) != `[-1234.56]` {
		t.Errorf("update of a money key: %s %v", c.Op, c.Key)
	}
	if c := got[7]; c.Op != change.OpDelete || string(change.AppendJSON(nil, c.Key)) != `[92233720368547758.07]` ||
		string(change.AppendJSON(nil, c.Before[0])) != `92233720368547758.07` {
		t.Errorf("delete of a money key: %s %v, old row %v", c.Op, c.Key, c.Before)
	}
}
