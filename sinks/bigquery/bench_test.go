package bigquery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"

	"github.com/beamsync/beamsync/change"
)

const (
	benchRows  = 20000
	benchBatch = 5000
)

func benchRecords() []change.Record {
	recs := make([]change.Record, benchRows)
	for i := range recs {
		recs[i] = order(int64(i), fmt.Sprintf("customer %d", i), change.Position(1000+i))
	}
	return recs
}

// BenchmarkWriterVsPlainLoop loads the same rows through the Writer and
// through a plain loop that sends them with the same client, in the same
// batches, by the same mechanism (one load job of newline-delimited JSON
// per batch, then polling the job), each into a fresh staging table of the
// same columns, and reports rows/s of both and their ratio. The rows go in
// segments in the order W P P W W P P W, so that a change of load on the
// machine (or the emulator slowing down as its store grows) weighs on both
// alike.
//
//	go test -run '^$' -bench WriterVsPlainLoop -benchtime 1x ./sinks/bigquery/
func BenchmarkWriterVsPlainLoop(b *testing.B) {
	ctx := context.Background()
	cfg := testConfig(b, ModeReplace)
	cfg.BatchRows = benchBatch
	client := sinkClient(b, cfg)
	recs := benchRecords()
	newView := func() *View {
		v, err := NewView(client, cfg, ordersView, NewRunID())
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Prepare(ctx); err != nil {
			b.Fatal(err)
		}
		return v
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
	// Warm up the emulator and the client's connections.
	warm := newView()
	writeAll(warm.NewWriter(), recs[:benchBatch])
	plainLoop(b, client, warm.tables.staging, recs[:benchBatch])

	var writerDur, plainDur time.Duration
	for b.Loop() {
		b.StopTimer()
		wv, pv := newView(), newView()
		b.StartTimer()
		w := wv.NewWriter()
		for i, order := range "WPPWWPPW" {
			part := recs[(i/2)*benchBatch : (i/2+1)*benchBatch]
			var d time.Duration
			if order == 'W' {
				d = writeAll(w, part)
				writerDur += d
			} else {
				d = plainLoop(b, client, pv.tables.staging, part)
				plainDur += d
			}
			b.Logf("segment %d %c: %.0f rows/s", i/2, order, float64(len(part))/d.Seconds())
		}
		if s := w.Stats(); s.Loaded != benchRows {
			b.Fatalf("writer loaded %d rows, want %d", s.Loaded, benchRows)
		}
		b.StopTimer()
		forgetJobs(ctx, mustReadClient(b, cfg))
		b.StartTimer()
	}
	n := float64(b.N * benchRows)
	writerRate, plainRate := n/writerDur.Seconds(), n/plainDur.Seconds()
	b.ReportMetric(writerRate, "writer_rows/s")
	b.ReportMetric(plainRate, "plain_rows/s")
	b.ReportMetric(writerRate/plainRate, "ratio")
}

// plainLoop is the baseline: rows encoded with encoding/json, then loaded
// in batches of benchBatch rows, one load job each, waited for in turn.
func plainLoop(b *testing.B, c *Client, dst tableRef, recs []change.Record) time.Duration {
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(recs); i += benchBatch {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, r := range recs[i:min(i+benchBatch, len(recs))] {
			d := r.Doc.Values
			row := map[string]any{"id": fmt.Sprint(d[0]), "customer": d[1], "total": d[2], "placed": d[3],
				VersionColumn: r.Position.String(), DeletedColumn: false}
			if err := enc.Encode(row); err != nil {
				b.Fatal(err)
			}
		}
		job := &bqv2.Job{Configuration: &bqv2.JobConfiguration{Load: &bqv2.JobConfigurationLoad{
			DestinationTable: &bqv2.TableReference{ProjectId: dst.Project, DatasetId: dst.Dataset, TableId: dst.Table},
			SourceFormat:     "NEWLINE_DELIMITED_JSON", WriteDisposition: "WRITE_APPEND", CreateDisposition: "CREATE_NEVER",
		}}}
		j, err := c.svc.Jobs.Insert(c.project, job).
			Media(bytes.NewReader(buf.Bytes()), googleapi.ContentType("application/octet-stream"), googleapi.ChunkSize(0)).
			Context(ctx).Do()
		if err != nil {
			b.Fatal(err)
		}
		for j.Status == nil || j.Status.State != "DONE" {
			if j, err = c.svc.Jobs.Get(j.JobReference.ProjectId, j.JobReference.JobId).Context(ctx).Do(); err != nil {
				b.Fatal(err)
			}
		}
		if j.Status.ErrorResult != nil {
			b.Fatal(j.Status.ErrorResult.Message)
		}
	}
	return time.Since(start)
}
