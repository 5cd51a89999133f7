package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	readBufferSize        = 64 << 10
	defaultConnectTimeout = 30 * time.Second
)

// sessionParams are set on every connection this package opens. The value
// decoders and the text round trip of chunk boundaries rely on the first
// four; the rest keep a long bulk read from being killed or slowed by
// settings meant for OLTP sessions (as pg_dump does).
var sessionParams = map[string]string{
	"TimeZone":                            "UTC",
	"DateStyle":                           "ISO, YMD",
	"IntervalStyle":                       "iso_8601",
	"extra_float_digits":                  "3",
	"statement_timeout":                   "0",
	"lock_timeout":                        "0",
	"idle_in_transaction_session_timeout": "0",
	// Each chunk query has its own bounds: plan it with them.
	"plan_cache_mode": "force_custom_plan",
	// JIT compilation costs more than it saves on plain range scans.
	"jit": "off",
}

// parseDSN parses a DSN and applies the session parameters.
func parseDSN(dsn string) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, dsnError(err)
	}
	for k, v := range sessionParams {
		cc.RuntimeParams[k] = v
	}
	if cc.ConnectTimeout == 0 { // a silent host would otherwise hang until TCP gives up
		cc.ConnectTimeout = defaultConnectTimeout
	}
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "beamsync"
	}
	// Bulk reads arrive faster than 8 KiB at a time: read the socket in
	// larger pieces (fewer system calls).
	cc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBufferSize), w)
	}
	return cc, nil
}

// connect opens one connection with clear errors.
func connect(ctx context.Context, cc *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, connectError(&cc.Config, err)
	}
	return conn, nil
}

// closeConn closes a connection without blocking on a dead or busy server.
func closeConn(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// ident quotes a schema-qualified name or a column.
func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// isPgCode reports whether err is a server error with the given SQLSTATE.
func isPgCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// lsnToPosition converts "16/B374D848" to a position (hi<<32 | lo).
func lsnToPosition(lsn string) (uint64, error) {
	hi, lo, ok := strings.Cut(lsn, "/")
	if !ok {
		return 0, fmt.Errorf("malformed LSN %q", lsn)
	}
	var h, l uint64
	if _, err := fmt.Sscanf(hi, "%X", &h); err != nil || h > 0xFFFFFFFF {
		return 0, fmt.Errorf("malformed LSN %q", lsn)
	}
	if _, err := fmt.Sscanf(lo, "%X", &l); err != nil || l > 0xFFFFFFFF {
		return 0, fmt.Errorf("malformed LSN %q", lsn)
	}
	return h<<32 | l, nil
}

// positionSeqBits is the width of the sequence part of a position.
const positionSeqBits = 12

// lsnPosition is the change.Position of a change at a WAL position: the LSN
// (hi<<32 | lo) shifted left by 12 bits, whose low bits order the changes of
// one transaction (seq, capped at 4095). Snapshot rows have seq 0; changes
// of a transaction carry its commit LSN and seq ≥ 1.
func lsnPosition(lsn uint64, seq int) change.Position {
	return change.Position(lsn<<positionSeqBits | uint64(min(seq, 1<<positionSeqBits-1)))
}
