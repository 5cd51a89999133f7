package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

const benchRows = 20000

var benchStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func benchRecords() []change.Record {
	recs := make([]change.Record, benchRows)
	for i := range recs {
		id := int64(i)
		recs[i] = change.Record{Key: []any{id}, Position: change.Position(1000 + i), Doc: &change.Doc{
			Names:  []string{"id", "name", "amount", "created_at"},
			Values: []any{id, "customer " + strconv.Itoa(i), change.Decimal(strconv.Itoa(i) + ".25"), benchStart.Add(time.Duration(i) * time.Second)},
		}}
	}
	return recs
}

// BenchmarkWriterVsPlainLoop writes the same rows through the Writer
// (conditional writes, first_load never) and through a plain loop sending
// the same conditional PutItems with the same client and concurrency, each
// into a fresh table, and reports rows/s of both and their ratio. The rows
// go in segments in the order W P P W W P P W, so that a change of load on
// the machine (or dynalite's store growing) weighs on both alike. The
// Writer's first-load path (BatchWriteItem) is reported alongside.
//
//	go test -run '^$' -bench WriterVsPlainLoop -benchtime 1x ./sinks/dynamodb/
func BenchmarkWriterVsPlainLoop(b *testing.B) {
	ep := dynalite(b)
	ctx := context.Background()
	base := testConfig(ep, "")
	base.FirstLoad = FirstLoadNever
	base = base.WithDefaults()
	client, err := NewClient(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchRecords()
	const segments = 4
	seg := len(recs) / segments
	var writerDur, plainDur, batchDur time.Duration

	newTable := func(prefix, firstLoad string) *Writer {
		cfg := base
		cfg.Table = testenv.UniqueName(prefix)
		cfg.FirstLoad = firstLoad
		b.Cleanup(func() { deleteTable(client, cfg.Table) })
		w, err := NewWriter(ctx, cfg, ordersView, WithClient(client))
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	writeAll := func(w *Writer, recs []change.Record) time.Duration {
		start := time.Now()
		for _, r := range recs {
			if err := w.Add(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}

	// Warm up dynalite (its JIT) and the client's connections first.
	warm := newTable("bench_warm", FirstLoadNever)
	writeAll(warm, recs[:2000])
	plainLoop(b, client, warm.Table(), recs[2000:4000], base.Concurrency)

	for b.Loop() {
		w := newTable("bench_w", FirstLoadNever)
		plain := newTable("bench_p", FirstLoadNever).Table() // created the same way
		for i, order := range "WPPWWPPW" {
			part := recs[(i/2)*seg : (i/2+1)*seg]
			var d time.Duration
			if order == 'W' {
				d = writeAll(w, part)
				writerDur += d
			} else {
				start := time.Now()
				plainLoop(b, client, plain, part, base.Concurrency)
				d = time.Since(start)
				plainDur += d
			}
			b.Logf("segment %d %c: %.0f rows/s", i/2, order, float64(len(part))/d.Seconds())
		}
		if s := w.Stats(); s.Written != benchRows {
			b.Fatalf("writer wrote %d rows, want %d", s.Written, benchRows)
		}
		batchDur += writeAll(newTable("bench_b", FirstLoadAuto), recs)
	}
	n := float64(b.N * benchRows)
	writerRate, plainRate := n/writerDur.Seconds(), n/plainDur.Seconds()
	b.ReportMetric(writerRate, "writer_rows/s")
	b.ReportMetric(plainRate, "plain_rows/s")
	b.ReportMetric(writerRate/plainRate, "ratio")
	b.ReportMetric(n/batchDur.Seconds(), "firstload_rows/s")
}

// plainLoop is the baseline: concurrency goroutines sending one
// conditional PutItem per row, items built by hand.
func plainLoop(b *testing.B, c API, table string, recs []change.Record, concurrency int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	names := map[string]string{"#pk": "id", "#v": "_version"}
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(recs) {
					return
				}
				r := &recs[i]
				d := r.Doc.Values
				item := map[string]types.AttributeValue{
					"id":         &types.AttributeValueMemberN{Value: strconv.FormatInt(d[0].(int64), 10)},
					"name":       &types.AttributeValueMemberS{Value: d[1].(string)},
					"amount":     &types.AttributeValueMemberN{Value: string(d[2].(change.Decimal))},
					"created_at": &types.AttributeValueMemberS{Value: d[3].(time.Time).Format(time.RFC3339Nano)},
					"_version":   &types.AttributeValueMemberN{Value: r.Position.String()},
				}
				_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{
					TableName:                 aws.String(table),
					Item:                      item,
					ConditionExpression:       aws.String(guardCondition),
					ExpressionAttributeNames:  names,
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: r.Position.String()}},
				})
				if err != nil {
					failed.Store(fmt.Errorf("row %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriterOverhead is BenchmarkWriterVsPlainLoop against an
// in-process API that answers every PutItem after a fixed 1ms, so that the
// Writer's own cost shows without the noise of a shared dynalite.
func BenchmarkWriterOverhead(b *testing.B) {
	ctx := context.Background()
	api := &latencyAPI{delay: time.Millisecond}
	cfg := Config{Table: "bench", FirstLoad: FirstLoadNever}.WithDefaults()
	recs := benchRecords()
	var writerDur, plainDur time.Duration
	for b.Loop() {
		w, err := NewWriter(ctx, cfg, ordersView, WithClient(api))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, r := range recs {
			if err := w.Add(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		writerDur += time.Since(start)
		start = time.Now()
		plainLoop(b, api, "bench", recs, cfg.Concurrency)
		plainDur += time.Since(start)
	}
	n := float64(b.N * benchRows)
	b.ReportMetric(n/writerDur.Seconds(), "writer_rows/s")
	b.ReportMetric(n/plainDur.Seconds(), "plain_rows/s")
	b.ReportMetric(plainDur.Seconds()/writerDur.Seconds(), "ratio")
}

// latencyAPI answers after a fixed delay; its table "bench" exists and
// holds items, so writers use conditional writes.
type latencyAPI struct {
	API
	delay time.Duration
}

func (a *latencyAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	time.Sleep(a.delay)
	return &dynamodb.PutItemOutput{}, nil
}

func (a *latencyAPI) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{
		TableName:            in.TableName,
		TableStatus:          types.TableStatusActive,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeN}},
	}}, nil
}
