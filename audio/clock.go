package audio

import "time"

// Clock is the time source of everything in audio that waits or timestamps, so tests can
// run an hour of audio on a fake clock in a second. It has the same methods as
// transport.Clock, so one clock serves both.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// systemClock is the real clock, used when no Clock is given.
type systemClock struct{}

var _ Clock = systemClock{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// orSystem returns c, or the real clock if c is nil.
func orSystem(c Clock) Clock {
	if c == nil {
		return systemClock{}
	}
	return c
}
