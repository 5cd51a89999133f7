package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// binlogPosition packs a binlog coordinate into a change.Position: the
// file's sequence number (the digits after its last dot) in the high 32
// bits, the offset in the low 32 (see the package documentation).
func binlogPosition(file string, offset uint64) (change.Position, error) {
	seq, err := binlogSequence(file)
	if err != nil {
		return 0, err
	}
	if offset > 1<<32-1 {
		return 0, fmt.Errorf("mysql: binlog offset %s:%d is beyond 4 GiB and does not fit a position: rotate the binlog (FLUSH BINARY LOGS) and retry", file, offset)
	}
	return change.Position(seq<<32 | offset), nil
}

// binlogSequence returns the sequence number of a binlog file name,
// "binlog.000003" → 3.
func binlogSequence(file string) (uint64, error) {
	i := strings.LastIndexByte(file, '.')
	seq, err := strconv.ParseUint(file[i+1:], 10, 32)
	if i < 0 || err != nil {
		return 0, fmt.Errorf("mysql: binlog file name %q does not end in a sequence number", file)
	}
	return seq, nil
}

// sourcePos is the human form of a binlog coordinate, "binlog.000003:1234".
func sourcePos(file string, offset uint64) string {
	return file + ":" + strconv.FormatUint(offset, 10)
}
