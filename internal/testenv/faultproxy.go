package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// FaultProxy is an HTTP reverse proxy in front of a local server that
// answers every Nth request itself with a fault (throttling, a 5xx) instead
// of forwarding it, so that tests can check a client's retries.
type FaultProxy struct {
	URL      string // the proxy's base URL
	requests atomic.Int64
	faults   atomic.Int64
}

// Requests returns how many requests reached the proxy.
func (p *FaultProxy) Requests() int64 { return p.requests.Load() }

// Faults returns how many requests were answered with a fault.
func (p *FaultProxy) Faults() int64 { return p.faults.Load() }

// NewFaultProxy starts a proxy to target that calls fault for every nth
// request (n > 0) instead of forwarding it. It stops when the test ends.
func NewFaultProxy(t testing.TB, target string, every int, fault func(w http.ResponseWriter, r *http.Request, n int64)) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("parsing %s: %v", target, err)
	}
	p := &FaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.requests.Add(1)
		if every > 0 && n%int64(every) == 0 {
			p.faults.Add(1)
			fault(w, r, n)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}
