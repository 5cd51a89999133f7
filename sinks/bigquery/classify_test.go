package bigquery

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"testing"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/beamsync/beamsync/internal/retry"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func apiError(code int, reason string) error {
	return fmt.Errorf("wrapped: %w", &googleapi.Error{Code: code, Message: "m", Errors: []googleapi.ErrorItem{{Reason: reason, Message: "m"}}})
}

func failedJob(reason string) error {
	return jobError(&bqv2.JobStatus{State: "DONE", ErrorResult: &bqv2.ErrorProto{Reason: reason, Message: "result"},
		Errors: []*bqv2.ErrorProto{{Reason: reason, Message: "row 3: bad date"}}})
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want errorClass
	}{
		{"429", apiError(429, "rateLimitExceeded"), classRetryable},
		{"403 rateLimitExceeded", apiError(403, "rateLimitExceeded"), classRetryable},
		{"500", apiError(500, "internalError"), classRetryable},
		{"502", apiError(502, ""), classRetryable},
		{"503 backendError", apiError(503, "backendError"), classRetryable},
		{"504", apiError(504, ""), classRetryable},
		{"400 invalid", apiError(400, "invalid"), classRejected},
		{"400 jobInternalError (the emulator's refused load)", apiError(400, "jobInternalError"), classRejected},
		{"400 invalidQuery", apiError(400, "invalidQuery"), classFatal},
		{"403 accessDenied", apiError(403, "accessDenied"), classFatal},
		{"404", apiError(404, "notFound"), classFatal},
		{"409", apiError(409, "duplicate"), classFatal},
		{"job invalid", failedJob("invalid"), classRejected},
		{"job backendError", failedJob("backendError"), classRetryable},
		{"job jobInternalError", failedJob("jobInternalError"), classRetryable},
		{"job accessDenied", failedJob("accessDenied"), classFatal},
		{"timeout", &url.Error{Op: "Post", URL: "u", Err: timeoutErr{}}, classRetryable},
		{"reset", &url.Error{Op: "Post", URL: "u", Err: syscall.ECONNRESET}, classRetryable},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), classRetryable},
		{"grpc unavailable", status.Error(codes.Unavailable, "x"), classRetryable},
		{"grpc resource exhausted", status.Error(codes.ResourceExhausted, "x"), classRetryable},
		{"grpc invalid argument", status.Error(codes.InvalidArgument, "x"), classFatal},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), classFatal},
		{"exhausted retries of a 503", errors.Join(retry.ErrExhausted, apiError(503, "backendError")), classRetryable},
		{"plain", errors.New("boom"), classFatal},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestServerReasonCarriesTheJobsMessages(t *testing.T) {
	got := serverReason(failedJob("invalid"))
	if !strings.Contains(got, "result") || !strings.Contains(got, "row 3: bad date") {
		t.Errorf("serverReason = %q", got)
	}
	if got := serverReason(apiError(400, "invalid")); got != "BigQuery refused the row: m" {
		t.Errorf("serverReason = %q", got)
	}
}
