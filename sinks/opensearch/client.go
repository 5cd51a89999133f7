package opensearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/internal/retry"
)

// requestTimeout bounds one attempt of a request; a timed-out attempt is
// retried under the retry policy like any transient failure. (A variable
// for the tests.)
var requestTimeout = time.Minute

// newClient builds the official client. The sink owns retries (the retry
// policy), so the client's own are off.
func newClient(cfg Config) (*opensearchapi.Client, error) {
	oc := opensearch.Config{
		Addresses:          cfg.Addresses,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		DisableRetry:       true,
		RequestTimeout:     requestTimeout,
	}
	if cfg.UsernameEnv != "" {
		user, pass := os.Getenv(cfg.UsernameEnv), os.Getenv(cfg.PasswordEnv)
		if user == "" || pass == "" {
			return nil, fmt.Errorf("opensearch credentials: environment variables %s and %s must both be set", cfg.UsernameEnv, cfg.PasswordEnv)
		}
		oc.Username, oc.Password = user, pass
	}
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: oc})
	if err != nil {
		return nil, fmt.Errorf("creating opensearch client: %w", err)
	}
	return c, nil
}

// admin runs the index and alias requests of the sink, each retried under
// the policy when it fails transiently.
type admin struct {
	c      *opensearchapi.Client
	policy retry.Policy
}

func (a admin) do(ctx context.Context, op string, f func(ctx context.Context) (*opensearch.Response, error)) error {
	return retry.Do(ctx, a.policy, func(err error) bool { return isRetryable(ctx, err) }, nil,
		func(ctx context.Context) error {
			resp, err := f(ctx)
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			return asRequestError(op, status, err)
		})
}

func jsonReader(v any) *bytes.Reader {
	b, err := json.Marshal(v)
	if err != nil { // maps of JSON-able values only; a failure is a bug
		panic(fmt.Sprintf("opensearch: encoding a request body: %v", err))
	}
	return bytes.NewReader(b)
}

// aliasFilters returns the indices an alias points to, each with its
// filter (raw JSON, nil when unfiltered); an empty map when the alias does
// not exist.
func (a admin) aliasFilters(ctx context.Context, alias string) (map[string]json.RawMessage, error) {
	var resp *opensearchapi.AliasGetResp
	err := a.do(ctx, "reading alias "+alias, func(ctx context.Context) (*opensearch.Response, error) {
		var err error
		resp, err = a.c.Indices.Alias.Get(ctx, opensearchapi.AliasGetReq{Alias: []string{alias}})
		return resp.Inspect().Response, err
	})
	out := map[string]json.RawMessage{}
	if isNotFound(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for index, ai := range resp.GetIndices() {
		if def, ok := ai.Aliases[alias]; ok {
			var d struct {
				Filter json.RawMessage `json:"filter"`
			}
			if err := json.Unmarshal(def, &d); err != nil {
				return nil, fmt.Errorf("reading alias %s: %w", alias, err)
			}
			out[index] = d.Filter
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	var re *requestError
	return errors.As(err, &re) && re.Status == http.StatusNotFound
}

// indexExists reports whether a name is an index or an alias.
func (a admin) indexExists(ctx context.Context, name string) (bool, error) {
	exists := false
	err := a.do(ctx, "checking index "+name, func(ctx context.Context) (*opensearch.Response, error) {
		resp, err := a.c.Indices.Exists(ctx, opensearchapi.IndicesExistsReq{Indices: []string{name}})
		if resp != nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound) {
			exists = resp.StatusCode == http.StatusOK
			return resp, nil
		}
		return resp, err
	})
	return exists, err
}

func (a admin) createIndex(ctx context.Context, name string, body map[string]any) error {
	return a.do(ctx, "creating index "+name, func(ctx context.Context) (*opensearch.Response, error) {
		resp, err := a.c.Indices.Create(ctx, opensearchapi.IndicesCreateReq{Index: name, Body: jsonReader(body)})
		return resp.Inspect().Response, err
	})
}

func (a admin) updateAliases(ctx context.Context, actions []map[string]any) error {
	return a.do(ctx, "updating aliases", func(ctx context.Context) (*opensearch.Response, error) {
		resp, err := a.c.Aliases(ctx, opensearchapi.AliasesReq{Body: jsonReader(map[string]any{"actions": actions})})
		return resp.Inspect().Response, err
	})
}

func (a admin) refresh(ctx context.Context, index string) error {
	return a.do(ctx, "refreshing index "+index, func(ctx context.Context) (*opensearch.Response, error) {
		resp, err := a.c.Indices.Refresh(ctx, &opensearchapi.IndicesRefreshReq{Index: []string{index}})
		return resp.Inspect().Response, err
	})
}

func (a admin) deleteIndices(ctx context.Context, names []string) error {
	return a.do(ctx, fmt.Sprintf("deleting indices %v", names), func(ctx context.Context) (*opensearch.Response, error) {
		resp, err := a.c.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: names})
		return resp.Inspect().Response, err
	})
}
