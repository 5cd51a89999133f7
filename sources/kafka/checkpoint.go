package kafka

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
)

// tp names a partition of a topic.
type tp struct {
	topic     string
	partition int32
}

func (p tp) String() string { return p.topic + "/" + strconv.Itoa(int(p.partition)) }

// offsets maps partitions to the offset of the next record to read.
type offsets map[tp]int64

// checkpoint renders offsets as "topic:partition@next,...", sorted by topic
// and partition number.
func (o offsets) checkpoint() change.Checkpoint {
	keys := make([]tp, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tp) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d@%d", k.topic, k.partition, o[k])
	}
	return change.Checkpoint(b.String())
}

// parseCheckpoint parses "topic:partition@next,..." (the empty checkpoint
// is no offsets).
func parseCheckpoint(cp change.Checkpoint) (offsets, error) {
	o := offsets{}
	if strings.TrimSpace(string(cp)) == "" {
		return o, nil
	}
	for _, item := range strings.Split(string(cp), ",") {
		at := strings.LastIndexByte(item, '@')
		colon := strings.LastIndexByte(item[:max(at, 0)], ':')
		if at < 0 || colon <= 0 {
			return nil, fmt.Errorf("kafka checkpoint %q: %q is not topic:partition@offset", cp, item)
		}
		p, err1 := strconv.ParseInt(item[colon+1:at], 10, 32)
		n, err2 := strconv.ParseInt(item[at+1:], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || n < 0 {
			return nil, fmt.Errorf("kafka checkpoint %q: %q is not topic:partition@offset (partition and offset are non-negative integers)", cp, item)
		}
		k := tp{item[:colon], int32(p)}
		if _, dup := o[k]; dup {
			return nil, fmt.Errorf("kafka checkpoint %q names %s twice", cp, k)
		}
		o[k] = n
	}
	return o, nil
}
