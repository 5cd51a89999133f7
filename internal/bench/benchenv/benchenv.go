// Package benchenv holds what the benchmark programs share.
package benchenv

import (
	"errors"
	"strings"
)

// CheckAdminDSN refuses a DSN that does not name a server's postgres
// database: the benchmarks create their databases next to it (replacing
// "/postgres?" in the DSN) and must never run against a server they were
// not pointed at, such as libpq's default local one.
func CheckAdminDSN(dsn string) error {
	if strings.Contains(dsn, "/postgres?") {
		return nil
	}
	return errors.New(`-dsn (or BEAMSYNC_TEST_PG_DSN) must name the test server's postgres database, ` +
		`e.g. postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable; start the test servers with: eval "$(scripts/testenv.sh start)"`)
}
