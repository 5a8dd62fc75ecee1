package transport

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// crowd is n listeners refused evenly over the second from at, as after a drop.
type crowd struct {
	at time.Duration
	n  int
}

// crowdReturns refuses the crowds through w, in order, and returns how many of them
// come back in each second from start, each waiting what the client's policy decides
// for the Retry-After it was told (its first refusal, at a seeded random draw).
func crowdReturns(w *WaitingRoom, start time.Time, crowds ...crowd) []int {
	p := DefaultPolicy()
	rnd := rand.New(rand.NewPCG(1, 2)).Float64
	var perSecond []int
	for _, c := range crowds {
		for i := range c.n {
			at := c.at + time.Duration(i)*time.Second/time.Duration(c.n)
			ra := w.RetryAfter(start.Add(at))
			back := at + p.Wait(ClassOverload, 1, 0, ra, rnd)
			s := int(back / time.Second)
			for len(perSecond) <= s {
				perSecond = append(perSecond, 0)
			}
			perSecond[s]++
		}
	}
	return perSecond
}

// A crowd refused within a second comes back, as its clients spread the Retry-After they were
// told, at no more than the rate a second, and within the time the rate allows plus
// the clients' own spread.
func TestWaitingRoomSpreadsTheQueue(t *testing.T) {
	const rate, n = 1000, 20_000
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	w := NewWaitingRoom(rate)
	back := crowdReturns(w, now, crowd{0, n})
	t.Logf("returns a second: %v", back)
	// The count in a second is a sum of independent draws whose mean is at most the
	// rate: 1.1 x rate is more than 3 standard deviations above it.
	if peak := slices.Max(back); peak > rate*11/10 {
		t.Errorf("%d listeners came back in one second, want at most %d", peak, rate*11/10)
	}
	// Within the crowd issue's bound: (N/C) x 1.5.
	if secs := len(back); secs < n/rate || secs > n/rate*3/2 {
		t.Errorf("the queue came back over %d s, want %d-%d", secs, n/rate, n/rate*3/2)
	}
	// Seconds that passed unused are not handed out again.
	if ra := w.RetryAfter(now.Add(time.Hour)); ra != time.Second {
		t.Errorf("after the queue drained: %v, want 1 s", ra)
	}
}

// A listener refused later is booked past the returns of those refused before it,
// spread and all. Told only the next free slot, a crowd told 9 s spilled up to 2 s
// into the seconds the late one was told 2 s for, and they came back together at
// 1.5 times the rate.
func TestWaitingRoomLaterCrowdDoesNotPileOnEarlierOne(t *testing.T) {
	const rate = 1000
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	back := crowdReturns(NewWaitingRoom(rate), now, crowd{0, 9000}, crowd{8 * time.Second, 1500})
	t.Logf("returns a second: %v", back)
	if peak := slices.Max(back); peak > rate*11/10 {
		t.Errorf("%d listeners came back in one second, want at most %d", peak, rate*11/10)
	}
}

// A rate under one a second books a listener over more than a second: the first
// listener waits long enough that its spread covers a second per half listener.
func TestWaitingRoomSlowRate(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	w := NewWaitingRoom(0.5)
	if ra := w.RetryAfter(now); ra != 10*time.Second {
		t.Errorf("first Retry-After at 0.5/s: %v, want 10 s (a 2 s spread)", ra)
	}
	if ra := w.RetryAfter(now); ra != 12*time.Second {
		t.Errorf("second Retry-After at 0.5/s: %v, want 12 s (past the first's spread)", ra)
	}
}
