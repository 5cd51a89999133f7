package opensearch

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/sinks/opensearch/ostest"
)

const benchRows = 50000

func benchView() change.ViewSchema {
	return change.ViewSchema{Name: "bench", Key: []string{"id"}, Fields: []change.Field{
		{Name: "id", Kind: change.KindInt}, {Name: "name", Kind: change.KindString}, {Name: "qty", Kind: change.KindInt},
		{Name: "price", Kind: change.KindDecimal}, {Name: "active", Kind: change.KindBool},
		{Name: "created", Kind: change.KindTimestamp}, {Name: "day", Kind: change.KindDate},
		{Name: "note", Kind: change.KindString}}}
}

func benchRecords() []change.Record {
	names := []string{"id", "name", "qty", "price", "active", "created", "day", "note"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]change.Record, benchRows)
	for i := range out {
		id := int64(i * 7919 % benchRows)
		out[i] = change.Record{Key: []any{id}, SourcePos: "bench", Doc: &change.Doc{Names: names, Values: []any{
			id, fmt.Sprintf("customer %d", id), id % 97, change.Decimal(fmt.Sprintf("%d.%02d", id, id%100)), id%2 == 0,
			t0.Add(time.Duration(id) * time.Second), change.Date("2026-01-01"), "a note of some length to look like a row",
		}}}
	}
	return out
}

// BenchmarkWriterVsPlainLoop writes 50,000 rows per iteration through the
// Writer and through a plain loop that sends the same _bulk bodies, in the
// same batch sizes, with the same client, to the ostest server; it reports
// both rates and writer/plain (target ≥ 0.8).
func BenchmarkWriterVsPlainLoop(b *testing.B) {
	for _, conc := range []int{1, 2} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			srv := ostest.NewServer(b)
			ctx := context.Background()
			cfg := Config{Addresses: []string{srv.URL}, Concurrency: conc}.WithDefaults()
			view := benchView()
			if err := EnsureIndex(ctx, cfg, view); err != nil {
				b.Fatal(err)
			}
			client, err := newClient(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			recs := benchRecords()
			pos := change.Position(0)
			next := func() { // every run writes newer versions: nothing is skipped
				pos++
				for i := range recs {
					recs[i].Position = pos
				}
			}
			var plain, writer time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				runs := []func(){
					func() { next(); plain += timed(func() { plainLoop(b, ctx, client, cfg.BatchRows, recs) }) },
					func() { next(); writer += timed(func() { writerLoop(b, ctx, client, cfg, view, recs) }) },
				}
				if i%2 == 1 {
					runs[0], runs[1] = runs[1], runs[0]
				}
				runs[0]()
				runs[1]()
			}
			n := float64(benchRows * b.N)
			b.ReportMetric(n/plain.Seconds(), "plain-rows/s")
			b.ReportMetric(n/writer.Seconds(), "writer-rows/s")
			b.ReportMetric(plain.Seconds()/writer.Seconds(), "writer/plain")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func timed(f func()) time.Duration {
	t := time.Now()
	f()
	return time.Since(t)
}

// plainLoop is the baseline: encode a batch, send it, check the answer.
func plainLoop(b *testing.B, ctx context.Context, c *opensearchapi.Client, batchRows int, recs []change.Record) {
	enc := bulkEncoder{tombstones: true}
	requireAlias := true
	var body []byte
	for start := 0; start < len(recs); start += batchRows {
		body = body[:0]
		for i := start; i < min(start+batchRows, len(recs)); i++ {
			var err error
			if body, _, err = enc.append(body, &recs[i]); err != nil {
				b.Fatal(err)
			}
		}
		resp, err := c.Bulk(ctx, opensearchapi.BulkReq{Index: "bench", Body: bytes.NewReader(body),
			Params: opensearchapi.BulkParams{RequireAlias: &requireAlias}})
		if err != nil || resp.Errors {
			b.Fatalf("plain loop: %v (errors %v)", err, resp.Errors)
		}
	}
}

func writerLoop(b *testing.B, ctx context.Context, c *opensearchapi.Client, cfg Config, view change.ViewSchema, recs []change.Record) {
	w, err := NewWriter(ctx, cfg, view, withClient(c))
	if err != nil {
		b.Fatal(err)
	}
	for i := range recs {
		if err := w.Add(ctx, recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if st := w.Stats(); st.Written != benchRows {
		b.Fatalf("writer stats %+v", st)
	}
}
