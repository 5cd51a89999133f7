package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clientOpts are the options every client of the source uses.
func clientOpts(cfg Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DialTimeout(cfg.Timeout),
		kgo.RetryTimeout(cfg.Timeout),
		kgo.ClientID("beamsync"),
	}
}

// ping checks that a broker answers within the configured timeout.
func ping(ctx context.Context, cl *kgo.Client, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		if cerr := context.Cause(ctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			return cerr
		}
		return fmt.Errorf("kafka source: no broker of %s answered within %s (%v): check brokers and that Kafka runs there (timeout sets the wait)",
			strings.Join(cfg.Brokers, ","), cfg.Timeout, err)
	}
	return nil
}

// partitions returns the partitions of the topics, failing for a topic
// that does not exist.
func partitions(ctx context.Context, cl *kgo.Client, cfg Config) (map[string][]int32, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range cfg.Topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka source: reading the metadata of topics %s: %w", strings.Join(cfg.Topics, ","), err)
	}
	out := map[string][]int32{}
	var errs []error
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, fmt.Errorf("kafka source: topic %q does not exist on %s: check topics (and that Debezium has written to it)", name, strings.Join(cfg.Brokers, ",")))
			} else {
				errs = append(errs, fmt.Errorf("kafka source: topic %q: %w", name, err))
			}
			continue
		}
		for _, p := range t.Partitions {
			out[name] = append(out[name], p.Partition)
		}
		slices.Sort(out[name])
	}
	for _, t := range cfg.Topics {
		if _, ok := out[t]; !ok && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("kafka source: the brokers returned no metadata for topic %q: check topics", t))
		}
	}
	return out, errors.Join(errs...)
}

// Special timestamps of a ListOffsets request.
const (
	atEarliest = -2
	atLatest   = -1
)

// listOffsets returns the earliest or latest offset of each partition.
func listOffsets(ctx context.Context, cl *kgo.Client, cfg Config, parts map[string][]int32, at int64) (offsets, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for t, ps := range parts {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = t
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p
			rp.Timestamp = at
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka source: listing the offsets of %v: %w", parts, err)
	}
	out := offsets{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka source: listing the offsets of %s: %w", tp{t.Topic, p.Partition}, err)
			}
			out[tp{t.Topic, p.Partition}] = p.Offset
		}
	}
	return out, nil
}
