package bigquery

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"

	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorClass is what an error means for the request that got it.
type errorClass int

const (
	// classFatal: neither retryable nor the rows' fault (credentials, a
	// missing dataset, invalid SQL, a cancelled context): the operation
	// fails.
	classFatal errorClass = iota
	// classRetryable: throttling, server errors, timeouts, broken
	// connections: the request is repeated under the retry policy.
	classRetryable
	// classRejected: BigQuery refuses the data of a load for good: the rows
	// are split until the refused ones are found and dead-lettered.
	classRejected
)

// retryableStatus are the HTTP statuses of a request worth repeating.
var retryableStatus = []int{http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// requestRetryReasons are BigQuery's error reasons of a request worth
// repeating, whatever its status.
var requestRetryReasons = []string{"rateLimitExceeded", "backendError"}

// jobRetryReasons are the reasons of a failed job worth running again
// (BigQuery's documentation says to retry a job on internal errors).
var jobRetryReasons = []string{"rateLimitExceeded", "backendError", "internalError",
	"jobRateLimitExceeded", "jobInternalError", "jobBackendError"}

// classify decides, by error type, what a BigQuery error means. It is the
// only place where the sink tells retryable from permanent errors.
func classify(err error) errorClass {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classFatal
	}
	var (
		apiErr *googleapi.Error
		jobErr *jobFailure
		netErr net.Error
	)
	switch {
	case errors.As(err, &apiErr):
		// A request's answer. A 400 "invalid", or the emulator's 400
		// "jobInternalError" for a load whose rows it cannot store, is the
		// data's fault; other 4xx answers are the request's.
		if slices.Contains(retryableStatus, apiErr.Code) {
			return classRetryable
		}
		for _, e := range apiErr.Errors {
			if slices.Contains(requestRetryReasons, e.Reason) {
				return classRetryable
			}
		}
		if apiErr.Code == http.StatusBadRequest && len(apiErr.Errors) > 0 &&
			(apiErr.Errors[0].Reason == "invalid" || apiErr.Errors[0].Reason == "jobInternalError") {
			return classRejected
		}
		return classFatal
	case errors.As(err, &jobErr):
		// A failed job's status: "invalid" is a load's data error.
		switch reason := jobErr.result.Reason; {
		case slices.Contains(jobRetryReasons, reason):
			return classRetryable
		case reason == "invalid":
			return classRejected
		}
		return classFatal
	case isGRPC(err):
		// A Storage Write API answer.
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.DeadlineExceeded:
			return classRetryable
		}
		return classFatal
	case errors.As(err, &netErr) && netErr.Timeout():
		return classRetryable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.ErrUnexpectedEOF):
		return classRetryable // the request may not have arrived; every request is idempotent
	}
	return classFatal
}

// isGRPC reports an error carrying a gRPC status.
func isGRPC(err error) bool {
	var s interface{ GRPCStatus() *status.Status }
	return errors.As(err, &s)
}

// retryable is classify as the retry policy's predicate.
func retryable(err error) bool { return classify(err) == classRetryable }

// jobFailure is a job that ended with an error: the error result and the
// job's other errors (a load's per-row messages).
type jobFailure struct {
	result *bqv2.ErrorProto
	errors []*bqv2.ErrorProto
}

// Error returns the distinct messages of the job's errors, the error
// result's first.
func (e *jobFailure) Error() string {
	var msgs []string
	for _, p := range append([]*bqv2.ErrorProto{e.result}, e.errors...) {
		if p != nil && p.Message != "" && !slices.Contains(msgs, p.Message) {
			msgs = append(msgs, p.Message)
		}
	}
	if len(msgs) == 0 {
		return "job failed: " + e.result.Reason
	}
	return strings.Join(msgs, "; ")
}

// jobError returns the error of a finished job, nil if it succeeded.
func jobError(st *bqv2.JobStatus) error {
	if st == nil || st.ErrorResult == nil {
		return nil
	}
	return &jobFailure{result: st.ErrorResult, errors: st.Errors}
}

// serverReason is the reason of a rejected row: BigQuery's messages.
func serverReason(err error) string {
	var jf *jobFailure
	if errors.As(err, &jf) {
		return "BigQuery refused the row: " + jf.Error()
	}
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if msg == "" && len(apiErr.Errors) > 0 {
			msg = apiErr.Errors[0].Message
		}
		return "BigQuery refused the row: " + msg
	}
	return "BigQuery refused the row: " + err.Error()
}
