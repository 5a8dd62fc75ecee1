package audio

import "sync/atomic"

// ring is a single-producer, single-consumer queue of samples between the playout
// goroutine and the sound card's callback thread. Indices are atomic and only ever grow;
// the consumer never blocks, never allocates, and plays silence when the ring runs dry.
type ring struct {
	buf       []int16
	mask      uint64
	r, w      atomic.Uint64
	primed    atomic.Bool // the producer has written: a dry ring from now on is an underrun
	underruns atomic.Uint64
}

// newRing returns a ring of at least n samples, rounded up to a power of two.
func newRing(n int) *ring {
	size := 1
	for size < n {
		size <<= 1
	}
	return &ring{buf: make([]int16, size), mask: uint64(size - 1)}
}

// buffered returns how many samples wait to be played.
func (q *ring) buffered() int { return int(q.w.Load() - q.r.Load()) }

// write copies as much of p as fits and returns how much that was. Producer only.
func (q *ring) write(p []int16) int {
	w, r := q.w.Load(), q.r.Load()
	n := min(len(p), len(q.buf)-int(w-r))
	for i := 0; i < n; {
		at := int((w + uint64(i)) & q.mask)
		i += copy(q.buf[at:], p[i:n])
	}
	q.w.Store(w + uint64(n))
	q.primed.Store(true)
	return n
}

// read fills out with queued samples and the rest with silence, counting an underrun if
// it came up short after playback began. Consumer only; safe on the audio thread.
func (q *ring) read(out []int16) {
	r, w := q.r.Load(), q.w.Load()
	n := min(len(out), int(w-r))
	for i := 0; i < n; {
		at := int((r + uint64(i)) & q.mask)
		i += copy(out[i:n], q.buf[at:])
	}
	q.r.Store(r + uint64(n))
	if n < len(out) {
		clear(out[n:])
		if q.primed.Load() {
			q.underruns.Add(1)
		}
	}
}
