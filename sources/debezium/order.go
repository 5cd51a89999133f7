package debezium

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// A Position is base<<tieBits | tie: the event's base position (source.lsn,
// the binlog file and offset, or Meta.Seq) and a tie that orders the events
// of one base position by arrival within their stream (see Run).
const (
	tieBits       = 12
	maxTie        = 1<<tieBits - 1
	maxBase       = 1<<(64-tieBits) - 1
	binlogSeqBits = 64 - tieBits - 32
)

// Run is the order state of one stream of events (a file sequence, a Kafka
// partition): the base position of the stream's last event and the tie it
// got. The next event of the same base position gets a greater tie.
type Run struct {
	Base uint64
	Tie  uint64
}

// String renders the run as "base.tie".
func (r Run) String() string {
	return strconv.FormatUint(r.Base, 10) + "." + strconv.FormatUint(r.Tie, 10)
}

// ParseRun parses Run.String's "base.tie".
func ParseRun(s string) (Run, error) {
	b, t, ok := strings.Cut(s, ".")
	base, err1 := strconv.ParseUint(b, 10, 64)
	tie, err2 := strconv.ParseUint(t, 10, 64)
	if !ok || err1 != nil || err2 != nil || base > maxBase || tie > maxTie {
		return Run{}, fmt.Errorf("%q is not a position run (base.tie)", s)
	}
	return Run{base, tie}, nil
}

// Run returns the order state of a stream, and whether it has one.
func (d *Decoder) Run(stream string) (Run, bool) {
	r, ok := d.runs[stream]
	return r, ok
}

// SetRun restores the order state of a stream (saved with a checkpoint),
// so that a stream resumed after a restart goes on ranking as before.
func (d *Decoder) SetRun(stream string, r Run) { d.runs[stream] = r }

// rank makes the Position of an event of a stream: its base position, and
// a tie of at least floor (its binlog row) that is greater than the tie of
// the stream's previous event when that one had the same base position.
// Ties saturate at 4095.
//
// Invariant: within a stream, consecutive events of one base position get
// increasing positions in arrival order, so the later of two changes of a
// key that Debezium stamped alike wins in every sink.
func (d *Decoder) rank(stream string, base, floor uint64) change.Position {
	tie := floor
	if last, ok := d.runs[stream]; ok && last.Base == base {
		tie = max(tie, min(last.Tie+1, maxTie))
	}
	d.runs[stream] = Run{base, tie}
	return change.Position(base<<tieBits | tie)
}

// position computes and ranks the Position of an event.
func (d *Decoder) position(e *envelope, m Meta) (change.Position, error) {
	base, row, err := e.position(m.Seq)
	if err != nil {
		return 0, err
	}
	return d.rank(m.Stream, base, row), nil
}
