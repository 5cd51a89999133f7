package bigquery

import (
	"bytes"
	"context"
	"fmt"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"

	"github.com/beamsync/beamsync/change"
)

// rowRef is a row of a load buffer: where its line ends and what a dead
// letter needs to name it.
type rowRef struct {
	end       int
	key       []any
	pos       change.Position
	sourcePos string
	delete    bool
}

// rejection is a row BigQuery refused, with its line and the reason.
type rejection struct {
	row    rowRef
	line   []byte
	reason string
}

// loadResult is what loading a buffer did.
type loadResult struct {
	handled  int // leading rows loaded or rejected
	loaded   int64
	jobs     int64
	bytes    int64
	rejected []rejection
}

// load appends newline-delimited JSON rows to a table. Retryable errors are
// retried under the policy. When BigQuery refuses the data, the rows are
// split in halves and loaded again, down to single rows, so that only the
// refused rows are left out (returned in res.rejected with BigQuery's
// reason) and the others are written; past cfg.MaxRejectedRows refused rows
// load fails.
//
// Invariant: a load job appends all of its rows or none, and every row
// carries its key and version, so a load repeated after a lost answer only
// adds duplicates, which every read of the table (newest record per key)
// ignores.
func (v *View) load(ctx context.Context, dst tableRef, data []byte, rows []rowRef, res *loadResult) error {
	return v.loadSplit(ctx, dst, data, 0, rows, res)
}

// loadSplit loads rows, whose lines are data (starting at offset base of
// the buffer the rows' ends refer to).
func (v *View) loadSplit(ctx context.Context, dst tableRef, data []byte, base int, rows []rowRef, res *loadResult) error {
	err := v.do(ctx, func(ctx context.Context) error { return v.loadOnce(ctx, dst, data) })
	res.jobs++
	if err == nil {
		res.handled += len(rows)
		res.loaded += int64(len(rows))
		res.bytes += int64(len(data))
		return nil
	}
	if classify(err) != classRejected {
		return fmt.Errorf("bigquery sink: view %s: loading %d rows into %s: %w", v.l.View, len(rows), dst, err)
	}
	if len(rows) == 1 {
		res.handled++
		res.rejected = append(res.rejected, rejection{row: rows[0], line: bytes.TrimSuffix(data, []byte("\n")), reason: serverReason(err)})
		if len(res.rejected) > v.cfg.MaxRejectedRows {
			return fmt.Errorf("bigquery sink: view %s: BigQuery refused more than %d rows of one batch (max_rejected_rows), a table or mapping problem rather than bad rows; the first: %s",
				v.l.View, v.cfg.MaxRejectedRows, res.rejected[0].reason)
		}
		return nil
	}
	mid := len(rows) / 2
	cut := rows[mid-1].end - base
	if err := v.loadSplit(ctx, dst, data[:cut], base, rows[:mid], res); err != nil {
		return err
	}
	return v.loadSplit(ctx, dst, data[cut:], base+cut, rows[mid:], res)
}

// loadOnce runs one load job of newline-delimited JSON from memory (a media
// upload in one request: no Cloud Storage bucket is needed) and waits for
// it.
func (v *View) loadOnce(ctx context.Context, dst tableRef, data []byte) error {
	job := &bqv2.Job{
		JobReference: &bqv2.JobReference{ProjectId: v.c.project, JobId: "beamsync_load_" + randomID(), Location: v.c.location},
		Configuration: &bqv2.JobConfiguration{Load: &bqv2.JobConfigurationLoad{
			DestinationTable:  &bqv2.TableReference{ProjectId: dst.Project, DatasetId: dst.Dataset, TableId: dst.Table},
			SourceFormat:      "NEWLINE_DELIMITED_JSON",
			WriteDisposition:  "WRITE_APPEND",
			CreateDisposition: "CREATE_NEVER",
		}},
	}
	j, err := v.c.svc.Jobs.Insert(v.c.project, job).
		Media(bytes.NewReader(data), googleapi.ContentType("application/octet-stream"), googleapi.ChunkSize(0)).
		Context(ctx).Do()
	if err != nil {
		return err
	}
	return v.wait(ctx, j)
}
