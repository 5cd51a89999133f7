package bigquery

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2/google"
	bqv2 "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
)

// Client is the sink's connection to BigQuery: the BigQuery REST service,
// the project jobs run in, and the options it was made with (for the
// Storage Write API's client).
//
// The sink calls the REST service that cloud.google.com/go/bigquery is
// built on, not that package's Client: the latter repeats requests itself
// (until the context ends) under its own policy, while every request of
// the sink must go through the one retry policy, classified in one place
// and counted. Readers of the views use whatever client they like.
type Client struct {
	svc      *bqv2.Service
	project  string
	location string
	opts     []option.ClientOption
	cdcState
}

// NewClient returns the client the sink uses for cfg, with opts after the
// sink's own options.
//
// Credentials are the Application Default Credentials (the environment's
// service account key, the gcloud user, the worker's service account), and
// the project defaults to theirs. Only an Endpoint on this machine (an
// emulator) is called without credentials.
func NewClient(ctx context.Context, cfg Config, opts ...option.ClientOption) (*Client, error) {
	var o []option.ClientOption
	if cfg.Endpoint != "" {
		o = append(o, option.WithEndpoint(cfg.Endpoint))
		if localEndpoint(cfg.Endpoint) {
			o = append(o, option.WithoutAuthentication())
		}
	}
	o = append(o, opts...)
	svc, err := bqv2.NewService(ctx, o...)
	if err != nil {
		return nil, fmt.Errorf("bigquery sink: creating the BigQuery client: %w", err)
	}
	project := cfg.Project
	if project == "" {
		creds, err := google.FindDefaultCredentials(ctx, bqv2.BigqueryScope)
		if err != nil {
			return nil, fmt.Errorf("bigquery sink: no project set and no default credentials to take it from: %w", err)
		}
		if project = creds.ProjectID; project == "" {
			return nil, errors.New("bigquery sink: no project set and the default credentials name none: set project")
		}
	}
	return &Client{svc: svc, project: project, location: cfg.Location, opts: o}, nil
}

// Project returns the project the client's jobs run in.
func (c *Client) Project() string { return c.project }

// Close releases the client's connections.
func (c *Client) Close() error {
	if c.mw != nil {
		return c.mw.Close()
	}
	return nil
}
