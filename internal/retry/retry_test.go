package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTransient = errors.New("transient")

func TestDoRetriesOnlyRetryableErrors(t *testing.T) {
	p := Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 5}
	calls := 0
	err := Do(context.Background(), p, func(e error) bool { return errors.Is(e, errTransient) }, nil, func(context.Context) error {
		calls++
		if calls < 3 {
			return errTransient
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want success after 3", err, calls)
	}
	permanent := errors.New("permanent")
	calls = 0
	err = Do(context.Background(), p, func(e error) bool { return errors.Is(e, errTransient) }, nil, func(context.Context) error {
		calls++
		return permanent
	})
	if !errors.Is(err, permanent) || calls != 1 {
		t.Fatalf("permanent error: %v after %d calls", err, calls)
	}
}

func TestDoIsBoundedByAttempts(t *testing.T) {
	calls, retries := 0, 0
	err := Do(context.Background(), Policy{Initial: time.Millisecond, Attempts: 4}, func(error) bool { return true },
		func(error) { retries++ }, func(context.Context) error { calls++; return errTransient })
	if !errors.Is(err, ErrExhausted) || !errors.Is(err, errTransient) || calls != 4 || retries != 4 {
		t.Fatalf("err %v, calls %d, retries %d", err, calls, retries)
	}
}

func TestDoIsBoundedByElapsedTime(t *testing.T) {
	start := time.Now()
	err := Do(context.Background(), Policy{Initial: 20 * time.Millisecond, Max: 20 * time.Millisecond, Attempts: 1000, Elapsed: 100 * time.Millisecond},
		func(error) bool { return true }, nil, func(context.Context) error { return errTransient })
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("err %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %s for a 100ms budget", el)
	}
}

func TestWaitIsCancellable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := Policy{Initial: time.Hour, Max: time.Hour, Attempts: 100, Elapsed: 10 * time.Hour}.New()
	b.attempt = 10
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("wait ignored the cancellation")
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	b := Policy{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Attempts: 100, Elapsed: time.Hour}.New()
	for i := 0; i < 50; i++ {
		d, ok := b.Next()
		if !ok || d <= 0 || d > 81*time.Millisecond {
			t.Fatalf("wait %d: %s %v", i, d, ok)
		}
	}
}
