package transforms

import "time"

// Abandon closes the stream of that name open in this process without
// acknowledging anything, as if its worker had been replaced.
func Abandon(name string) {
	liveMu.Lock()
	ls := live[name]
	delete(live, name)
	liveMu.Unlock()
	if ls != nil {
		ls.abandon()
	}
}

// SetIdleClose sets how long an AckCommitted stream stays open unread.
func SetIdleClose(d time.Duration) { streamIdleClose.Store(int64(d)) }
