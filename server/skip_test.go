package server

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport/wire"
)

// producedSeq is the sequence number of the frame of tick n on its track: how many
// frames that track produced in ticks 0 to n, sent or skipped.
func producedSeq(c *content, n int64) uint32 {
	sp := c.owner[n%int64(len(c.packets))]
	var seq uint32
	for k := int64(0); k <= n; k++ {
		if i := k % int64(len(c.packets)); c.packets[i] != nil && c.owner[i] == sp {
			seq++
		}
	}
	return seq
}

func TestSkippedTicksLeaveSequenceHoles(t *testing.T) {
	c, err := newContent(testOgg(100), []byte(talkVTT)) // ada, bob, room; a frame every tick
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, time.Second)
	l := join(t, rm) // after tick 0: caption c1-0 is growing
	d := drainListener(l)
	step(t, clk, rm, 3)
	advance(t, clk, rm, 3*time.Second) // the machine stalls for 3 s: past maxLag
	eventually(t, "the skip", func() bool { return rm.skipped.Load() > 0 })
	step(t, clk, rm, 120) // and on, past the loop
	rm.leave(l, "")
	l.drop(websocket.StatusNormalClosure, "")
	<-d.done
	frames, texts := d.snapshot()

	skipped := rm.skipped.Load()
	if want := rm.ticks.Load() - 1 - skipped; int64(len(frames)) != want {
		t.Errorf("%d frames sent, want %d (ticks 1 to %d but %d skipped)", len(frames), want, rm.ticks.Load()-1, skipped)
	}
	// Every frame carries the number its track would have had with nothing skipped: a
	// listener sees the skipped ones as holes, on the tracks that had audio there.
	last := map[uint16]uint32{}
	for _, f := range frames {
		n := int64(f.Timestamp / wire.FrameSamples)
		if want := producedSeq(c, n); f.Seq != want {
			t.Fatalf("tick %d, track %d: seq %d, want %d", n, f.Track, f.Seq, want)
		}
		last[f.Track] = f.Seq
	}
	var numbered int64
	for _, seq := range last {
		numbered += int64(seq)
	}
	if holes := numbered - int64(len(frames)) - 1; holes != skipped { // tick 0 came before the join
		t.Errorf("%d sequence numbers never sent, want the %d skipped", holes, skipped)
	}

	// The client's jitter buffer, fed the frames of track 1 as they came (on the room
	// clock, with nothing for the stall) and played every 20 ms, counts the hole lost.
	jb := audio.NewJitterBuffer()
	t0 := time.Unix(0, 0)
	at := func(n int64) time.Time { return t0.Add(time.Duration(n) * tick) }
	next, lost1 := 0, 0
	for n := int64(1); n < rm.ticks.Load()+10; n++ {
		for ; next < len(frames) && int64(frames[next].Timestamp/wire.FrameSamples) <= n; next++ {
			if f := frames[next]; f.Track == 1 {
				jb.Push(audio.Frame{Seq: f.Seq, Timestamp: f.Timestamp, Payload: f.Payload}, at(n))
			}
		}
		jb.Pop(at(n), false)
	}
	from := int64(0) // the first tick skipped
	for i := 1; i < len(frames) && from == 0; i++ {
		if frames[i].Timestamp-frames[i-1].Timestamp > wire.FrameSamples {
			from = int64(frames[i-1].Timestamp/wire.FrameSamples) + 1
		}
	}
	for k := from; k < from+skipped; k++ { // the skipped ticks of track 1
		if i := k % int64(len(c.packets)); c.speakers[c.owner[i]].Track == 1 {
			lost1++
		}
	}
	if st := jb.Stats(); st.Lost != uint64(lost1) {
		t.Errorf("jitter buffer: %d lost, want the %d frames of track 1 skipped (%+v)", st.Lost, lost1, st)
	}

	// The caption growing when the room fell behind was finished, not left open.
	var final bool
	for _, v := range texts {
		if seg, ok := v.(*wire.Transcript); ok && seg.ID == "c1-0" && seg.Final {
			final = true
		}
	}
	if !final {
		t.Error("caption c1-0, growing when the ticks were skipped, never finished")
	}
	rm.mu.Lock()
	_, open := rm.partials["c1-0"]
	rm.mu.Unlock()
	if open {
		t.Error("c1-0 still kept as a partial")
	}
}

func TestSkipsLoggedRateLimited(t *testing.T) {
	c, err := newContent(testOgg(50), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	clk := newFakeClock()
	rm, err := newRoom("test", "Test", c, Config{Clock: clk, Logger: slog.New(slog.NewTextHandler(&buf, nil)), ReplayWindow: time.Second},
		new(atomic.Pointer[Faults]))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rm.run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "the first tick", func() bool { return rm.ticks.Load() == 1 })

	warnings := func() []string {
		var w []string
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "fell behind") {
				w = append(w, line)
			}
		}
		return w
	}
	stall := func(d time.Duration) int64 {
		before := rm.skipped.Load()
		advance(t, clk, rm, d)
		eventually(t, "the skip", func() bool { return rm.skipped.Load() > before })
		step(t, clk, rm, 1)
		return rm.skipped.Load() - before
	}
	first := stall(3 * time.Second)
	if w := warnings(); len(w) != 1 || !strings.Contains(w[0], "skipped="+itoa(first)) {
		t.Fatalf("after the first skip, warnings %q; want one with skipped=%d", w, first)
	}
	second := stall(3 * time.Second) // 3 s later: held back
	if w := warnings(); len(w) != 1 {
		t.Fatalf("a second skip 3 s later logged again: %q", w)
	}
	stall(8 * time.Second) // 11 s after the first warning: the second skip is logged
	w := warnings()
	if len(w) != 2 || !strings.Contains(w[1], "skipped="+itoa(second)) ||
		!strings.Contains(w[1], "skipped_total="+itoa(first+second)) {
		t.Fatalf("warnings %q; want a second one with skipped=%d skipped_total=%d", w, second, first+second)
	}
}

func TestResumeAcrossSkippedTicks(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{})
	first := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	hello := first.next(t).(*wire.Hello)
	step(t, clk, rm, 30)
	var got received
	first.until(t, rm.ticks.Load()-1, &got)
	leaveAndWait(t, rm, first, hello.Session)

	advance(t, clk, rm, 3*time.Second) // skipped while the client was away
	eventually(t, "the skip", func() bool { return rm.skipped.Load() > 0 })
	step(t, clk, rm, 10)
	second := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version, Session: hello.Session, Epoch: hello.Epoch, Last: lastSeqs(rm, got.frames)})
	if h, ok := second.next(t).(*wire.Hello); !ok || !h.Resumed {
		t.Fatalf("hello = %+v", h)
	}
	step(t, clk, rm, 10)
	var again received
	second.until(t, rm.ticks.Load()-1, &again)
	// What was skipped was never in the window: it is no reason for an expired gap.
	for _, v := range again.ctl {
		if g, ok := v.(*wire.Gap); ok {
			t.Errorf("gap %+v for ticks that were skipped, not expired", g)
		}
	}
	want := rm.ticks.Load() - int64(len(got.frames)) - 1 - rm.skipped.Load()
	if int64(len(again.frames)) != want {
		t.Errorf("%d frames after the resume, want %d", len(again.frames), want)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
