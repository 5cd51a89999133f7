package postgres

import (
	"fmt"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// TestInfiniteTimestampsStayInfinite reads ±infinity and the finite
// 0001-01-01 (which the zero time.Time stands for) by snapshot and by
// stream: infinite values render as "infinity"/"-infinity", the finite one
// as itself.
func TestInfiniteTimestampsStayInfinite(t *testing.T) {
	const values = `(%d, 'infinity', 'infinity', 'infinity', '{infinity,-infinity}', '{-infinity,infinity}'),
		(%d, '-infinity', '-infinity', '-infinity', '{-infinity}', '{-infinity}'),
		(%d, '0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '0001-01-01', '{"0001-01-01 00:00:00"}', '{0001-01-01}')`
	insert := func(a, b, c int) string {
		return "INSERT INTO inf VALUES " + fmt.Sprintf(values, a, b, c)
	}
	dsn, scfg := streamDB(t, `CREATE TABLE inf (id int PRIMARY KEY, ts timestamp, tstz timestamptz, d date, tsa timestamp[], tstza timestamptz[])`,
		insert(1, 2, 3), `ALTER TABLE inf REPLICA IDENTITY FULL`)
	cfg := Config{Tables: []string{"inf"}}
	tables := describe(t, dsn, cfg)
	st, _, snap := startStream(t, dsn, cfg, scfg, tables)
	testenv.ExecAllPostgres(t, dsn, insert(11, 12, 13))
	streamed, _, _ := collectChanges(t, st, 3)
	want := []string{
		`[1,"infinity","infinity","infinity",["infinity","-infinity"],["-infinity","infinity"]]`,
		`[2,"-infinity","-infinity","-infinity",["-infinity"],["-infinity"]]`,
		`[3,"0001-01-01T00:00:00Z","0001-01-01T00:00:00Z","0001-01-01",["0001-01-01T00:00:00Z"],["0001-01-01T00:00:00Z"]]`,
	}
	for i, c := range append(snap["inf"], streamed...) {
		row := append([]any{int64(i%3 + 1)}, c.After[1:]...)
		if got := string(change.AppendJSON(nil, row)); got != want[i%3] {
			t.Errorf("row %v (%s): %s, want %s", c.Key, c.Op, got, want[i%3])
		}
	}
}
