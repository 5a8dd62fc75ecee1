package server

import (
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
	run := func(ticks int, late time.Duration) (widths []int64) {
		for range ticks {
			if w := rs.tick(n, late); w != 0 {
				widths = append(widths, w)
			}
			n++
		}
		return widths
	}
	if w := run(500, 0); w != nil || rs.wait() != nil {
		t.Fatalf("on time: widths %v, round %v; want every tick a round", w, rs.wait())
	}
	// Late: one tick wider a second, up to the bound.
	if w := run(5*roundsJudged, 6*time.Millisecond); fmt.Sprint(w) != "[2 3]" {
		t.Fatalf("late for 5 s: widths %v, want [2 3]", w)
	}
	// A round ends every 3 ticks, when the tick number says so.
	var closed []int64
	for range 9 {
		round := rs.wait()
		rs.tick(n, 2*time.Millisecond) // between calm and late: no change
		select {
		case <-round:
			closed = append(closed, n)
		default:
		}
		n++
	}
	for _, c := range closed {
		if c%3 != 0 {
			t.Errorf("round ended at tick %d, not a multiple of 3 (%v)", c, closed)
		}
	}
	if len(closed) != 3 {
		t.Errorf("rounds ended at %v over 9 ticks, want 3", closed)
	}
	// Calm: one tick narrower every calmFor, and writers waiting are let go at once.
	round := rs.wait()
	if w := run(int(calmFor/tick)-roundsJudged, 0); w != nil {
		t.Fatalf("narrowed before %v of calm: %v", calmFor, w)
	}
	if w := run(int(2*calmFor/tick), 0); fmt.Sprint(w) != "[2 1]" {
		t.Fatalf("calm for 20 s: widths %v, want [2 1]", w)
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

// benchCloser is the WebSocket connection of a benchmark listener: nothing to close.
type benchCloser struct{}

func (benchCloser) Close(websocket.StatusCode, string) error { return nil }
func (benchCloser) CloseNow() error                          { return nil }

// countingWriter stands for a listener's socket: it counts the writes, the system calls
// a real socket would make.
type countingWriter struct{ writes *atomic.Int64 }

func (w countingWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return len(p), nil
}

// BenchmarkFanOut measures one tick of the demo room sent to every listener: the
// room's tick (encode once, frame once, queue for each listener) and each listener's
// writer waking and writing it, up to the socket (a counter: the kernel's cost is not
// Go's, see docs/benchmarks.md). One op is one tick; writes/tick is the system calls
// a real server would make, lower when rounds span several ticks.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, width := range []int64{1, 3} {
			b.Run(fmt.Sprintf("listeners=%d/round=%d", n, width), func(b *testing.B) {
				benchFanOut(b, n, width)
			})
		}
	}
}

func benchFanOut(b *testing.B, n int, width int64) {
	c, err := newContent(demoOgg, demoVTT)
	if err != nil {
		b.Fatal(err)
	}
	rm, err := newRoom("demo", "Demo", c, Config{Clock: newFakeClock(), Logger: slog.New(slog.DiscardHandler)}, new(atomic.Pointer[Faults]))
	if err != nil {
		b.Fatal(err)
	}
	rm.begin()
	rm.rounds.set(width)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		writes    atomic.Int64
		wg        sync.WaitGroup
		listeners = make([]*listener, n)
		faults    atomic.Pointer[Faults]
	)
	for i := range listeners {
		l := newListener()
		if _, _, ok := rm.add(l, &wire.Join{Version: wire.Version}); !ok {
			b.Fatal("room refused a listener")
		}
		listeners[i] = l
		wg.Go(func() { l.writeLoop(ctx, benchCloser{}, countingWriter{&writes}, &faults) })
	}
	// written waits until every listener has written tick t.
	written := func(t int64) {
		for _, l := range listeners {
			for l.sent.Load() < t {
				runtime.Gosched()
			}
		}
	}
	written(-1) // the backlogs: hello and roster
	writes.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	tk, sent := int64(0), int64(-1) // the last tick with audio
	for b.Loop() {
		tk++
		rm.tick(tk)
		if c.packets[tk%int64(len(c.packets))] != nil {
			sent = tk
		}
		if tk%width == 0 {
			if width > 1 {
				rm.rounds.next()
			}
			written(sent)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(writes.Load())/float64(tk), "writes/tick")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tk)/float64(n), "ns/listener")
	for _, l := range listeners {
		l.drop(websocket.StatusNormalClosure, "")
	}
	wg.Wait()
}
