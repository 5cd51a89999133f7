package kafka

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
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
// and partition number; a partition with a position run (the decoder's
// order state after its last record) is "topic:partition@next~base.tie".
func (o offsets) checkpoint(runs func(tp) (debezium.Run, bool)) change.Checkpoint {
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
		if runs == nil {
			continue
		}
		if r, ok := runs(k); ok {
			b.WriteString("~" + r.String())
		}
	}
	return change.Checkpoint(b.String())
}

// parseCheckpoint parses "topic:partition@next[~base.tie],..." (the empty
// checkpoint is no offsets) into the offsets and the partitions' position
// runs.
func parseCheckpoint(cp change.Checkpoint) (offsets, map[tp]debezium.Run, error) {
	o := offsets{}
	runs := map[tp]debezium.Run{}
	if strings.TrimSpace(string(cp)) == "" {
		return o, runs, nil
	}
	for _, item := range strings.Split(string(cp), ",") {
		item, run, hasRun := strings.Cut(item, "~")
		at := strings.LastIndexByte(item, '@')
		colon := strings.LastIndexByte(item[:max(at, 0)], ':')
		if at < 0 || colon <= 0 {
			return nil, nil, fmt.Errorf("kafka checkpoint %q: %q is not topic:partition@offset", cp, item)
		}
		p, err1 := strconv.ParseInt(item[colon+1:at], 10, 32)
		n, err2 := strconv.ParseInt(item[at+1:], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || n < 0 {
			return nil, nil, fmt.Errorf("kafka checkpoint %q: %q is not topic:partition@offset (partition and offset are non-negative integers)", cp, item)
		}
		k := tp{item[:colon], int32(p)}
		if _, dup := o[k]; dup {
			return nil, nil, fmt.Errorf("kafka checkpoint %q names %s twice", cp, k)
		}
		o[k] = n
		if hasRun {
			r, err := debezium.ParseRun(run)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka checkpoint %q: %s: %w", cp, k, err)
			}
			runs[k] = r
		}
	}
	return o, runs, nil
}
