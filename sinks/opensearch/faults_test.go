package opensearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// The faults a proxy answers every Nth request with.
var requestFaults = map[string]func(w http.ResponseWriter, r *http.Request, n int64){
	"429 rejected execution": func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}],`+
			`"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}`)
	},
	"503 from a load balancer": func(w http.ResponseWriter, _ *http.Request, _ int64) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body>503 Service Temporarily Unavailable</body></html>")
	},
	"stalled past the request timeout": func(w http.ResponseWriter, r *http.Request, _ int64) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	},
	"connection reset": func(w http.ResponseWriter, _ *http.Request, _ int64) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	},
}

func TestRequestFaultsRetried(t *testing.T) {
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = 300 * time.Millisecond
	forEachTier(t, func(t *testing.T, tr *tier) {
		for name, fault := range requestFaults {
			t.Run(name, func(t *testing.T) {
				proxy := testenv.NewFaultProxy(t, tr.url, 3, fault)
				cfg := tr.config()
				cfg.Addresses = []string{proxy.URL}
				cfg.BatchRows = 10
				view := simpleView(tr.uniqueView(t, "faults"))
				alias := ensure(t, cfg, view)
				w := newWriter(t, cfg, view)
				var recs []change.Record
				for i := int64(1); i <= 200; i++ {
					recs = append(recs, row(i, 1, "n", i))
				}
				write(t, w, recs...)
				// An attempt that timed out may still have been applied: its
				// retry then finds the same version (skipped as older).
				st := w.Stats()
				if st.Written+st.SkippedOlder != 200 || st.Retried == 0 {
					t.Fatalf("stats = %+v, want 200 written with retries", st)
				}
				if proxy.Faults() == 0 {
					t.Fatal("the proxy injected no faults")
				}
				if n := tr.count(t, alias); n != 200 {
					t.Fatalf("count = %d, want 200", n)
				}
			})
		}
	})
}

// itemFaultProxy forwards _bulk requests without every Nth action and
// answers those actions itself with a per-item 429, as a node whose write
// queue is full does; other requests pass through.
type itemFaultProxy struct {
	URL    string
	target *url.URL
	every  int

	mu       sync.Mutex
	actions  int
	requests []bulkRound
}

// bulkRound is what one _bulk request held and how many of its actions
// were rejected.
type bulkRound struct{ sent, rejected int }

func newItemFaultProxy(t *testing.T, target string, every int) *itemFaultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &itemFaultProxy{target: u, every: every}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			rp.ServeHTTP(w, r)
			return
		}
		p.bulk(t, w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *itemFaultProxy) rounds() []bulkRound {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bulkRound(nil), p.requests...)
}

func (p *itemFaultProxy) bulk(t *testing.T, w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	lines := bytes.SplitAfter(body, []byte("\n"))
	type action struct {
		lines    []byte
		kind, id string
		rejected bool
	}
	var actions []action
	p.mu.Lock()
	for i := 0; i < len(lines) && len(lines[i]) > 0; i++ {
		var meta map[string]map[string]any
		if err := json.Unmarshal(lines[i], &meta); err != nil {
			t.Errorf("item fault proxy: bad action line %q", lines[i])
		}
		a := action{lines: lines[i]}
		for k, v := range meta {
			a.kind, a.id = k, fmt.Sprint(v["_id"])
		}
		if a.kind != "delete" {
			i++
			a.lines = append(append([]byte(nil), a.lines...), lines[i]...)
		}
		p.actions++
		a.rejected = p.actions%p.every == 0
		actions = append(actions, a)
	}
	round := bulkRound{sent: len(actions)}
	var fwd bytes.Buffer
	for _, a := range actions {
		if a.rejected {
			round.rejected++
		} else {
			fwd.Write(a.lines)
		}
	}
	p.requests = append(p.requests, round)
	p.mu.Unlock()

	var upstream struct {
		Items []json.RawMessage `json:"items"`
	}
	if fwd.Len() > 0 {
		req, _ := http.NewRequest(r.Method, p.target.String()+r.URL.RequestURI(), &fwd)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &upstream) != nil {
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(b)
			return
		}
	}
	items := make([]any, 0, len(actions))
	next := 0
	for _, a := range actions {
		if !a.rejected {
			items = append(items, upstream.Items[next])
			next++
			continue
		}
		items = append(items, map[string]any{a.kind: map[string]any{"_id": a.id, "status": 429, "error": map[string]any{
			"type":   "es_rejected_execution_exception",
			"reason": "rejected execution of primary operation [shard_detail=[view][0], shard_primary_bytes=0]"}}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": true, "items": items})
}

func TestItemRejectionsRetriedPerItem(t *testing.T) {
	forEachTier(t, func(t *testing.T, tr *tier) {
		proxy := newItemFaultProxy(t, tr.url, 4)
		cfg := tr.config()
		cfg.Addresses = []string{proxy.URL}
		cfg.BatchRows, cfg.Concurrency = 1000, 1
		view := simpleView(tr.uniqueView(t, "items"))
		alias := ensure(t, cfg, view)
		w := newWriter(t, cfg, view)
		var recs []change.Record
		for i := int64(1); i <= 60; i++ {
			recs = append(recs, row(i, 1, "n", i))
		}
		recs = append(recs, tomb(7, 2), tomb(8, 2))
		write(t, w, recs...)

		rounds := proxy.rounds()
		rejected := 0
		for i, r := range rounds {
			rejected += r.rejected
			if i > 0 && r.sent != rounds[i-1].rejected {
				t.Fatalf("request %d carried %d actions after %d were rejected: only the rejected items must be sent again (%v)",
					i, r.sent, rounds[i-1].rejected, rounds)
			}
		}
		st := w.Stats()
		// A retried item may land after the delete of its key (same batch,
		// newer position): the version guard then skips it as older.
		if rejected == 0 || st.Retried != int64(rejected) || st.Written+st.SkippedOlder != 60 || st.Deleted != 2 {
			t.Fatalf("stats = %+v after %d rejections in %v", st, rejected, rounds)
		}
		if n := tr.count(t, alias); n != 58 {
			t.Fatalf("count = %d, want 58", n)
		}
	})
}
