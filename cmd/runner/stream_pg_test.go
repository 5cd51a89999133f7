package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/beamsync/beamsync/internal/testenv"
)

func postgresCDCSource(t *testing.T) cdcSource {
	dsn := testenv.NewPostgresDB(t)
	t.Cleanup(func() { // the slot, so that the database can be dropped
		testenv.ExecAllPostgres(t, dsn, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active")
	})
	testenv.ExecAllPostgres(t, dsn,
		`CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL)`,
		`ALTER TABLE accounts REPLICA IDENTITY FULL`,
		`INSERT INTO accounts SELECT g, 'init', g FROM generate_series(1, 3000) g`)
	conn := func(t *testing.T) *pgx.Conn {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return cdcSource{
		kind: "postgres", dsnEnv: "CRASH_PG_DSN", dsn: dsn,
		writer: func(t *testing.T) (func(string) error, func()) {
			c := conn(t)
			return func(stmt string) error {
					_, err := c.Exec(context.Background(), stmt)
					if err != nil && strings.Contains(err.Error(), "deadlock") {
						return nil
					}
					return err
				}, func() {
					c.Close(context.Background())
				}
		},
		rows: func(t *testing.T) map[int64]string {
			c := conn(t)
			defer c.Close(context.Background())
			rows, err := c.Query(context.Background(), "SELECT id, owner, balance FROM accounts")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[int64]string{}
			for rows.Next() {
				var id, balance int64
				var owner string
				if err := rows.Scan(&id, &owner, &balance); err != nil {
					t.Fatal(err)
				}
				out[id] = accountDoc(id, owner, balance)
			}
			return out
		},
		caughtUp: func(t *testing.T) func(string) bool {
			c := conn(t)
			defer c.Close(context.Background())
			var end pglogrepl.LSN
			if err := c.QueryRow(context.Background(), "SELECT pg_current_wal_insert_lsn()").Scan(&end); err != nil {
				t.Fatal(err)
			}
			return func(cp string) bool {
				lsn, err := pglogrepl.ParseLSN(cp)
				return err == nil && lsn >= end
			}
		},
		stmt: func(r *rand.Rand, w, seq int) string {
			return randomAccountWrite(r, w, seq, "ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 1, owner = 'w$W'")
		},
	}
}

func TestStreamPostgresSurvivesKill9(t *testing.T) {
	crashTrials(t, postgresCDCSource(t), 5, "status_interval: 500ms")
}
