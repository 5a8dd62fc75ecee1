package transport

import (
	"sync"
	"time"
)

// retryAfterSpread is how a client spreads its return after a Retry-After RA: it comes
// back at a uniform random time in [RA, RA + RA/retryAfterSpread] (Policy.Wait), so that
// a crowd told the same second does not return in the same instant.
const retryAfterSpread = 5

// AdmitBurst is how many joins a server that admits rate a second lets in at once: a
// tenth of a second's worth, and at least one. The reference server's token bucket
// holds that many (serve --admit-rate), and so does the crowd simulator's server.
func AdmitBurst(rate float64) float64 { return max(rate/10, 1) }

// WaitingRoom is how a server paces a crowd it cannot admit at once: it hands each
// refused listener a Retry-After that books the listener's return into the time ahead,
// no more than the rate a second, so the crowd comes back at that rate rather than in
// waves. The reference server and the crowd simulator both use it. It is safe for
// concurrent use.
//
// A client that treats Retry-After as a floor (Policy.Wait) keeps its place. It comes
// back at a random time in [RA, RA + RA/5], and the room books each listener over that
// spread, in quarter seconds. Handing out the next free slot at the rate was not
// enough: a crowd told 9 s spilled up to 2 s past its slots, into the seconds that a
// listener refused later was told 2 s for, and the two came back together at up to 1.5
// times the rate. The price is paid by a crowd refused all within a second: waits in
// whole seconds cannot reach every quarter of the seconds just ahead, and it comes back
// at 75-95% of the rate. A crowd refused as it keeps coming back comes back at the rate.
type WaitingRoom struct {
	mu     sync.Mutex
	perBin float64   // returns a bin takes: the rate times bookBin
	start  time.Time // the start of booked[0]'s bin
	booked []float64 // the returns expected in each bin from start
	full   int       // booked[:full] is full: the search for a wait starts past it
}

// fullAt is how full a bin is when the search for a wait starts past it. What is left
// of it is not worth handing out: a listener refused in an outage and told a short wait
// into a crumb near the head of the queue comes back, is refused again, and its own
// backoff grows until it comes back long after its turn. On a night of 20,000
// listeners at 1,000/s and a 2-minute outage, with bins full only at the brim, the last
// listener was back 103 s after recovery (the mean of 8 seeds), with 0.9 92 s; the
// search also looks at 29 waits a listener instead of 49.
const fullAt = 0.9

// bookBin is the resolution of the book: any second, however aligned, then expects at
// most 5/4 of the rate, and the rate where the returns are even. Whole seconds let the
// returns of two seconds crowd into one that straddles them.
const bookBin = 250 * time.Millisecond

// NewWaitingRoom returns a waiting room that books rate returns a second.
func NewWaitingRoom(rate float64) *WaitingRoom {
	return &WaitingRoom{perBin: rate * bookBin.Seconds()}
}

// RetryAfter books the return of a listener refused at now and returns the wait to
// tell it, in whole seconds as HTTP and WebSocket hints carry them: about the shortest
// whose spread fits in the time it covers. A queue longer than MaxRetryAfter is told
// MaxRetryAfter, unbooked.
func (w *WaitingRoom) RetryAfter(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.forget(now)
	ra := max(wholeSeconds(time.Duration(w.full)*bookBin-at), time.Second)
	for ra < MaxRetryAfter {
		if w.fit(at, ra, false) {
			w.fit(at, ra, true)
			return ra
		}
		ra += time.Second
	}
	return MaxRetryAfter
}

// wholeSeconds rounds d up to whole seconds.
func wholeSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}

// forget drops the bins that have passed and returns now as an offset from the start
// of the book. The first call starts the book at now.
func (w *WaitingRoom) forget(now time.Time) time.Duration {
	if w.start.IsZero() {
		w.start = now
	}
	k := int(now.Sub(w.start) / bookBin)
	if k > 0 {
		w.booked = w.booked[min(k, len(w.booked)):]
		w.start = w.start.Add(time.Duration(k) * bookBin)
		w.full = max(w.full-k, 0)
	}
	return max(now.Sub(w.start), 0) // a clock that stepped back books from the start
}

// slack lets shares that fill a bin exactly fit despite rounding.
const slack = 1e-9

// fit spreads the return of a listener told ra at offset at evenly over
// [at+ra, at+ra+ra/retryAfterSpread] and reports whether every bin has room for its
// share; with commit, it books it (and assumes it fits).
func (w *WaitingRoom) fit(at, ra time.Duration, commit bool) bool {
	from := at + ra
	to := from + ra/retryAfterSpread
	perTime := 1 / float64(to-from)
	last := int((to - 1) / bookBin)
	for commit && len(w.booked) <= last {
		w.booked = append(w.booked, 0)
	}
	for i := int(from / bookBin); i <= last; i++ {
		share := float64(min(to, time.Duration(i+1)*bookBin)-max(from, time.Duration(i)*bookBin)) * perTime
		switch {
		case commit:
			w.booked[i] += share
		case i < len(w.booked) && w.booked[i]+share > w.perBin+slack, share > w.perBin+slack:
			return false
		}
	}
	for commit && w.full < len(w.booked) && w.booked[w.full] >= w.perBin*fullAt {
		w.full++
	}
	return true
}
