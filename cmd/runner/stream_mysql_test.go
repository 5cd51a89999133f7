package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

func mysqlCDCSource(t *testing.T) cdcSource {
	dsn := testenv.NewMySQLDB(t)
	testenv.ExecAllMySQL(t, dsn,
		`CREATE TABLE accounts (id int PRIMARY KEY, owner varchar(40) NOT NULL, balance bigint NOT NULL) ENGINE=InnoDB`,
		`INSERT INTO accounts SELECT seq, 'init', seq FROM seq_1_to_3000`)
	open := func(t *testing.T) *sql.DB {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		return db
	}
	return cdcSource{
		kind: "mysql", dsnEnv: "CRASH_MYSQL_DSN", dsn: dsn,
		writer: func(t *testing.T) (func(string) error, func()) {
			db := open(t)
			return func(stmt string) error {
				_, err := db.Exec(stmt)
				if err != nil && strings.Contains(err.Error(), "Deadlock") {
					return nil
				}
				return err
			}, func() { db.Close() }
		},
		rows: func(t *testing.T) map[int64]string {
			db := open(t)
			defer db.Close()
			rows, err := db.Query("SELECT id, owner, balance FROM accounts")
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
			db := open(t)
			defer db.Close()
			var file string
			var pos uint64
			var skip1, skip2 sql.NullString
			if err := db.QueryRowContext(context.Background(), "SHOW MASTER STATUS").Scan(&file, &pos, &skip1, &skip2); err != nil {
				t.Fatal(err)
			}
			end, err := change.BinlogPosition(file, pos, 0)
			if err != nil {
				t.Fatal(err)
			}
			return func(cp string) bool {
				f, p, ok := strings.Cut(cp, ":")
				off, err := strconv.ParseUint(p, 10, 64)
				if !ok || err != nil {
					return false
				}
				at, err := change.BinlogPosition(f, off, 0)
				return err == nil && at >= end
			}
		},
		stmt: func(r *rand.Rand, w, seq int) string {
			return randomAccountWrite(r, w, seq, "ON DUPLICATE KEY UPDATE balance = balance + 1, owner = 'w$W'")
		},
	}
}

func TestStreamMySQLSurvivesKill9(t *testing.T) {
	crashTrials(t, mysqlCDCSource(t), 5, "heartbeat: 1s")
}
