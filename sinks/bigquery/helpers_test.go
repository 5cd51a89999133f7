package bigquery

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/retry"
	"github.com/beamsync/beamsync/internal/testenv"
)

// The BigQuery emulator scripts/testenv.sh starts.
const (
	defaultEmulatorEndpoint = "http://127.0.0.1:9050"
	defaultEmulatorProject  = "test-proj"
)

func emulatorEndpoint() string {
	return envOr("BEAMSYNC_TEST_BIGQUERY_ENDPOINT", defaultEmulatorEndpoint)
}
func emulatorProject() string { return envOr("BEAMSYNC_TEST_BIGQUERY_PROJECT", defaultEmulatorProject) }

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// requireEmulator fails the test when the emulator is not listening.
func requireEmulator(t testing.TB) {
	t.Helper()
	u, err := url.Parse(emulatorEndpoint())
	if err != nil {
		t.Fatalf("BEAMSYNC_TEST_BIGQUERY_ENDPOINT: %v", err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Fatalf("BigQuery emulator not reachable at %s: %v\nstart it with: scripts/testenv.sh start (make test does this)", emulatorEndpoint(), err)
	}
	_ = c.Close()
}

// testConfig returns a configuration for the emulator with a dataset of
// its own, deleted with its tables when the test ends, and a quick retry
// policy.
func testConfig(t testing.TB, mode string) Config {
	t.Helper()
	requireEmulator(t)
	cfg := Config{
		Project:  emulatorProject(),
		Dataset:  testenv.UniqueName("bq"),
		Endpoint: emulatorEndpoint(),
		Mode:     mode,
		Retry:    retry.Policy{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond, Attempts: 10},
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := readClient(ctx, cfg)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.Dataset(cfg.Dataset).DeleteWithContents(ctx)
		forgetJobs(ctx, c)
	})
	return cfg
}

// forgetJobs deletes the emulator's record of every job: it keeps them all
// and reads them all on every request, so it slows down as jobs pile up.
func forgetJobs(ctx context.Context, c *bigquery.Client) {
	it := c.Jobs(ctx)
	for {
		j, err := it.Next()
		if err != nil {
			return
		}
		_ = j.Delete(ctx)
	}
}

// sinkClient returns the sink's client for cfg.
func sinkClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readClient returns a client of cloud.google.com/go/bigquery, what tests
// read the views with, as a reader would.
func readClient(ctx context.Context, cfg Config) (*bigquery.Client, error) {
	if cfg.Endpoint == "" {
		return bigquery.NewClient(ctx, cfg.Project)
	}
	return bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.Endpoint), option.WithoutAuthentication())
}

// realConfig returns a configuration for real BigQuery, in the project
// BEAMSYNC_BIGQUERY_PROJECT with Application Default Credentials (and the
// location BEAMSYNC_BIGQUERY_LOCATION), with a dataset of its own deleted
// when the test ends. Without that project the test is skipped, saying why
// the emulator cannot run it.
func realConfig(t testing.TB, mode, why string) Config {
	t.Helper()
	project := os.Getenv("BEAMSYNC_BIGQUERY_PROJECT")
	if project == "" {
		t.Skipf("needs real BigQuery (%s): set BEAMSYNC_BIGQUERY_PROJECT and Application Default Credentials to run it", why)
	}
	cfg := Config{Project: project, Dataset: testenv.UniqueName("beamsync_test"), Location: os.Getenv("BEAMSYNC_BIGQUERY_LOCATION"), Mode: mode}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := readClient(ctx, cfg); err == nil {
			_ = c.Dataset(cfg.Dataset).DeleteWithContents(ctx)
			_ = c.Close()
		}
	})
	return cfg
}

// ordersView is the view most tests write: an int key and a few fields.
var ordersView = change.ViewSchema{
	Name: "orders",
	Key:  []string{"id"},
	Fields: []change.Field{
		{Name: "id", Kind: change.KindInt},
		{Name: "customer", Kind: change.KindString, Nullable: true},
		{Name: "total", Kind: change.KindDecimal, Nullable: true},
		{Name: "placed", Kind: change.KindDate, Nullable: true},
	},
}

func order(id int64, customer string, pos change.Position) change.Record {
	return change.Record{
		Key: []any{id}, Position: pos, SourcePos: fmt.Sprintf("test@%d", pos),
		Doc: &change.Doc{
			Names:  []string{"id", "customer", "total", "placed"},
			Values: []any{id, customer, change.Decimal(fmt.Sprintf("%d.50", id)), change.Date("2024-02-29")},
		},
	}
}

func deleteOrder(id int64, pos change.Position) change.Record {
	return change.Record{Key: []any{id}, Delete: true, Position: pos, SourcePos: fmt.Sprintf("test@%d", pos)}
}

// runOnce writes records in one run (a View, a Writer, a Commit) and
// returns the commit's stats.
func runOnce(t testing.TB, cfg Config, schema change.ViewSchema, records []change.Record, opts ...WriterOption) (Stats, Stats) {
	t.Helper()
	ctx := context.Background()
	v, err := NewView(sinkClient(t, cfg), cfg, schema, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	w := v.NewWriter(opts...)
	for _, r := range records {
		if err := w.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := v.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w.Stats(), st
}

// viewRows reads a table's rows with the client's query iterator, keyed by
// their "id" column's text, the version column left out.
func viewRows(t testing.TB, cfg Config, table string) map[string]map[string]bigquery.Value {
	t.Helper()
	bq, err := readClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	q := bq.Query(fmt.Sprintf("SELECT * FROM `%s.%s.%s`", cfg.Project, cfg.Dataset, table))
	it, err := q.Read(context.Background())
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	out := map[string]map[string]bigquery.Value{}
	for {
		row := map[string]bigquery.Value{}
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", table, err)
		}
		out[fmt.Sprint(row["id"])] = row
	}
	return out
}

// customers renders a view's rows as "id=customer@version" in key order.
func customers(rows map[string]map[string]bigquery.Value) string {
	var out []string
	for id, r := range rows {
		ver := r[VersionColumn]
		if rat, ok := ver.(*big.Rat); ok {
			ver = rat.RatString()
		}
		out = append(out, fmt.Sprintf("%s=%v@%v", id, r["customer"], ver))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func mustReadClient(t testing.TB, cfg Config) *bigquery.Client {
	t.Helper()
	c, err := readClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
