package mysql

import (
	"strconv"

	"github.com/beamsync/beamsync/change"
)

// binlogPosition is the position of a snapshot taken at a binlog
// coordinate: change.BinlogPosition with row 0, so that every change of the
// binlog after it (row ≥ 1, or a later offset) compares greater.
func binlogPosition(file string, offset uint64) (change.Position, error) {
	return change.BinlogPosition(file, offset, 0)
}

// sourcePos is the human form of a binlog coordinate, "binlog.000003:1234".
func sourcePos(file string, offset uint64) string {
	return file + ":" + strconv.FormatUint(offset, 10)
}
