package opensearch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/beamsync/beamsync/internal/retry"
	"github.com/beamsync/beamsync/sinks/opensearch/ostest"
)

// tier is a server the sink's tests run against: the ostest server
// always, and a real OpenSearch when OPENSEARCH_URL is set.
type tier struct {
	url    string
	srv    *ostest.Server // nil for a real server
	client *opensearchapi.Client
}

// forEachTier runs a test against every tier.
func forEachTier(t *testing.T, fn func(t *testing.T, tr *tier)) {
	t.Run("ostest", func(t *testing.T) {
		srv := ostest.NewServer(t)
		fn(t, newTier(t, srv.URL, srv))
	})
	t.Run("opensearch", func(t *testing.T) {
		url := os.Getenv("OPENSEARCH_URL")
		if url == "" {
			t.Skip("real-server tier skipped: OPENSEARCH_URL is not set (no OpenSearch can be installed on these machines; " +
				"point OPENSEARCH_URL at a node, with OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD and OPENSEARCH_INSECURE=1 as needed)")
		}
		fn(t, newTier(t, url, nil))
	})
}

func newTier(t *testing.T, url string, srv *ostest.Server) *tier {
	t.Helper()
	c, err := newClient(tierConfig(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &tier{url: url, srv: srv, client: c}
}

// tierConfig is a sink configuration for a tier's URL with short backoffs.
func tierConfig(url string) Config {
	cfg := Config{Addresses: []string{url}, Retry: retry.Policy{Initial: time.Millisecond, Max: 20 * time.Millisecond, Attempts: 20},
		InsecureSkipVerify: os.Getenv("OPENSEARCH_INSECURE") == "1"}
	if os.Getenv("OPENSEARCH_USERNAME") != "" {
		cfg.UsernameEnv, cfg.PasswordEnv = "OPENSEARCH_USERNAME", "OPENSEARCH_PASSWORD"
	}
	return cfg
}

func (tr *tier) config() Config { return tierConfig(tr.url) }

// uniqueView returns a view name unique to this run, and deletes its
// indices when the test ends (on a real server).
func (tr *tier) uniqueView(t *testing.T, prefix string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = tr.client.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: []string{name + "-*"}})
		_, _ = tr.client.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: []string{name}})
	})
	return name
}

// passGCDeletes lets index.gc_deletes (gc) pass: the ostest clock moves;
// a real server is waited for and refreshed (it prunes deleted versions
// on refresh).
func (tr *tier) passGCDeletes(t *testing.T, index string, gc time.Duration) {
	t.Helper()
	if tr.srv != nil {
		tr.srv.Advance(gc + time.Second)
		return
	}
	time.Sleep(gc + 500*time.Millisecond)
	tr.refresh(t, index)
	time.Sleep(gc + 500*time.Millisecond)
	tr.refresh(t, index)
}

func (tr *tier) refresh(t *testing.T, index string) {
	t.Helper()
	if _, err := tr.client.Indices.Refresh(context.Background(), &opensearchapi.IndicesRefreshReq{Index: []string{index}}); err != nil {
		t.Fatalf("refreshing %s: %v", index, err)
	}
}

// count returns the documents a reader of an alias (or index) sees, after
// a refresh.
func (tr *tier) count(t *testing.T, name string) int {
	t.Helper()
	tr.refresh(t, name)
	resp, err := tr.client.Indices.Count(context.Background(), &opensearchapi.IndicesCountReq{Indices: []string{name}})
	if err != nil {
		t.Fatalf("counting %s: %v", name, err)
	}
	return resp.Count
}

// searchIDs returns the ids a reader of an alias finds (match_all).
func (tr *tier) searchIDs(t *testing.T, name string) []string {
	t.Helper()
	tr.refresh(t, name)
	resp, err := tr.client.Search(context.Background(), &opensearchapi.SearchReq{Indices: []string{name},
		Body: strings.NewReader(`{"size":10000,"query":{"match_all":{}}}`)})
	if err != nil {
		t.Fatalf("searching %s: %v", name, err)
	}
	var ids []string
	for _, h := range resp.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// get reads a document by id (realtime); found is false for a 404.
func (tr *tier) get(t *testing.T, index, id string) (source json.RawMessage, version int, found bool) {
	t.Helper()
	resp, err := tr.client.Document.Get(context.Background(), opensearchapi.DocumentGetReq{Index: index, DocumentID: id})
	if r := resp.Inspect().Response; r != nil && r.StatusCode == 404 && !resp.Found {
		return nil, 0, false
	}
	if err != nil {
		t.Fatalf("getting %s/%s: %v", index, id, err)
	}
	return resp.Source, resp.Version, resp.Found
}

// aliasIndices returns the indices an alias points to.
func (tr *tier) aliasIndices(t *testing.T, alias string) []string {
	t.Helper()
	filters, err := admin{c: tr.client, policy: tr.config().Retry}.aliasFilters(context.Background(), alias)
	if err != nil {
		t.Fatal(err)
	}
	return sortedNames(filters)
}
