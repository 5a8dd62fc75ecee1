package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport/wire"
)

func TestRoundsWidenUnderLoadAndNarrowWhenCalm(t *testing.T) {
	var rs rounds
	rs.reset()
	n := int64(0)
	run := func(ticks int, late time.Duration, listeners int) (widths []int64) {
		for range ticks {
			if w := rs.tick(n, late, listeners); w != 0 {
				widths = append(widths, w)
			}
			n++
		}
		return widths
	}
	if w := run(500, 0, 5000); w != nil || rs.wait() != nil {
		t.Fatalf("on time: widths %v, round %v; want every tick a round", w, rs.wait())
	}
	if w := run(500, 50*time.Millisecond, roundListeners-1); w != nil {
		t.Fatalf("a small room widened its rounds: %v", w)
	}
	// Late: one tick wider a second, up to the bound.
	if w := run(6*roundsJudged, 6*time.Millisecond, 5000); fmt.Sprint(w) != "[2 3 4 5]" {
		t.Fatalf("late for 6 s: widths %v, want [2 3 4 5]", w)
	}
	// A round ends every 5 ticks, when the tick number says so.
	var closed []int64
	for range 15 {
		round := rs.wait()
		rs.tick(n, 2*time.Millisecond, 5000) // between calm and late: no change
		select {
		case <-round:
			closed = append(closed, n)
		default:
		}
		n++
	}
	if len(closed) != 3 || closed[0]%5 != 0 || closed[1]%5 != 0 || closed[2]%5 != 0 {
		t.Errorf("rounds ended at ticks %v over 15 ticks, want 3 multiples of 5", closed)
	}
	// Calm: one tick narrower every calmFor.
	if w := run(int(calmFor/tick)-roundsJudged, 0, 5000); w != nil {
		t.Fatalf("narrowed before %v of calm: %v", calmFor, w)
	}
	if w := run(int(2*calmFor/tick), 0, 5000); fmt.Sprint(w) != "[4 3]" {
		t.Fatalf("calm for 20 s: widths %v, want [4 3]", w)
	}
	// The crowd leaves: back to every tick at once, and writers waiting are let go.
	round := rs.wait()
	if w := run(roundsJudged, 0, 10); fmt.Sprint(w) != "[1]" {
		t.Fatalf("with 10 listeners: widths %v, want [1]", w)
	}
	select {
	case <-round:
	default:
		t.Fatal("the last round was left open")
	}
	if rs.wait() != nil {
		t.Fatal("rounds of one tick still have a channel")
	}
}

// Listeners' writers, woken once a round, write every message in order, a round's worth
// in one write.
func TestWritersInRounds(t *testing.T) {
	const width, ticks = 3, 30
	rig := newFanOutRig(t, 4, width)
	for tk := int64(1); tk <= ticks; tk++ {
		rig.room.tick(tk)
		if tk%width == 0 {
			rig.room.rounds.next()
			rig.written(tk)
		}
	}
	rig.stop()
	for i, w := range rig.writers {
		var frames []int64
		rest := w.buf.Bytes()
		for len(rest) > 0 {
			n := int(rest[1]) // unmasked: the length, or 126 for a 16-bit one
			head := 2
			if n == 126 {
				n, head = int(rest[2])<<8|int(rest[3]), 4
			}
			payload := rest[head : head+n]
			if rest[0] == 0x82 {
				fs, err := wire.ParseAudio(nil, payload)
				if err != nil {
					t.Fatal(err)
				}
				frames = append(frames, int64(fs[0].Timestamp/wire.FrameSamples))
			}
			rest = rest[head+n:]
		}
		for j, f := range frames {
			if f != int64(j+1) {
				t.Fatalf("listener %d: frames of ticks %v, want 1 to %d in order", i, frames, ticks)
			}
		}
		if len(frames) != ticks {
			t.Errorf("listener %d: %d frames, want %d", i, len(frames), ticks)
		}
		if w.writes.Load() != 1+ticks/width { // the backlog, then one write a round
			t.Errorf("listener %d: %d writes, want %d", i, w.writes.Load(), 1+ticks/width)
		}
	}
}

// benchCloser is the WebSocket connection of a rig's listener: nothing to close.
type benchCloser struct{}

func (benchCloser) Close(websocket.StatusCode, string) error { return nil }
func (benchCloser) CloseNow() error                          { return nil }

// socket stands for a listener's socket: it counts the writes, the system calls a real
// socket would make, and keeps the bytes when asked to.
type socket struct {
	writes atomic.Int64
	keep   bool
	buf    bytes.Buffer // written by the listener's writer; read once it has stopped
}

func (s *socket) Write(p []byte) (int, error) {
	s.writes.Add(1)
	if s.keep {
		s.buf.Write(p)
	}
	return len(p), nil
}

// fanOutRig is a room (the demo room, every tick with audio) with listeners whose
// writers write to sockets in memory; the caller plays its ticks.
type fanOutRig struct {
	room      *room
	listeners []*listener
	writers   []*socket
	stop      func()
	// written waits until every listener has written tick t.
	written func(t int64)
}

func newFanOutRig(tb testing.TB, n int, width int64) *fanOutRig {
	tb.Helper()
	c, err := newContent(testOgg(3000), demoVTT)
	if err != nil {
		tb.Fatal(err)
	}
	rm, err := newRoom("demo", "Demo", c, Config{Clock: newFakeClock(), Logger: slog.New(slog.DiscardHandler)}, new(atomic.Pointer[Faults]))
	if err != nil {
		tb.Fatal(err)
	}
	rm.begin()
	rm.rounds.set(width)
	ctx, cancel := context.WithCancel(context.Background())
	rig := &fanOutRig{room: rm}
	var (
		wg     sync.WaitGroup
		faults atomic.Pointer[Faults]
	)
	for range n {
		l, w := newListener(), &socket{keep: n <= 10}
		if _, _, ok := rm.add(l, &wire.Join{Version: wire.Version}); !ok {
			tb.Fatal("room refused a listener")
		}
		rig.listeners, rig.writers = append(rig.listeners, l), append(rig.writers, w)
		wg.Go(func() { l.writeLoop(ctx, benchCloser{}, w, &faults) })
	}
	rig.written = func(t int64) {
		for _, l := range rig.listeners {
			for l.sent.Load() < t {
				runtime.Gosched()
			}
		}
	}
	rig.stop = func() {
		for _, l := range rig.listeners {
			l.drop(websocket.StatusNormalClosure, "")
		}
		wg.Wait()
		cancel()
	}
	for _, w := range rig.writers { // the backlogs: hello and roster
		for w.writes.Load() == 0 {
			runtime.Gosched()
		}
	}
	return rig
}

// BenchmarkFanOut measures one tick of a room with a frame every tick sent to every
// listener: the room's tick (encode once, frame once, queue for each listener) and each
// listener's writer waking and writing it, up to the socket (in memory: the kernel's
// cost is not Go's, see docs/benchmarks.md). One op is one tick; writes/tick is the
// system calls a real server would make, fewer when a round spans several ticks.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, width := range []int64{1, 3, 5} {
			b.Run(fmt.Sprintf("listeners=%d/round=%d", n, width), func(b *testing.B) {
				rig := newFanOutRig(b, n, width)
				defer rig.stop()
				var writes int64
				for _, w := range rig.writers {
					writes -= w.writes.Load()
				}
				b.ReportAllocs()
				b.ResetTimer()
				tk := int64(0)
				for b.Loop() {
					tk++
					rig.room.tick(tk)
					if tk%width == 0 {
						rig.room.rounds.next()
						rig.written(tk)
					}
				}
				b.StopTimer()
				for _, w := range rig.writers {
					writes += w.writes.Load()
				}
				b.ReportMetric(float64(writes)/float64(tk), "writes/tick")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tk)/float64(n), "ns/listener")
			})
		}
	}
}
