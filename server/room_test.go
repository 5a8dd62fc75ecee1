package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/transport/wire"
)

// startRoom runs a room on a fake clock until the test ends.
func startRoom(t *testing.T, c *content, window time.Duration) (*room, *fakeclock.Clock) {
	t.Helper()
	clk := newFakeClock()
	rm, err := newRoom("test", "Test", c, Config{Clock: clk, Logger: slog.New(slog.DiscardHandler), ReplayWindow: window}, new(atomic.Pointer[Faults]))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the first tick", func() bool { return rm.ticks.Load() == 1 })
	return rm, clk
}

// join registers a listener directly, as the WebSocket handler does after join.
func join(t *testing.T, rm *room) *listener {
	t.Helper()
	l, _, _ := joinWith(t, rm, &wire.Join{Version: wire.Version})
	return l
}

// joinWith registers a listener that sent j and returns it with its session.
func joinWith(t *testing.T, rm *room, j *wire.Join) (l *listener, session string, resumed bool) {
	t.Helper()
	l = newListener()
	session, resumed, ok := rm.add(l, j)
	if !ok {
		t.Fatal("room refused the listener")
	}
	return l, session, resumed
}

// drain collects what a listener is sent until it is dropped.
type drain struct {
	mu     sync.Mutex
	frames []wire.Frame
	texts  []any
	done   chan struct{}
}

func drainListener(l *listener) *drain {
	d := &drain{done: make(chan struct{})}
	got := func(m message) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if m.binary {
			d.frames, _ = wire.ParseAudio(d.frames, m.data)
		} else if v, err := wire.Unmarshal(m.data); err == nil {
			d.texts = append(d.texts, v)
		}
	}
	go func() {
		defer close(d.done)
		for _, m := range l.backlog {
			got(m)
		}
		for {
			select {
			case <-l.dropped:
				return
			case m := <-l.queue:
				got(m)
			}
		}
	}()
	return d
}

func (d *drain) snapshot() ([]wire.Frame, []any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]wire.Frame(nil), d.frames...), append([]any(nil), d.texts...)
}

func TestPacingAbsolute(t *testing.T) {
	c, err := newContent(testOgg(50), nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, 0)
	elapsed := time.Duration(0)
	// Irregular wake-ups never shift the schedule: tick n happens at n × 20 ms.
	for range 300 {
		advance(t, clk, rm, 7*time.Millisecond)
		elapsed += 7 * time.Millisecond
		want := int64(elapsed/tick) + 1
		eventually(t, "the room to catch up", func() bool { return rm.ticks.Load() == want })
	}
	if got, want := rm.ticks.Load(), int64(2100*time.Millisecond/tick)+1; got != want {
		t.Fatalf("after 2.1 s: %d ticks, want %d", got, want)
	}
	// A short stall is caught up tick by tick; a long one is skipped, still on schedule.
	advance(t, clk, rm, 200*time.Millisecond)
	elapsed += 200 * time.Millisecond
	eventually(t, "catch-up", func() bool { return rm.ticks.Load() == int64(elapsed/tick)+1 })
	advance(t, clk, rm, 5*time.Second)
	elapsed += 5 * time.Second
	eventually(t, "skip", func() bool { return rm.ticks.Load() == int64(elapsed/tick)+1 })
	step(t, clk, rm, 3)
	if got, want := rm.ticks.Load(), int64(elapsed/tick)+4; got != want {
		t.Errorf("%d ticks, want %d", got, want)
	}
}

func TestFramesSequencesAndCaptions(t *testing.T) {
	vtt := []byte("WEBVTT\n\n00:00.000 --> 00:00.400\n<v Ada>one two three four five six\n\n" +
		"00:00.600 --> 00:00.800\n<v Bob>seven\n")
	c, err := newContent(testOgg(100), vtt) // 2 s: Ada to 0.6 s, Bob to 1.8 s, then the room
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, time.Second)
	l := join(t, rm)
	d := drainListener(l)
	step(t, clk, rm, 2*len(c.packets)) // two full loops
	rm.leave(l, "")
	l.drop(websocket.StatusNormalClosure, "")
	<-d.done
	frames, texts := d.snapshot()

	// Per track, sequence numbers count only that track's frames, without a hole, across
	// the loop; timestamps are the room clock.
	last := map[uint16]uint32{1: frames[0].Seq - 1} // joined after tick 0
	for _, f := range frames {
		if f.Seq != last[f.Track]+1 {
			t.Fatalf("track %d: seq %d after %d", f.Track, f.Seq, last[f.Track])
		}
		last[f.Track] = f.Seq
		n := int64(f.Timestamp) / wire.FrameSamples
		if want := c.speakers[c.owner[n%int64(len(c.packets))]].Track; f.Track != want {
			t.Errorf("tick %d on track %d, want %d", n, f.Track, want)
		}
	}
	if last[1]+last[2]+last[3] != uint32(len(frames))+1 || last[2] == 0 || last[3] == 0 {
		t.Errorf("tracks: %v over %d frames", last, len(frames))
	}

	// Captions: partials grow, then one final; ids carry the loop.
	var partials, finals int
	seen := map[string]bool{}
	prev := ""
	for _, v := range texts {
		seg, ok := v.(*wire.Transcript)
		if !ok {
			continue
		}
		if seg.Final {
			finals++
			seen[seg.ID] = true
			prev = ""
			continue
		}
		partials++
		if len(seg.Text) <= len(prev) {
			t.Errorf("partial %q does not grow %q", seg.Text, prev)
		}
		prev = seg.Text
	}
	for _, id := range []string{"c1-0", "c2-0", "c1-1", "c2-1"} {
		if !seen[id] {
			t.Errorf("no final for %s (finals %v)", id, seen)
		}
	}
	if finals != 4 || partials < 2 {
		t.Errorf("%d finals, %d partials", finals, partials)
	}
	// The replay window holds only its last ticks.
	rm.mu.Lock()
	window := rm.ring[rm.ringHead:]
	rm.mu.Unlock()
	if len(window) == 0 {
		t.Fatal("empty replay window")
	}
	oldest := window[0].msg.tick
	if now := rm.ticks.Load() - 1; now-oldest >= rm.replayTicks {
		t.Errorf("ring keeps tick %d at tick %d (window %d)", oldest, now, rm.replayTicks)
	}
}

func TestSlowListenerDropped(t *testing.T) {
	c, err := newContent(testOgg(50), nil) // a frame every tick
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, time.Second)
	slow := join(t, rm) // never read
	fast := join(t, rm)
	d := drainListener(fast)
	step(t, clk, rm, queueLen+20)

	select {
	case <-slow.dropped:
		if slow.code != websocket.StatusTryAgainLater {
			t.Errorf("slow listener closed with %d, want 1013", slow.code)
		}
	default:
		t.Fatal("slow listener not dropped")
	}
	rm.mu.Lock()
	_, still := rm.listeners[slow]
	rm.mu.Unlock()
	if still {
		t.Error("slow listener still registered")
	}
	eventually(t, "every frame", func() bool {
		frames, _ := d.snapshot()
		return len(frames) == queueLen+20
	})
	frames, _ := d.snapshot()
	for i, f := range frames { // joined after tick 0, so from tick 1 on
		if f.Seq != uint32(i+2) || f.Timestamp != uint32((i+1)*wire.FrameSamples) {
			t.Fatalf("frame %d: seq %d ts %d", i, f.Seq, f.Timestamp)
		}
	}
	rm.leave(fast, "")
	fast.drop(websocket.StatusNormalClosure, "")
	<-d.done
}

func TestHeartbeatExpiry(t *testing.T) {
	c, err := newContent(testOgg(50), nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, time.Second)
	l := join(t, rm)
	d := drainListener(l)
	for range 4 { // 20 s of pings without an answer
		want := rm.ticks.Load() + 1
		advance(t, clk, rm, heartbeat)
		eventually(t, "tick", func() bool { return rm.ticks.Load() >= want })
	}
	<-d.done
	if l.code != websocket.StatusPolicyViolation {
		t.Errorf("silent listener closed with %d", l.code)
	}
	_, texts := d.snapshot()
	var pings int
	for _, v := range texts {
		if _, ok := v.(*wire.Ping); ok {
			pings++
		}
	}
	if pings == 0 {
		t.Error("no ping sent")
	}
}
