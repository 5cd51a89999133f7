package dynamodb

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// API is the part of *dynamodb.Client the sink uses; tests put a counting
// or fault-injecting wrapper in its place (WithClient).
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// localCredentials are the dummy credentials of a local endpoint; they are
// never sent anywhere else.
var localCredentials = credentials.NewStaticCredentialsProvider("beamsync-local", "beamsync-local", "")

// NewClient returns the DynamoDB client the sink uses for cfg.
//
// Credentials come from the AWS default chain (environment, shared config
// and credentials files, SSO, web identity, the instance or task role).
// Only when Endpoint is on this machine (localhost or a loopback address:
// dynalite, DynamoDB Local) are static dummy credentials used instead, and
// the region defaults to us-east-1. A remote Endpoint (a VPC endpoint) keeps
// the default chain.
//
// The SDK's own retryer is switched off: the sink's retry.Policy is the one
// retry policy, applied per item and counted in Stats.Retried.
func NewClient(ctx context.Context, cfg Config) (*dynamodb.Client, error) {
	cfg = cfg.WithDefaults()
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * cfg.Concurrency
		t.MaxIdleConnsPerHost = 2 * cfg.Concurrency
	})
	opts := func(o *dynamodb.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = httpClient
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}
	if cfg.Endpoint != "" && localEndpoint(cfg.Endpoint) {
		region := cfg.Region
		if region == "" {
			region = DefaultRegion
		}
		o := dynamodb.Options{Region: region, Credentials: localCredentials}
		opts(&o)
		return dynamodb.New(o), nil
	}
	var load []func(*config.LoadOptions) error
	if cfg.Region != "" {
		load = append(load, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("dynamodb sink: no AWS region: set region in the sink or AWS_REGION")
	}
	return dynamodb.NewFromConfig(awsCfg, opts), nil
}
