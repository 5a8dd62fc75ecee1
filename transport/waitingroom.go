package transport

import (
	"math"
	"sync"
	"time"
)

// AdmitBurst is how many joins a server that admits rate a second lets in at once: a
// tenth of a second's worth, and at least one. The reference server's token bucket
// holds that many (serve --admit-rate), and so does the crowd simulator's server.
func AdmitBurst(rate float64) float64 { return max(rate/10, 1) }

// WaitingRoom is how a server paces a crowd it cannot admit at once: it hands each
// refused listener a Retry-After that is the next free slot at the rate it expects to
// admit, so the crowd comes back at that rate rather than in waves. A client that
// treats Retry-After as a floor (Policy.Wait) keeps its slot. The reference server and
// the crowd simulator both use it. It is safe for concurrent use.
type WaitingRoom struct {
	mu   sync.Mutex
	rate float64   // slots a second
	next time.Time // the next free slot
}

// NewWaitingRoom returns a waiting room that hands out rate slots a second.
func NewWaitingRoom(rate float64) *WaitingRoom { return &WaitingRoom{rate: rate} }

// RetryAfter takes the next free slot for a listener refused at now and returns the
// wait until it, in whole seconds as HTTP and WebSocket hints carry it: the slots of
// [k, k+1) seconds from now are told k+1 s, so no second gets more than the rate (at
// most MaxRetryAfter). A slot that has passed unused is not given out again: the
// queue restarts at now.
func (w *WaitingRoom) RetryAfter(now time.Time) time.Duration {
	w.mu.Lock()
	slot := w.next
	if slot.Before(now) {
		slot = now
	}
	w.next = slot.Add(time.Duration(float64(time.Second) / w.rate))
	w.mu.Unlock()
	secs := math.Floor(slot.Sub(now).Seconds()) + 1
	return min(time.Duration(secs)*time.Second, MaxRetryAfter)
}
