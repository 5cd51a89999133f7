package mysql

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/runstats"
	"github.com/beamsync/beamsync/internal/testenv"
)

// zeroDateRows are rows of zero and invalid dates, and one of real dates
// (id 5), which sql_mode ALLOW_INVALID_DATES (without NO_ZERO_DATE and
// NO_ZERO_IN_DATE) lets in.
const zeroDateRows = `SET STATEMENT sql_mode = 'ALLOW_INVALID_DATES' FOR INSERT INTO %s VALUES
	(1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
	(2, '2024-00-15', '2024-05-00 10:00:00', '2024-05-01 10:00:00', '2024-00-00 00:00:00'),
	(3, '2024-02-31', '2024-02-30 23:59:59.5', '2024-05-01 10:00:00', '2023-02-29 01:02:03'),
	(4, '2024-02-29', '2024-04-31 00:00:00', '2024-05-01 10:00:00', '2024-02-29 00:00:00'),
	(5, '0000-01-01', '2024-01-02 03:04:05.123456', '2024-05-01 10:00:00', NULL)`

// TestZeroDatesPolicies reads zero and invalid dates under each zero_dates
// policy, in the snapshot and through the binlog: both give the same rows
// and dead letters.
func TestZeroDatesPolicies(t *testing.T) {
	dsn := streamDB(t)
	db := openDB(t, dsn)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL, dt DATETIME(6) NOT NULL, ts TIMESTAMP NOT NULL DEFAULT 0, d0 DATETIME NULL)`,
		`CREATE TABLE z_copy LIKE z`,
		strings.ReplaceAll(zeroDateRows, "%s", "z"), `INSERT INTO z_copy SELECT * FROM z`)
	ts := utc(2024, 5, 1, 10, 0, 0, 0)
	keep := map[int64][]any{
		1: {int64(1), change.Date("0000-00-00"), "0000-00-00 00:00:00.000000", "0000-00-00 00:00:00", "0000-00-00 00:00:00"},
		2: {int64(2), change.Date("2024-00-15"), "2024-05-00 10:00:00.000000", ts, "2024-00-00 00:00:00"},
		3: {int64(3), change.Date("2024-02-31"), "2024-02-30 23:59:59.500000", ts, "2023-02-29 01:02:03"},
		4: {int64(4), change.Date("2024-02-29"), "2024-04-31 00:00:00.000000", ts, utc(2024, 2, 29, 0, 0, 0, 0)},
		5: {int64(5), change.Date("0000-01-01"), utc(2024, 1, 2, 3, 4, 5, 123456), ts, nil},
	}
	for _, policy := range []string{"", ZeroDatesKeep, ZeroDatesNull, ZeroDatesDeadLetter} {
		t.Run("policy="+policy, func(t *testing.T) {
			want := map[int64][]any{}
			wantDead := map[string]bool{}
			var wantNulled int64
			for id, row := range keep {
				out := append([]any{}, row...)
				for i, v := range out {
					switch v.(type) {
					case string:
						out[i] = nil
					case change.Date:
						if invalidDate([]byte(v.(change.Date))) {
							out[i] = nil
						}
					}
				}
				nulled := 0
				for i := range out {
					if out[i] == nil && row[i] != nil {
						nulled++
					}
				}
				switch {
				case policy == ZeroDatesNull:
					want[id] = out
					wantNulled += int64(nulled)
				case policy == ZeroDatesDeadLetter && nulled > 0:
					wantDead[fmt.Sprintf("[%d]", id)] = true
				default:
					want[id] = row
				}
			}
			cfg := Config{Tables: []string{"z"}, ZeroDates: policy}
			table := dbName(t, dsn) + ".z"

			// The snapshot.
			var snapDead []change.DeadLetter
			cfg.OnDeadLetter = func(d change.DeadLetter) error {
				snapDead = append(snapDead, d)
				return nil
			}
			nulledBefore := runstats.Get(runstats.ZeroNulled, table)
			res, _ := runSnapshot(t, dsn, cfg)
			if n := runstats.Get(runstats.ZeroNulled, table) - nulledBefore; n != wantNulled {
				t.Errorf("snapshot: %d dates counted as nulled, want %d", n, wantNulled)
			}
			snap := map[int64][]any{}
			for _, c := range res.rows[table] {
				snap[c.After[0].(int64)] = c.After
			}
			checkZeroRows(t, "snapshot", snap, want)
			checkZeroDead(t, "snapshot", snapDead, wantDead)

			// The binlog: delete and insert the rows again.
			cfg.OnDeadLetter = nil
			scfg := streamCfg(t)
			st, _ := openTestStream(t, dsn, cfg, scfg, "")
			testenv.ExecAllMySQL(t, dsn, `DELETE FROM z`, `INSERT INTO z SELECT * FROM z_copy`,
				`SET STATEMENT sql_mode = 'ALLOW_INVALID_DATES' FOR UPDATE z SET d = '2024-02-31' WHERE id = 5`,
				`UPDATE z SET d = '0000-01-01' WHERE id = 5`)
			nulledBefore = runstats.Get(runstats.ZeroNulled, table)
			target := masterPos(t, db)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			deleted, created := map[int64][]any{}, map[int64][]any{}
			var streamDead []change.DeadLetter
			for {
				p, err := st.Next(ctx)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				for _, b := range p.Batches {
					for _, c := range b.Changes {
						switch c.Op {
						case change.OpDelete:
							deleted[c.Before[0].(int64)] = c.Before
						case change.OpCreate:
							created[c.After[0].(int64)] = c.After
						}
					}
				}
				streamDead = append(streamDead, p.DeadLetters...)
				if !target.after(cpAt(t, p.Checkpoint)) {
					break
				}
			}
			checkZeroRows(t, "stream deletes", deleted, want)
			checkZeroRows(t, "stream inserts", created, want)
			// Each dead-lettered row twice (its delete and its insert), and
			// row 5 once more under dead_letter: the update to 2024-02-31
			// and the one back from it.
			var dl []change.DeadLetter
			n5 := 0
			for _, d := range streamDead {
				if string(d.Key) == "[5]" {
					n5++
					continue
				}
				dl = append(dl, d)
			}
			checkZeroDead(t, "stream", dl[:len(dl)/2], wantDead)
			checkZeroDead(t, "stream", dl[len(dl)/2:], wantDead)
			if wantN5 := map[bool]int{true: 2}[policy == ZeroDatesDeadLetter]; n5 != wantN5 {
				t.Errorf("stream: %d dead letters of row 5, want %d", n5, wantN5)
			}
			wantStreamNulled := 2 * wantNulled
			if policy == ZeroDatesNull {
				wantStreamNulled += 2 // row 5's update: its after image, then its before image
			}
			if n := runstats.Get(runstats.ZeroNulled, table) - nulledBefore; n != wantStreamNulled {
				t.Errorf("stream: %d dates counted as nulled, want %d", n, wantStreamNulled)
			}
		})
	}
}

func checkZeroRows(t *testing.T, what string, got, want map[int64][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d: %v", what, len(got), len(want), got)
	}
	for id, w := range want {
		if !sameRow(got[id], w) {
			t.Errorf("%s: row %d %#v, want %#v", what, id, got[id], w)
		}
	}
}

func checkZeroDead(t *testing.T, what string, got []change.DeadLetter, want map[string]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d dead letters, want %d: %+v", what, len(got), len(want), got)
	}
	for _, d := range got {
		if !want[string(d.Key)] {
			t.Errorf("%s: dead letter of key %s, want one of %v", what, d.Key, want)
		}
		if d.Stage != change.StageDecode || !strings.Contains(d.Reason, "zero or invalid date") || !strings.Contains(d.Reason, "zero_dates: dead_letter") ||
			!strings.HasSuffix(d.Table, ".z") || !strings.Contains(string(d.Row), `"id":`) {
			t.Errorf("%s: dead letter %+v", what, d)
		}
	}
}
