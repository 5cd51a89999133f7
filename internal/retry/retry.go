// Package retry is the one retry policy of beamsync's sinks: exponential
// backoff with full jitter, bounded by attempts and by elapsed time, every
// wait cancellable through the context. Whether an error is worth retrying
// is decided by the caller (by type, in one place per sink), never here.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy bounds a retry loop. The zero value means the defaults.
type Policy struct {
	// Initial is the first backoff (default 100ms).
	Initial time.Duration `yaml:"initial_backoff" json:"initial_backoff"`
	// Max caps one backoff (default 10s).
	Max time.Duration `yaml:"max_backoff" json:"max_backoff"`
	// Attempts bounds the tries, the first included (default 8).
	Attempts int `yaml:"max_attempts" json:"max_attempts"`
	// Elapsed bounds the total time spent waiting (default 2m).
	Elapsed time.Duration `yaml:"max_elapsed" json:"max_elapsed"`
}

// WithDefaults fills unset fields.
func (p Policy) WithDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Second
	}
	if p.Attempts <= 0 {
		p.Attempts = 8
	}
	if p.Elapsed <= 0 {
		p.Elapsed = 2 * time.Minute
	}
	return p
}

// ErrExhausted wraps the last error when the policy's bounds are reached.
var ErrExhausted = errors.New("retries exhausted")

// Backoff tracks one item's retries.
type Backoff struct {
	p       Policy
	attempt int
	waited  time.Duration
}

// New starts a backoff under the policy.
func (p Policy) New() *Backoff { return &Backoff{p: p.WithDefaults()} }

// Attempts returns how many waits were taken so far.
func (b *Backoff) Attempts() int { return b.attempt }

// Next returns the next wait (full jitter over an exponential ceiling), or
// false when the attempts or the elapsed budget are used up.
func (b *Backoff) Next() (time.Duration, bool) {
	if b.attempt+1 >= b.p.Attempts || b.waited >= b.p.Elapsed {
		return 0, false
	}
	ceiling := b.p.Initial << min(b.attempt, 30)
	if ceiling > b.p.Max || ceiling <= 0 {
		ceiling = b.p.Max
	}
	d := time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
	if rest := b.p.Elapsed - b.waited; d > rest {
		d = rest
	}
	b.attempt++
	b.waited += d
	return d, true
}

// Wait sleeps for the next backoff. It returns false when the budget is
// used up, and ctx.Err() when the context ends first.
func (b *Backoff) Wait(ctx context.Context) (bool, error) {
	d, ok := b.Next()
	if !ok {
		return false, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return true, nil
	}
}

// Do runs op until it succeeds, returns an error retryable rejects, the
// policy is exhausted (the last error wrapped with ErrExhausted) or ctx ends.
// onRetry, if not nil, is called before each wait.
func Do(ctx context.Context, p Policy, retryable func(error) bool, onRetry func(error), op func(context.Context) error) error {
	b := p.New()
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || !retryable(err) {
			return err
		}
		if onRetry != nil {
			onRetry(err)
		}
		ok, werr := b.Wait(ctx)
		if werr != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", err, werr)
		}
		if !ok {
			return fmt.Errorf("%w (%w after %d attempts)", err, ErrExhausted, attempt)
		}
	}
}
