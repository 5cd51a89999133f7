package schedule

import (
	"sync"
	"time"
)

// Clock is the time source of a Scheduler: the real clock in production, a
// FakeClock in tests.
type Clock interface {
	Now() time.Time
	// Timer returns a channel that receives once d has passed, and a
	// function that releases the timer early.
	Timer(d time.Duration) (<-chan time.Time, func())
}

// RealClock is the system clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Timer is time.NewTimer.
func (RealClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// FakeClock is a Clock that moves only when told to (Set, Advance). Timers
// fire when the clock reaches their deadline.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]bool
	changed chan struct{} // closed and replaced whenever the timers change
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

// NewFakeClock returns a fake clock standing at t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, timers: map[*fakeTimer]bool{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Timer registers a timer that fires when the clock reaches now+d.
func (f *FakeClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t.c, func() {}
	}
	f.timers[t] = true
	f.signal()
	return t.c, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.timers[t] {
			delete(f.timers, t)
			f.signal()
		}
	}
}

// Set moves the clock to t (forward or back) and fires the timers due.
func (f *FakeClock) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	for tm := range f.timers {
		if !tm.at.After(t) {
			tm.c <- t
			delete(f.timers, tm)
		}
	}
	f.signal()
}

// Advance moves the clock forward by d.
func (f *FakeClock) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Waiters is the number of timers pending.
func (f *FakeClock) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitForTimer blocks until a pending timer is due at exactly t, or until
// done is closed; it reports whether one is.
func (f *FakeClock) WaitForTimer(t time.Time, done <-chan struct{}) bool {
	for {
		f.mu.Lock()
		for tm := range f.timers {
			if tm.at.Equal(t) {
				f.mu.Unlock()
				return true
			}
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

func (f *FakeClock) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}
