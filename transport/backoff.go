package transport

import (
	"math"
	"time"
)

// Class is what a failed attempt says about the next one.
type Class int

// The failure classes of the reconnect policy (docs/reliability.md).
const (
	// ClassDrop: the connection failed, was refused at the socket or stalled; the server
	// may well be fine.
	ClassDrop Class = iota
	// ClassOverload: the server said it is overloaded (503, 429, close 1013, room full).
	ClassOverload
	// ClassRestart: the server is restarting (close 1012).
	ClassRestart
	// ClassPermanent: retrying cannot help (unauthorized, not found, the room ended).
	ClassPermanent
)

// Wait is the policy's decision after a failed attempt: how long to wait before the next
// one. attempt counts the failed attempts of this outage from 1, elapsed is how long the
// outage has lasted, retryAfter is the server's hint (0 when it gave none), and rnd
// returns a uniform number in [0, 1). It is a pure function of its arguments, so the
// Reconnector and the crowd simulator make the very same decisions.
//
// Drops and restarts wait U(0, min(cap, Base x Factor^(attempt-1))), with DropCap as the
// cap for the first DropCapWindow of an outage and LaterDropCap after; a restart waits
// U(0, RestartSpread); an overload waits up to OverloadCap, and its Retry-After is a
// floor: max(RA, backoff) + U(0, RA/5), RA clamped to MaxRetryAfter.
func (p Policy) Wait(cls Class, attempt int, elapsed, retryAfter time.Duration, rnd func() float64) time.Duration {
	uniform := func(d time.Duration) time.Duration { return time.Duration(rnd() * float64(d)) }
	switch cls {
	case ClassRestart:
		return uniform(p.RestartSpread)
	case ClassOverload:
		d := uniform(p.expCap(attempt, p.OverloadCap))
		if retryAfter > 0 {
			ra := min(retryAfter, MaxRetryAfter)
			d = max(ra, d) + uniform(ra/retryAfterSpread)
		}
		return d
	}
	dropCap := p.DropCap
	if elapsed >= p.DropCapWindow {
		dropCap = p.LaterDropCap
	}
	return uniform(p.expCap(attempt, dropCap))
}

// expCap is min(cap, Base x Factor^(n-1)): the first attempt waits up to Base.
func (p Policy) expCap(n int, cap time.Duration) time.Duration {
	d := float64(p.Base) * math.Pow(p.Factor, float64(n-1))
	if d >= float64(cap) {
		return cap
	}
	return time.Duration(d)
}
