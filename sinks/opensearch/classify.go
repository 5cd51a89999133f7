package opensearch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchtransport"
)

// outcome is what a response (of a request or of one _bulk item) means for
// the records it carried.
type outcome int

const (
	applied   outcome = iota // written (or a delete of an absent document)
	older                    // the index already holds this version or a newer one
	retryable                // transient: send again after a backoff
	rejected                 // this record can never be written: dead letter
	fatal                    // the target itself is unusable: fail the write
)

// classify decides what a status and an OpenSearch error type mean. It is
// the one place where retryable and permanent failures are told apart, for
// whole requests and single _bulk items alike.
func classify(status int, errType string) outcome {
	switch errType {
	case "version_conflict_engine_exception":
		return older
	case "es_rejected_execution_exception", "rejected_execution_exception",
		"circuit_breaking_exception", "process_cluster_event_timeout_exception", "node_not_connected_exception",
		"no_shard_available_action_exception", "unavailable_shards_exception":
		return retryable
	case "index_not_found_exception", "invalid_index_name_exception", "index_closed_exception",
		"cluster_block_exception", "security_exception":
		return fatal
	}
	switch {
	case status < 300, status == http.StatusNotFound && errType == "": // a delete of an absent document
		return applied
	case status == http.StatusTooManyRequests, status == http.StatusInternalServerError,
		status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return retryable
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status == http.StatusMethodNotAllowed, status == http.StatusNotAcceptable, status == http.StatusRequestEntityTooLarge:
		return fatal
	}
	return rejected
}

// requestError is a request OpenSearch (or something in front of it)
// answered with an error status.
type requestError struct {
	Op     string // what was being done, e.g. "writing bulk request to orders"
	Status int
	Type   string // OpenSearch's error type, when the body had one
	Reason string
}

func (e *requestError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%s: status %d: %s: %s", e.Op, e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("%s: status %d: %s", e.Op, e.Status, e.Reason)
}

// asRequestError turns a client error into a requestError when the server
// answered; resp is the response the client returned with the error.
func asRequestError(op string, status int, err error) error {
	if err == nil {
		return nil
	}
	var se *opensearch.StructError
	var str *opensearch.StringError
	switch {
	case errors.As(err, &se):
		return &requestError{Op: op, Status: se.Status, Type: se.Err.Type, Reason: reasonOf(se.Err.Reason, se.Err.CausedBy)}
	case errors.As(err, &str):
		return &requestError{Op: op, Status: str.Status, Reason: str.Err}
	case status >= 400:
		return &requestError{Op: op, Status: status, Reason: err.Error()}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func reasonOf(reason string, c *opensearch.CausedBy) string {
	for ; c != nil; c = c.CausedBy {
		reason += fmt.Sprintf(" (caused by %s: %s)", c.Type, c.Reason)
	}
	return reason
}

// isRetryable reports whether a failed request is worth sending again:
// statuses and error types by classify, and transport failures (timeouts,
// resets, refused connections, cut responses) unless ctx itself ended.
func isRetryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var re *requestError
	if errors.As(err, &re) {
		return classify(re.Status, re.Type) == retryable
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), // a per-attempt timeout, ctx is alive
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, opensearchtransport.ErrNoConnections),
		errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}
