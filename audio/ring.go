//go:build cgo

package audio

// The ring lives in C memory and its consumer is C: PortAudio calls spacetui_ring_play on
// its audio thread every 10 ms, and a Go callback there would cost a cgo round trip each
// time and keep the runtime's sysmon thread polling (56% of a headless join's CPU,
// ~1,850 nanosleeps a second). The playout goroutine writes whole frames with plain Go
// stores and atomics on the shared indices, so no Go code runs on the audio thread and
// no cgo call is made per frame.
//
// The stream is opened here, on the library the binding initialized, because the binding
// (gordonklaus/portaudio) opens streams only with a Go callback or for blocking I/O. Its
// blocking Pa_WriteStream from the playout goroutine was tried: as cheap in CPU, but it
// holds a thread in C for each 20 ms, cannot be cancelled, and on ALSA's pulse plugin
// stopped playout for good within seconds (0 frames played in 25 s).

/*
#cgo pkg-config: portaudio-2.0
#include <portaudio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Indices only ever grow; the producer stores w, the consumer r, each read by the other.
typedef struct {
	int16_t *buf;
	uint64_t mask;
	_Alignas(8) uint64_t r;
	_Alignas(8) uint64_t w;
	_Alignas(8) uint64_t underruns;
	uint32_t primed; // the producer has written: a dry ring from now on is an underrun
} spacetui_ring;

// spacetui_ring_read fills out with queued samples and the rest with silence. It never
// blocks or allocates: it runs on the audio thread.
static void spacetui_ring_read(spacetui_ring *q, int16_t *out, unsigned long n) {
	uint64_t r = __atomic_load_n(&q->r, __ATOMIC_RELAXED);
	uint64_t w = __atomic_load_n(&q->w, __ATOMIC_ACQUIRE);
	unsigned long have = w - r < n ? (unsigned long)(w - r) : n;
	for (unsigned long i = 0; i < have;) {
		uint64_t at = (r + i) & q->mask;
		unsigned long run = q->mask + 1 - at;
		if (run > have - i) {
			run = have - i;
		}
		memcpy(out + i, q->buf + at, run * sizeof *out);
		i += run;
	}
	__atomic_store_n(&q->r, r + have, __ATOMIC_RELEASE);
	if (have < n) {
		memset(out + have, 0, (n - have) * sizeof *out);
		if (__atomic_load_n(&q->primed, __ATOMIC_ACQUIRE)) {
			__atomic_fetch_add(&q->underruns, 1, __ATOMIC_RELAXED);
		}
	}
}

static int spacetui_ring_play(const void *in, void *out, unsigned long frames,
		const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *q) {
	spacetui_ring_read(q, out, frames);
	return paContinue;
}

// spacetui_ring_open opens a mono 16-bit output stream on device that plays the ring.
static PaError spacetui_ring_open(spacetui_ring *q, PaStream **stream, PaDeviceIndex device,
		double latency, double rate, unsigned long frames) {
	PaStreamParameters p;
	memset(&p, 0, sizeof p);
	p.device = device;
	p.channelCount = 1;
	p.sampleFormat = paInt16;
	p.suggestedLatency = latency;
	return Pa_OpenStream(stream, NULL, &p, rate, frames, paNoFlag, spacetui_ring_play, q);
}

static spacetui_ring *spacetui_ring_new(uint64_t size) {
	spacetui_ring *q = calloc(1, sizeof *q);
	if (q == NULL) {
		return NULL;
	}
	q->buf = calloc(size, sizeof *q->buf);
	if (q->buf == NULL) {
		free(q);
		return NULL;
	}
	q->mask = size - 1;
	return q;
}

static void spacetui_ring_free(spacetui_ring *q) {
	free(q->buf);
	free(q);
}
*/
import "C"

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"
)

// ring is a single-producer, single-consumer queue of samples between the playout
// goroutine and the sound card's callback, in C memory so that the callback is C.
type ring struct {
	c           *C.spacetui_ring
	buf         []int16 // c.buf, seen from Go
	r, w        *uint64 // c.r and c.w, accessed atomically
	underrunsAt *uint64
	primed      *uint32
}

// newRing returns a ring of at least n samples, rounded up to a power of two. It must
// be freed, once nothing reads it any more.
func newRing(n int) (*ring, error) {
	size := 1
	for size < n {
		size <<= 1
	}
	c := C.spacetui_ring_new(C.uint64_t(size))
	if c == nil {
		return nil, errors.New("audio ring: out of memory")
	}
	return &ring{
		c:           c,
		buf:         unsafe.Slice((*int16)(unsafe.Pointer(c.buf)), size),
		r:           (*uint64)(unsafe.Pointer(&c.r)),
		w:           (*uint64)(unsafe.Pointer(&c.w)),
		underrunsAt: (*uint64)(unsafe.Pointer(&c.underruns)),
		primed:      (*uint32)(unsafe.Pointer(&c.primed)),
	}, nil
}

// free releases the ring's memory. The stream that plays it must be closed first.
func (q *ring) free() { C.spacetui_ring_free(q.c) }

// open opens an output stream on a PortAudio device whose callback drains the ring,
// frames samples at a time.
func (q *ring) open(device int, latency time.Duration, frames int) (unsafe.Pointer, C.PaError) {
	var stream unsafe.Pointer // a PaStream
	err := C.spacetui_ring_open(q.c, &stream, C.PaDeviceIndex(device), C.double(latency.Seconds()),
		C.double(SampleRate), C.ulong(frames))
	return stream, err
}

// readPosition is how many samples the consumer has taken so far.
func (q *ring) readPosition() uint64 { return atomic.LoadUint64(q.r) }

// buffered returns how many samples wait to be played.
func (q *ring) buffered() int { return int(atomic.LoadUint64(q.w) - atomic.LoadUint64(q.r)) }

// underruns counts the reads that found the ring short after the first write.
func (q *ring) underruns() uint64 { return atomic.LoadUint64(q.underrunsAt) }

// write copies as much of p as fits and returns how much that was. Producer only.
func (q *ring) write(p []int16) int {
	w, r := atomic.LoadUint64(q.w), atomic.LoadUint64(q.r)
	mask := uint64(len(q.buf) - 1)
	n := min(len(p), len(q.buf)-int(w-r))
	for i := 0; i < n; {
		at := int((w + uint64(i)) & mask)
		i += copy(q.buf[at:], p[i:n])
	}
	atomic.StoreUint64(q.w, w+uint64(n))
	atomic.StoreUint32(q.primed, 1)
	return n
}

// read runs the callback's consumer from Go, as the audio thread would: it fills out
// and the rest with silence. Consumer only; the tests' stand-in for the sound card.
func (q *ring) read(out []int16) {
	if len(out) == 0 {
		return
	}
	C.spacetui_ring_read(q.c, (*C.int16_t)(unsafe.Pointer(&out[0])), C.ulong(len(out)))
}
