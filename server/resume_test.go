package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/transport/wire"
)

// talkVTT gives the test room three speakers: ada, bob and, between their cues, room.
const talkVTT = "WEBVTT\n\n00:00.000 --> 00:00.400\n<v Ada>one two three four five six\n\n" +
	"00:00.600 --> 00:00.800\n<v Bob>seven\n"

// startTalk serves one file room "talk" (a frame every tick, 2 s loop) on a fake clock.
func startTalk(t *testing.T, cfg Config) (*testServer, *room, *fakeclock.Clock) {
	t.Helper()
	dir := t.TempDir()
	ogg, vtt := filepath.Join(dir, "talk.ogg"), filepath.Join(dir, "talk.vtt")
	if err := os.WriteFile(ogg, testOgg(100), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vtt, []byte(talkVTT), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := newFakeClock()
	cfg.Clock, cfg.NoDemo, cfg.Rooms = clk, true, []RoomSpec{{ID: "talk", OggPath: ogg, VTTPath: vtt}}
	ts := startServer(t, cfg, nil)
	return ts, ts.rooms["talk"], clk
}

// received is what a test client has read so far.
type received struct {
	frames []wire.Frame
	ctl    []any // control messages but pings, in order
}

// until reads until a frame of room tick n or later has arrived.
func (cl *wsClient) until(t *testing.T, n int64, got *received) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case m, ok := <-cl.msgs:
			if !ok {
				t.Fatalf("connection ended: %v", cl.err)
			}
			if m.binary {
				fs, err := wire.ParseAudio(nil, m.data)
				if err != nil {
					t.Fatal(err)
				}
				got.frames = append(got.frames, fs...)
				if int64(fs[len(fs)-1].Timestamp/wire.FrameSamples) >= n {
					return
				}
				continue
			}
			v, err := wire.Unmarshal(m.data)
			if err != nil {
				t.Fatal(err)
			}
			if _, ping := v.(*wire.Ping); !ping {
				got.ctl = append(got.ctl, v)
			}
		case <-timeout:
			t.Fatalf("no frame of tick %d", n)
		}
	}
}

// lastSeqs is the last sequence number of each speaker in frames, as a client keeps it.
func lastSeqs(rm *room, frames []wire.Frame) map[string]uint32 {
	last := map[string]uint32{}
	for _, f := range frames {
		last[rm.content.speakers[rm.speakerOf[f.Track]].ID] = f.Seq
	}
	return last
}

// checkContiguous fails unless frames hold, per track, every sequence number from the
// first once, in order, and tick by tick in order.
func checkContiguous(t *testing.T, frames []wire.Frame) {
	t.Helper()
	last := map[uint16]uint32{}
	for i, f := range frames {
		if prev, ok := last[f.Track]; ok && f.Seq != prev+1 {
			t.Fatalf("frame %d: track %d seq %d after %d", i, f.Track, f.Seq, prev)
		}
		if i > 0 && f.Timestamp != frames[i-1].Timestamp+wire.FrameSamples {
			t.Fatalf("frame %d: timestamp %d after %d", i, f.Timestamp, frames[i-1].Timestamp)
		}
		last[f.Track] = f.Seq
	}
}

// leaveAndWait closes a client and waits until its room has kept its session.
func leaveAndWait(t *testing.T, rm *room, cl *wsClient, session string) {
	t.Helper()
	cl.c.Close(websocket.StatusNormalClosure, "leaving")
	eventually(t, "the session to be kept", func() bool {
		rm.mu.Lock()
		defer rm.mu.Unlock()
		s := rm.sessions[session]
		return s != nil && s.l == nil
	})
}

func joinWS(t *testing.T, addr, room string, j wire.Join) *wsClient {
	t.Helper()
	c, _, err := dialRoom(t, addr, room)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, j)
	return readAll(t, c)
}

func TestResumeInsideWindow(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{})
	first := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	hello := first.next(t).(*wire.Hello)
	step(t, clk, rm, 150)
	var got received
	first.until(t, rm.ticks.Load()-1, &got)
	leaveAndWait(t, rm, first, hello.Session)

	// The client kept only the first 100 frames (the rest were lost in flight), then
	// 4 s passed: well inside the 30 s window.
	kept := got.frames[:100]
	step(t, clk, rm, 200)
	second := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version, Session: hello.Session, Epoch: hello.Epoch, Last: lastSeqs(rm, kept)})
	h2, ok := second.next(t).(*wire.Hello)
	if !ok || !h2.Resumed || h2.Session != hello.Session || h2.Epoch != hello.Epoch {
		t.Fatalf("resume hello = %+v", h2)
	}
	step(t, clk, rm, 50) // live after the replay
	var again received
	second.until(t, rm.ticks.Load()-1, &again)
	all := append(append([]wire.Frame(nil), kept...), again.frames...)
	checkContiguous(t, all)
	if want := int(rm.ticks.Load()) - int(kept[0].Timestamp/wire.FrameSamples); len(all) != want {
		t.Errorf("%d frames from the first kept one to now, want %d", len(all), want)
	}
	for _, v := range again.ctl {
		if g, ok := v.(*wire.Gap); ok {
			t.Errorf("gap %+v inside the window", g)
		}
	}
	// The captions missed are replayed (latest version of each id), none twice.
	finals := map[string]int{}
	for _, v := range again.ctl {
		if seg, ok := v.(*wire.Transcript); ok && seg.Final {
			finals[seg.ID]++
		}
	}
	for id, n := range finals {
		if n > 1 {
			t.Errorf("final %s sent %d times", id, n)
		}
	}
	if len(finals) == 0 {
		t.Error("no caption replayed or sent live")
	}
	if n := len(ts.Attempts()); n != 2 || !ts.Attempts()[1].Resumed {
		t.Errorf("attempts %+v", ts.Attempts())
	}
}

func TestResumePastWindow(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{ReplayWindow: time.Second})
	first := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	hello := first.next(t).(*wire.Hello)
	step(t, clk, rm, 30)
	var got received
	left := rm.ticks.Load() - 1
	first.until(t, left, &got)
	leaveAndWait(t, rm, first, hello.Session)

	step(t, clk, rm, 150) // 3 s away with a 1 s window
	now := rm.ticks.Load() - 1
	second := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version, Session: hello.Session, Epoch: hello.Epoch, Last: lastSeqs(rm, got.frames)})
	if h, ok := second.next(t).(*wire.Hello); !ok || !h.Resumed {
		t.Fatalf("hello = %+v", h)
	}
	second.next(t) // roster
	gap, ok := second.next(t).(*wire.Gap)
	oldest := now - rm.replayTicks + 1
	if !ok || gap.Why != "expired" || gap.FromMs != (left+1)*20 || gap.ToMs != oldest*20 {
		t.Fatalf("gap = %+v, want from %d to %d ms", gap, (left+1)*20, oldest*20)
	}
	step(t, clk, rm, 20)
	var again received
	second.until(t, rm.ticks.Load()-1, &again)
	checkContiguous(t, again.frames)
	if first := again.frames[0].Timestamp / wire.FrameSamples; int64(first) != oldest {
		t.Errorf("replay starts at tick %d, want %d", first, oldest)
	}
	for _, v := range again.ctl {
		if g, ok := v.(*wire.Gap); ok {
			t.Errorf("second gap %+v", g)
		}
	}
}

func TestResumeRefusedJoinsFresh(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{})
	first := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	hello := first.next(t).(*wire.Hello)
	step(t, clk, rm, 10)
	leaveAndWait(t, rm, first, hello.Session)
	tooMany := map[string]uint32{}
	for i := range wire.MaxSpeakers + 1 {
		tooMany[string(rune('a'+i%26))+string(rune('a'+i/26))] = 1
	}
	for _, tc := range []struct {
		name string
		join wire.Join
	}{
		{"unknown session", wire.Join{Version: 1, Session: "nope", Epoch: hello.Epoch, Last: map[string]uint32{"ada": 1}}},
		{"other epoch", wire.Join{Version: 1, Session: hello.Session, Epoch: "restarted", Last: map[string]uint32{"ada": 1}}},
		{"too many tracks", wire.Join{Version: 1, Session: hello.Session, Epoch: hello.Epoch, Last: tooMany}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := joinWS(t, ts.addr, "talk", tc.join)
			h, ok := cl.next(t).(*wire.Hello)
			if !ok || h.Resumed || h.Session == hello.Session || h.Session == "nope" || h.Epoch != hello.Epoch {
				t.Errorf("hello = %+v", h)
			}
		})
	}
	// A forgotten session joins fresh too.
	rm.mu.Lock()
	rm.forgetLocked(clk.Now().Add(sessionTTL))
	_, kept := rm.sessions[hello.Session]
	rm.mu.Unlock()
	if kept {
		t.Fatal("session kept past its TTL")
	}
	cl := joinWS(t, ts.addr, "talk", wire.Join{Version: 1, Session: hello.Session, Epoch: hello.Epoch})
	if h := cl.next(t).(*wire.Hello); h.Resumed {
		t.Errorf("forgotten session resumed: %+v", h)
	}
}

func TestForgetBounded(t *testing.T) {
	c, err := newContent(testOgg(50), nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, clk := startRoom(t, c, time.Second)
	var ids []string
	for range 3 {
		l, id, _ := joinWith(t, rm, &wire.Join{Version: wire.Version})
		rm.leave(l, id)
		ids = append(ids, id)
		advance(t, clk, rm, time.Millisecond)
	}
	// Resumed and gone again: only the latest departure counts.
	l, _, resumed := joinWith(t, rm, &wire.Join{Version: wire.Version, Session: ids[0], Epoch: rm.epoch})
	if !resumed {
		t.Fatal("not resumed")
	}
	rm.leave(l, ids[0])
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.forgetLocked(clk.Now().Add(sessionTTL - 2*time.Millisecond)) // the first two departures expire
	if _, ok := rm.sessions[ids[1]]; ok {
		t.Error("expired session kept")
	}
	for _, id := range []string{ids[0], ids[2]} {
		if _, ok := rm.sessions[id]; !ok {
			t.Errorf("session %s forgotten early", id)
		}
	}
}
