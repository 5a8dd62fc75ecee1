package server

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and wakes the waiters that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// pending returns how many After calls are waiting.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// eventually polls cond until it holds, failing the test after 5 s of real time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond)
	}
}

// step advances the clock one tick at a time, waiting each time until the room has
// played the tick, k times.
func step(t *testing.T, clk *fakeClock, rm *room, k int) {
	t.Helper()
	for range k {
		want := rm.ticks.Load() + 1
		clk.Advance(tick)
		eventually(t, "the room to tick", func() bool { return rm.ticks.Load() >= want })
	}
}

// testOgg returns an Ogg Opus file of n 20 ms packets (CELT, code 0), each carrying
// its index so tests can tell them apart.
func testOgg(n int) []byte {
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = []byte{0xf8, byte(i >> 8), byte(i)}
	}
	return oggOf(pkts...)
}

// oggOf returns an Ogg Opus file of the given packets.
func oggOf(pkts ...[]byte) []byte {
	var b bytes.Buffer
	ow, err := audio.NewOggWriter(&b, audio.OggOptions{})
	if err != nil {
		panic(err)
	}
	for _, p := range pkts {
		if err := ow.WritePacket(p); err != nil {
			panic(err)
		}
	}
	if err := ow.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}
