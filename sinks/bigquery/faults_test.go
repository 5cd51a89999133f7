package bigquery

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/beamsync/beamsync/change"
	"github.com/beamsync/beamsync/internal/testenv"
)

// throttle answers like BigQuery when it throttles (429 rateLimitExceeded)
// or has a backend fault (503 backendError), in turns.
func throttle(w http.ResponseWriter, _ *http.Request, n int64) {
	code, reason, status := http.StatusTooManyRequests, "rateLimitExceeded", "RESOURCE_EXHAUSTED"
	if n%2 == 0 {
		code, reason, status = http.StatusServiceUnavailable, "backendError", "UNAVAILABLE"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":"injected %s","errors":[{"reason":%q,"message":"injected"}],"status":%q}}`, code, reason, reason, status)
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	for _, mode := range []string{ModeReplace, ModeUpsert} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, mode)
			proxy := testenv.NewFaultProxy(t, cfg.Endpoint, 3, throttle)
			faulty := cfg
			faulty.Endpoint = proxy.URL
			faulty.BatchRows = 40
			var records []change.Record
			for i := int64(1); i <= 400; i++ {
				records = append(records, order(i, fmt.Sprintf("c%d", i), change.Position(i)))
			}
			ws, cs := runOnce(t, faulty, ordersView, records)
			rows := viewRows(t, cfg, "orders")
			if len(rows) != 400 {
				t.Errorf("view has %d rows, want 400", len(rows))
			}
			if cs.Written != 400 {
				t.Errorf("commit: %+v, want 400 written", cs)
			}
			if ws.Loaded < 400 || ws.DeadLettered != 0 {
				t.Errorf("writer: %+v, want 400 rows loaded and none dead", ws)
			}
			if proxy.Faults() == 0 || ws.Retried == 0 {
				t.Errorf("%d faults injected in %d requests, %d retried by the writer, %d by the commit: want faults and retries",
					proxy.Faults(), proxy.Requests(), ws.Retried, cs.Retried)
			}
			t.Logf("%d faults in %d requests; writer %+v; commit %+v", proxy.Faults(), proxy.Requests(), ws, cs)
		})
	}
}

func TestRetriesEndWhenThePolicyIsExhausted(t *testing.T) {
	cfg := testConfig(t, ModeReplace)
	proxy := testenv.NewFaultProxy(t, cfg.Endpoint, 1, throttle) // every request fails
	faulty := cfg
	faulty.Endpoint = proxy.URL
	faulty.Retry.Attempts = 3
	v, err := NewView(sinkClient(t, faulty), faulty, ordersView, NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	err = v.Prepare(context.Background())
	if err == nil {
		t.Fatal("Prepare succeeded against a server that always fails")
	}
	t.Log(err)
}
