package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sources/debezium"
)

// sampleIdle ends Describe's sampling when no record arrives for this long
// (a partition whose last offsets are transaction markers never reaches
// its high watermark with records).
const sampleIdle = 2 * time.Second

// Describe returns the tables of the topics: the declared Config.Tables,
// else the tables inferred (as sources/files infers them from a file) from
// up to Config.Sample messages per partition, read from the earliest
// offsets with a plain client (no group, nothing committed). It fails with
// a clear error when the brokers do not answer, a topic does not exist, or
// the sample holds no decodable change event.
func Describe(ctx context.Context, cfg Config) ([]*change.Table, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(cfg.Tables) > 0 {
		return declared(cfg)
	}
	cl, err := kgo.NewClient(clientOpts(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	defer cl.Close()
	if err := ping(ctx, cl, cfg); err != nil {
		return nil, err
	}
	parts, err := partitions(ctx, cl, cfg)
	if err != nil {
		return nil, err
	}
	start, err := listOffsets(ctx, cl, cfg, parts, atEarliest)
	if err != nil {
		return nil, err
	}
	end, err := listOffsets(ctx, cl, cfg, parts, atLatest)
	if err != nil {
		return nil, err
	}
	d := debezium.NewDescriber(cfg.options())
	n, err := sample(ctx, cfg, start, end, func(r *kgo.Record) { d.AddRecord(r.Key, r.Value) })
	if err != nil {
		return nil, err
	}
	used, passed := d.Counts()
	topics := strings.Join(cfg.Topics, ",")
	switch {
	case n == 0:
		return nil, fmt.Errorf("kafka source: topics %s are empty: no table can be inferred; declare the tables (tables: name, key, columns) or describe once Debezium has written events", topics)
	case used == 0:
		return nil, fmt.Errorf("kafka source: none of the %d messages sampled from topics %s is a Debezium change event (%d passed over: tombstones, undecodable, no source.table%s); declare the tables or check the topics and the converter (JSON, with or without schemas)",
			n, topics, passed, outboxHint(cfg))
	}
	tables, err := d.Tables(nil)
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	return tables, nil
}

func outboxHint(cfg Config) string {
	if cfg.Outbox != nil {
		return ", or outbox rows without aggregate type or id"
	}
	return ""
}

// declared returns the declared tables.
func declared(cfg Config) ([]*change.Table, error) {
	tables := make([]*change.Table, 0, len(cfg.Tables))
	for i, spec := range cfg.Tables {
		t, err := spec.table(cfg.Outbox != nil)
		if err != nil {
			return nil, fmt.Errorf("kafka source: tables[%d]: %w", i, err)
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// sample reads up to cfg.Sample records of every partition from start
// (below end), calling fn in partition order. It returns the number read.
func sample(ctx context.Context, cfg Config, start, end offsets, fn func(*kgo.Record)) (int, error) {
	want := map[string]map[int32]kgo.Offset{}
	left := map[tp]int64{} // records still wanted per partition
	for p, s := range start {
		if e := end[p]; e > s {
			if want[p.topic] == nil {
				want[p.topic] = map[int32]kgo.Offset{}
			}
			want[p.topic][p.partition] = kgo.NewOffset().At(s)
			left[p] = min(int64(cfg.Sample), e-s)
		}
	}
	if len(left) == 0 {
		return 0, nil
	}
	cl, err := kgo.NewClient(append(clientOpts(cfg), kgo.ConsumePartitions(want))...)
	if err != nil {
		return 0, fmt.Errorf("kafka source: %w", err)
	}
	defer cl.Close()
	n := 0
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, sampleIdle)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if pctx.Err() != nil && fetches.NumRecords() == 0 {
			break // idle: what is left are not records
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("kafka source: sampling %s: %w", tp{t, p}, err))
			}
		})
		if err := errors.Join(errs...); err != nil {
			return n, err
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			k := tp{fp.Topic, fp.Partition}
			for _, r := range fp.Records {
				if left[k] <= 0 {
					break
				}
				fn(r)
				n++
				left[k]--
				if r.Offset+1 >= end[k] {
					left[k] = 0
				}
			}
			if left[k] <= 0 {
				delete(left, k)
			}
		})
	}
	return n, nil
}
