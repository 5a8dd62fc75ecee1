package server

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/fakeclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newFakeClock returns the clock of the server tests: it moves only when the test
// advances it.
func newFakeClock() *fakeclock.Clock {
	return fakeclock.NewManual(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
}

// waitLimit bounds every wait of the tests on something the code under test must do.
// It is real time and generous: on a loaded 2-core CI machine with the race detector
// a goroutine can go unscheduled for seconds, and a wait that ends early only turns a
// slow run into a false failure. A test that works takes far less.
const waitLimit = 30 * time.Second

// eventually polls cond until it holds, failing the test after waitLimit. It backs off
// from a few microseconds to a millisecond so as not to steal the CPU from the
// goroutines it waits for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	pause := 10 * time.Microsecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(pause)
		pause = min(2*pause, time.Millisecond)
	}
}

// advance moves the fake clock by d once the room's run loop is parked on the clock
// waiting for its next tick. The room reads Now and then calls After with the time
// left; moving the clock in between would push its wake-up one advance too far, and a
// test waiting for that tick would wait forever. A room can run late; it never misses
// a tick because of how the test moved the clock.
func advance(t *testing.T, clk *fakeclock.Clock, rm *room, d time.Duration) {
	t.Helper()
	eventually(t, "the room to wait for its next tick", func() bool { return parked(clk, rm) })
	clk.Advance(d)
}

// parked reports whether rm's run loop waits on clk for the tick it has yet to play.
func parked(clk *fakeclock.Clock, rm *room) bool {
	rm.mu.Lock()
	started := rm.started
	rm.mu.Unlock()
	return slices.ContainsFunc(clk.Deadlines(), started.Add(time.Duration(rm.ticks.Load())*tick).Equal)
}

// step advances the clock one tick at a time, waiting each time until the room has
// played the tick, k times.
func step(t *testing.T, clk *fakeclock.Clock, rm *room, k int) {
	t.Helper()
	for range k {
		want := rm.ticks.Load() + 1
		advance(t, clk, rm, tick)
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
