package change

import (
	"fmt"
	"strconv"
	"strings"
)

// Binlog coordinates are packed into a Position as
//
//	sequence number of the binlog file << 44 | byte offset << 12 | row
//
// (20, 32 and 12 bits). The binlog is written in commit order and its file
// numbers only grow, so positions compare in commit order; the row tells
// apart the rows of one event. Rows beyond 4095 in one event share 4095
// (still after every earlier event), so a key changed twice within one huge
// event is the only case two changes of a key could tie.
const (
	binlogSeqBits = 20
	binlogOffBits = 32
	binlogRowBits = 12
)

// BinlogPosition packs a MySQL binlog coordinate: the file name
// ("binlog.000003", whose digits after the last dot are its sequence
// number), the byte offset and the row within the event.
func BinlogPosition(file string, offset, row uint64) (Position, error) {
	seq, err := BinlogSequence(file)
	if err != nil {
		return 0, err
	}
	if seq >= 1<<binlogSeqBits {
		return 0, fmt.Errorf("binlog file %q: sequence number beyond %d does not fit a position", file, 1<<binlogSeqBits-1)
	}
	if offset >= 1<<binlogOffBits {
		return 0, fmt.Errorf("binlog offset %s:%d is beyond 4 GiB and does not fit a position: rotate the binlog (FLUSH BINARY LOGS) and retry", file, offset)
	}
	row = min(row, 1<<binlogRowBits-1)
	return Position(seq<<(binlogOffBits+binlogRowBits) | offset<<binlogRowBits | row), nil
}

// BinlogSequence returns the sequence number of a binlog file name,
// "binlog.000003" → 3.
func BinlogSequence(file string) (uint64, error) {
	i := strings.LastIndexByte(file, '.')
	seq, err := strconv.ParseUint(file[i+1:], 10, 64)
	if i < 0 || err != nil {
		return 0, fmt.Errorf("binlog file name %q does not end in a sequence number", file)
	}
	return seq, nil
}
