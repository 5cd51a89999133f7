package dynamodb

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrRejected is returned by a writer without a dead-letter function for a
// record DynamoDB can never store (the other records are written).
var ErrRejected = errors.New("dynamodb sink: record rejected")

// errUnprocessed is the error of a BatchWriteItem that left items
// unprocessed (DynamoDB's way of throttling part of a batch).
var errUnprocessed = errors.New("BatchWriteItem left items unprocessed")

// errorClass is what a write's error means for the record.
type errorClass int

const (
	// classFatal: not retryable and not the record's fault (credentials,
	// a missing table, a cancelled context): the flush fails.
	classFatal errorClass = iota
	// classRetryable: throttling, server errors, timeouts, broken
	// connections: the write is retried under the retry policy.
	classRetryable
	// classOlder: the version guard refused the write, the table already
	// holds this or a newer version of the key.
	classOlder
	// classRejected: DynamoDB refuses this item for good (validation): the
	// record is dead-lettered with the server's message.
	classRejected
)

// API error codes, for operations whose response has no modelled type for
// them (UpdateTimeToLive knows no ProvisionedThroughputExceededException)
// and for errors no operation models.
const (
	codeThroughput    = "ProvisionedThroughputExceededException"
	codeLimitExceeded = "RequestLimitExceeded"
	codeInternal      = "InternalServerError"

	codeValidation         = "ValidationException"
	codeThrottling         = "ThrottlingException"
	codeRequestTimeout     = "RequestTimeout"
	codeRequestTimeoutExc  = "RequestTimeoutException"
	codeUnknownOperation   = "UnknownOperationException"
	codeServiceUnavailable = "ServiceUnavailable"
)

// classify decides, by error type, what a DynamoDB error means. It is the
// only place where the sink tells retryable from permanent errors.
func classify(err error) errorClass {
	if err == nil {
		return classFatal
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classFatal
	}
	var (
		condFailed  *types.ConditionalCheckFailedException
		throughput  *types.ProvisionedThroughputExceededException
		throttling  *types.ThrottlingException
		limit       *types.RequestLimitExceeded
		internal    *types.InternalServerError
		replicated  *types.ReplicatedWriteConflictException
		collection  *types.ItemCollectionSizeLimitExceededException
		sendErr     *smithyhttp.RequestSendError
		respErr     *awshttp.ResponseError
		netErr      net.Error
		apiErr      smithy.APIError
		connErrFace interface{ ConnectionError() bool }
	)
	switch {
	case errors.As(err, &condFailed):
		return classOlder
	case errors.As(err, &throughput), errors.As(err, &throttling), errors.As(err, &limit),
		errors.As(err, &internal), errors.As(err, &replicated):
		return classRetryable
	case errors.As(err, &collection):
		return classRejected
	}
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case codeValidation:
			return classRejected
		case codeThroughput, codeLimitExceeded, codeInternal, codeThrottling, codeRequestTimeout, codeRequestTimeoutExc, codeServiceUnavailable:
			return classRetryable
		}
	}
	if errors.As(err, &respErr) {
		if s := respErr.HTTPStatusCode(); s >= 500 || s == 429 {
			return classRetryable
		}
	}
	switch {
	case errors.As(err, &sendErr), errors.As(err, &connErrFace) && connErrFace.ConnectionError():
		return classRetryable // the request may not have arrived; writes are idempotent
	case errors.As(err, &netErr) && netErr.Timeout():
		return classRetryable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF):
		return classRetryable
	}
	return classFatal
}

// retryable is classify as the retry policy's predicate.
func retryable(err error) bool { return classify(err) == classRetryable }

// serverMessage is the reason of a rejected item: the server's code and
// message.
func serverMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return "DynamoDB refused the item: " + apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	}
	return "DynamoDB refused the item: " + err.Error()
}

// unknownOperation reports an endpoint that does not implement an operation
// (dynalite has no UpdateTimeToLive).
func unknownOperation(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == codeUnknownOperation
}
