package bigquery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"

	"github.com/beamsync/beamsync/internal/retry"
)

// do runs op under the retry policy, counting retries.
func (v *View) do(ctx context.Context, op func(context.Context) error) error {
	return retry.Do(ctx, v.cfg.Retry, retryable, func(error) { v.retried.Add(1) }, op)
}

// exec runs a statement (DDL, DML or a script) and waits for it.
func (v *View) exec(ctx context.Context, sql string) error {
	_, err := v.query(ctx, sql)
	return err
}

// queryTimeout is how long one request of the query API waits for a job.
const queryTimeout = 10 * time.Second

// query runs a statement with the query API (one request for a short
// statement) and returns its rows. Repeated attempts carry the same request
// id, with which BigQuery runs the statement once.
func (v *View) query(ctx context.Context, sql string) ([]*bqv2.TableRow, error) {
	req := &bqv2.QueryRequest{Query: sql, UseLegacySql: new(bool), Location: v.c.location,
		RequestId: randomID(), TimeoutMs: queryTimeout.Milliseconds()}
	var rows []*bqv2.TableRow
	err := v.do(ctx, func(ctx context.Context) error {
		resp, err := v.c.svc.Jobs.Query(v.c.project, req).Context(ctx).Do()
		if err != nil {
			return err
		}
		rows = resp.Rows
		for done := resp.JobComplete; !done; {
			err := v.do(ctx, func(ctx context.Context) error {
				r, err := v.c.svc.Jobs.GetQueryResults(v.c.project, resp.JobReference.JobId).
					Location(resp.JobReference.Location).TimeoutMs(queryTimeout.Milliseconds()).Context(ctx).Do()
				if err == nil {
					done, rows = r.JobComplete, r.Rows
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return rows, err
}

// queryInts runs a query that returns one row of integers.
func (v *View) queryInts(ctx context.Context, sql string) ([]int64, error) {
	rows, err := v.query(ctx, sql)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("the query returned %d rows, want 1", len(rows))
	}
	out := make([]int64, len(rows[0].F))
	for i, c := range rows[0].F {
		s, _ := c.V.(string)
		if out[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("the query returned %v, want an integer", c.V)
		}
	}
	return out, nil
}

// wait polls a job until it is done and returns its error.
func (v *View) wait(ctx context.Context, j *bqv2.Job) error {
	pause := 100 * time.Millisecond
	for first := true; j.Status == nil || j.Status.State != "DONE"; first = false {
		if !first { // the first poll is at once: an emulator is done already
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			pause = min(2*pause, 2*time.Second)
		}
		ref := j.JobReference
		err := v.do(ctx, func(ctx context.Context) error {
			got, err := v.c.svc.Jobs.Get(ref.ProjectId, ref.JobId).Location(ref.Location).Context(ctx).Do()
			if err == nil {
				j = got
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return jobError(j.Status)
}

// randomID returns 32 random hex digits, for job and request ids.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isStatus reports an API error of the given HTTP status.
func isStatus(err error, status int) bool {
	var apiErr *googleapi.Error
	return errors.As(err, &apiErr) && apiErr.Code == status
}

func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("bigquery sink: "+format+": %w", append(args, err)...)
}
