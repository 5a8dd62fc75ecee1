package transport

import (
	"testing"
	"time"
)

// The schedule a waiting room issues sends back no more than its rate a second, and
// the whole queue within queue/rate seconds.
func TestWaitingRoomSpreadsTheQueue(t *testing.T) {
	const rate = 1000
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	w := NewWaitingRoom(rate)
	perSecond := map[time.Duration]int{}
	for range 20_000 {
		perSecond[w.RetryAfter(now)]++
	}
	for ra, n := range perSecond {
		if n > rate {
			t.Errorf("%v: %d slots, want at most %d", ra, n, rate)
		}
		if ra < time.Second || ra > 20*time.Second {
			t.Errorf("a slot %v away, want 1-20 s", ra)
		}
	}
	if len(perSecond) != 20 {
		t.Errorf("20,000 slots at 1,000/s spread over %d seconds, want 20", len(perSecond))
	}
	// Slots that passed unused are not handed out again.
	if ra := w.RetryAfter(now.Add(time.Hour)); ra != time.Second {
		t.Errorf("after the queue drained: %v, want 1 s", ra)
	}
}
