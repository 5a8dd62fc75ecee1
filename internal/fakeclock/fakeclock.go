// Package fakeclock is the clock of the project's tests: simulated time that moves only
// when it is moved, so code that waits runs at once and the test sees every wait it
// asked for.
//
// A channel from After receives once the clock reaches its deadline, however the clock
// got there. Who moves the clock is the one choice: a Clock from New moves itself to each
// deadline as soon as After is called (the caller never blocks: for code whose waits the
// test has no goroutine to drive, such as a backoff loop run on the test's goroutine); a
// Clock from NewManual moves only when the test calls Advance (for code that runs on its
// own goroutine and must wait for the test, such as a room's tick loop).
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a simulated clock, safe for concurrent use. It satisfies transport.Clock and
// audio.Clock.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool // After moves the clock to its deadline
	waits   []time.Duration
	waiters []waiter
}

// waiter is an After call that has yet to fire.
type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a Clock that reads start and moves itself forward to the deadline of each
// After call as it is made, so that every wait ends at once.
func New(start time.Time) *Clock { return &Clock{now: start, auto: true} }

// NewManual returns a Clock that reads start and moves only when Advance is called; an
// After call waits until then.
func NewManual(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After records the wait and returns a channel that receives the clock's time once it has
// reached now+d: at once when d <= 0 or the clock is from New.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	at := c.now.Add(d)
	c.waiters = append(c.waiters, waiter{at: at, ch: ch})
	to := c.now
	if c.auto && at.After(to) {
		to = at
	}
	c.setLocked(to)
	return ch
}

// Advance moves the clock by d and fires the After channels that have come due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// setLocked sets the time and fires every waiter whose deadline it has reached.
func (c *Clock) setLocked(now time.Time) {
	c.now = now
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(now) {
			kept = append(kept, w)
		} else {
			w.ch <- now // buffered, and sent to once: never blocks
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// Waits returns the durations After was asked for, in order.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// Deadlines returns the times the After calls still waiting will fire at, in the order
// they were made.
func (c *Clock) Deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := make([]time.Time, len(c.waiters))
	for i, w := range c.waiters {
		at[i] = w.at
	}
	return at
}
