package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/beamsync/beamsync/change"
)

// opErr wraps an error the way the SDK returns it.
func opErr(err error, status int) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "PutItem", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestClassify(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		name string
		err  error
		want errorClass
	}{
		{"conditional check", opErr(&types.ConditionalCheckFailedException{}, 400), classOlder},
		{"throughput", opErr(&types.ProvisionedThroughputExceededException{}, 400), classRetryable},
		{"throttling", opErr(&types.ThrottlingException{}, 400), classRetryable},
		{"request limit", opErr(&types.RequestLimitExceeded{}, 400), classRetryable},
		{"internal", opErr(&types.InternalServerError{}, 500), classRetryable},
		{"unmodelled throttling code", opErr(&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}, 400), classRetryable},
		{"503 without a body", opErr(&smithy.GenericAPIError{Code: "ServiceUnavailable"}, 503), classRetryable},
		{"502 unknown code", opErr(&smithy.GenericAPIError{Code: "BadGateway"}, 502), classRetryable},
		{"validation", opErr(&smithy.GenericAPIError{Code: "ValidationException", Message: "too big"}, 400), classRejected},
		{"item collection", opErr(&types.ItemCollectionSizeLimitExceededException{}, 400), classRejected},
		{"missing table", opErr(&types.ResourceNotFoundException{}, 400), classFatal},
		{"access denied", opErr(&smithy.GenericAPIError{Code: "AccessDeniedException"}, 400), classFatal},
		{"connection reset", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: syscall.ECONNRESET}}, classRetryable},
		{"bare reset", fmt.Errorf("reading: %w", syscall.ECONNRESET), classRetryable},
		{"timeout", fmt.Errorf("sending: %w", timeout), classRetryable},
		{"cut response", fmt.Errorf("decoding: %w", io.ErrUnexpectedEOF), classRetryable},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), classFatal},
		{"words only", errors.New("ThrottlingException: connection reset, 500"), classFatal},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Table: "app_{view}", Endpoint: "http://127.0.0.1:4567"}
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := Config{
		Table: "bad table!", Endpoint: "127.0.0.1:4567", BatchRows: 26, Concurrency: -1, FlushRows: -1,
		VersionAttribute: "_deleted", Deletes: "soft", FirstLoad: "always", TombstoneTTL: -time.Second,
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("an invalid config validated")
	}
	for _, field := range []string{"table", "endpoint", "batch_rows", "concurrency", "flush_rows", "version_attribute", "deletes", "first_load", "tombstone_ttl"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the error does not name %s:\n%v", field, err)
		}
	}
	d := Config{}.WithDefaults()
	if d.Table != "{view}" || !*d.CreateTables || d.BatchRows != 25 || d.Concurrency != 16 || d.VersionAttribute != "_version" ||
		d.Deletes != DeletesTombstone || d.TombstoneTTL != 7*24*time.Hour || d.FirstLoad != FirstLoadAuto || d.Retry.Attempts == 0 {
		t.Errorf("defaults: %+v", d)
	}
	if got := (&Config{TablePrefix: "rep_"}).TableName("orders"); got != "rep_orders" {
		t.Errorf("TableName = %q", got)
	}
}

func TestCheckViews(t *testing.T) {
	v := func(name string, key ...string) change.ViewSchema {
		return change.ViewSchema{Name: name, Key: key, Fields: []change.Field{{Name: "_version"}}}
	}
	err := CheckViews(Config{Table: "one_table"}, "ddb", []change.ViewSchema{v("a", "id"), v("b"), {Name: "c", Key: []string{"id"}}})
	if err == nil {
		t.Fatal("CheckViews accepted two views in one table, a view without a key and a reserved field")
	}
	for _, want := range []string{"would share table", "has no key", `"_version"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

func TestLocalEndpoint(t *testing.T) {
	for ep, want := range map[string]bool{
		"http://127.0.0.1:4567": true, "http://localhost:8000": true, "http://[::1]:4567": true,
		"https://dynamodb.eu-west-1.amazonaws.com": false, "http://10.0.0.5:4567": false, "": false,
	} {
		if got := localEndpoint(ep); got != want {
			t.Errorf("localEndpoint(%q) = %v", ep, got)
		}
	}
}
