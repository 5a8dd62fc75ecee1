package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport/wire"
)

// demoTitle is the TITLE tag scripts/make-demo.sh gives the demo.
const demoTitle = "Keeping rooms alive under load"

// testServer is a Server serving on a local port until the test ends.
type testServer struct {
	*Server
	addr string
	stop func() error
}

func startServer(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for _, id := range s.ids {
		rm := s.rooms[id]
		eventually(t, "the room to start", func() bool { return rm.ticks.Load() > 0 })
	}
	return &testServer{Server: s, addr: addr, stop: stop}
}

// wsClient is a joined WebSocket client whose messages arrive on a channel.
type wsClient struct {
	c    *websocket.Conn
	msgs chan clientMsg
	err  error // why reading ended; read after msgs is closed
}

type clientMsg struct {
	binary bool
	data   []byte
}

func dialRoom(t *testing.T, addr, room string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/rooms/"+room, nil)
	if c != nil {
		c.SetReadLimit(wire.MaxMessage)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// joinRoom dials, joins and starts reading; reading stops when the test ends.
func joinRoom(t *testing.T, addr, room string) *wsClient {
	t.Helper()
	c, _, err := dialRoom(t, addr, room)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, wire.Join{Version: wire.Version})
	return readAll(t, c)
}

func readAll(t *testing.T, c *websocket.Conn) *wsClient {
	cl := &wsClient{c: c, msgs: make(chan clientMsg, 100000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(cl.msgs)
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				cl.err = err
				return
			}
			cl.msgs <- clientMsg{typ == websocket.MessageBinary, data}
		}
	}()
	t.Cleanup(func() { c.CloseNow(); <-done })
	return cl
}

// next returns the next control message, skipping audio and pings.
func (cl *wsClient) next(t *testing.T) any {
	t.Helper()
	for {
		select {
		case m, ok := <-cl.msgs:
			if !ok {
				t.Fatalf("connection ended: %v", cl.err)
			}
			if m.binary {
				continue
			}
			v, err := wire.Unmarshal(m.data)
			if err != nil {
				t.Fatalf("bad message %s: %v", m.data, err)
			}
			if _, ping := v.(*wire.Ping); !ping {
				return v
			}
		case <-time.After(waitLimit):
			t.Fatal("no message")
		}
	}
}

// closeStatus waits for the connection to end and returns its close code.
func (cl *wsClient) closeStatus(t *testing.T) websocket.StatusCode {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case _, ok := <-cl.msgs:
			if !ok {
				return websocket.CloseStatus(cl.err)
			}
		case <-timeout:
			t.Fatal("connection did not end")
		}
	}
}

func TestWebSocketSession(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{Clock: clk}, nil)
	rm := ts.rooms[DemoRoomID]
	cl := joinRoom(t, ts.addr, DemoRoomID)

	hello, ok := cl.next(t).(*wire.Hello)
	if !ok || hello.Version != 1 || hello.Session == "" || hello.Epoch != rm.epoch || hello.Resumed ||
		hello.ReplayWindowMs != 30000 || hello.HeartbeatMs != 5000 || hello.Room.ID != "demo" ||
		hello.Room.Title != demoTitle || hello.Room.Listeners != 1 || hello.Room.Started != "2026-11-27T12:00:00Z" {
		t.Fatalf("hello = %+v", hello)
	}
	roster, ok := cl.next(t).(*wire.Roster)
	if !ok || len(roster.Speakers) != 3 || roster.Speakers[0].ID != "ada" || roster.Speakers[0].Role != "host" {
		t.Fatalf("roster = %+v", roster)
	}

	step(t, clk, rm, 300) // 6 s: the first cue (0.3 s to 5.6 s) has ended
	var frames []wire.Frame
	var partial, final *wire.Transcript
	var count *wire.Listeners
	for len(cl.msgs) > 0 {
		m := <-cl.msgs
		if m.binary {
			var err error
			if frames, err = wire.ParseAudio(frames, m.data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		v, err := wire.Unmarshal(m.data)
		if err != nil {
			t.Fatal(err)
		}
		switch v := v.(type) {
		case *wire.Transcript:
			if v.ID == "c1-0" && !v.Final && partial == nil {
				partial = v
			}
			if v.ID == "c1-0" && v.Final {
				final = v
			}
		case *wire.Listeners:
			count = v
		}
	}
	if len(frames) < 250 {
		t.Errorf("%d frames in 300 ticks", len(frames))
	}
	for _, f := range frames {
		if f.Track < 1 || f.Track > 3 || f.Timestamp%wire.FrameSamples != 0 {
			t.Fatalf("frame %+v", f)
		}
	}
	first := rm.content.cues[0]
	if partial == nil || final == nil || partial.Speaker != "ada" || final.StartMs != first.startMs || final.EndMs != first.endMs ||
		len(partial.Text) >= len(final.Text) || final.Text[:len(partial.Text)] != partial.Text {
		t.Errorf("partial %+v, final %+v", partial, final)
	}
	if count == nil || count.Count != 1 {
		t.Errorf("listener count %+v, want 1", count)
	}

	// Shutdown closes every WebSocket with 1012.
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	if code := cl.closeStatus(t); code != websocket.StatusServiceRestart {
		t.Errorf("closed with %d, want 1012", code)
	}
}

func TestJoinRules(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{Clock: clk}, nil)

	t.Run("version mismatch", func(t *testing.T) {
		c, _, err := dialRoom(t, ts.addr, DemoRoomID)
		if err != nil {
			t.Fatal(err)
		}
		send(t, c, wire.Join{Version: 2})
		cl := readAll(t, c)
		if code := cl.closeStatus(t); code != websocket.StatusProtocolError {
			t.Errorf("closed with %d (%v), want 1002", code, cl.err)
		}
	})
	t.Run("no join", func(t *testing.T) {
		// The clock keeps the timers of joins that came (the subtest before): only one
		// more than now is this connection's.
		timers := len(clk.Deadlines())
		c, _, err := dialRoom(t, ts.addr, DemoRoomID)
		if err != nil {
			t.Fatal(err)
		}
		cl := readAll(t, c)
		eventually(t, "the join timer", func() bool { return len(clk.Deadlines()) > timers })
		advance(t, clk, ts.rooms[DemoRoomID], joinTimeout)
		if code := cl.closeStatus(t); code != websocket.StatusPolicyViolation {
			t.Errorf("closed with %d (%v), want 1008", code, cl.err)
		}
	})
	t.Run("unknown room", func(t *testing.T) {
		_, resp, err := dialRoom(t, ts.addr, "nope")
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("dial: %v, %+v", err, resp)
		}
		r, err := http.Get("http://" + ts.addr + "/rooms/nope")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("GET: %d", r.StatusCode)
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, r.Status)
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestMaxListeners(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{Clock: clk, MaxListeners: 1}, nil)
	first := joinRoom(t, ts.addr, DemoRoomID)
	first.next(t) // hello

	_, resp, err := dialRoom(t, ts.addr, DemoRoomID)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second listener: %v, %+v", err, resp)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < retryAfterBase || ra > retryAfterBase+retryAfterSpread {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	var list []roomInfo
	getJSON(t, "http://"+ts.addr+"/rooms", &list) // never refused
	if len(list) != 1 || list[0].ID != "demo" || list[0].Listeners != 1 || list[0].Speakers != 3 || list[0].URL != "ws://"+ts.addr+"/rooms/demo" {
		t.Errorf("GET /rooms = %+v", list)
	}

	// Leaving frees the place at once.
	if err := first.c.Close(websocket.StatusNormalClosure, "leaving"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the place to be freed", func() bool {
		var info roomInfo
		getJSON(t, "http://"+ts.addr+"/rooms/demo", &info)
		return info.Listeners == 0
	})
	second := joinRoom(t, ts.addr, DemoRoomID)
	if _, ok := second.next(t).(*wire.Hello); !ok {
		t.Error("no hello after the place was freed")
	}
}

// gatedListener lets a test stop the server's writes to one connection, as if the
// client behind it had stopped reading and its buffers were full. Like a real socket, a
// gated connection's blocked write returns an error once the connection is closed.
type gatedListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*gatedConn
}

type gatedConn struct {
	net.Conn
	blocked   atomic.Bool
	stuck     atomic.Int32  // writes blocked now
	release   chan struct{} // closed by the test to let writes through
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

func (g *gatedListener) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &gatedConn{Conn: c, release: make(chan struct{}), closed: make(chan struct{})}
	g.mu.Lock()
	g.conns = append(g.conns, gc)
	g.mu.Unlock()
	return gc, nil
}

func (g *gatedListener) conn(i int) *gatedConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[i]
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.blocked.Load() {
		c.stuck.Add(1)
		defer c.stuck.Add(-1)
		select {
		case <-c.release:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func TestSlowWebSocketListenerDropped(t *testing.T) {
	clk := newFakeClock()
	var gl *gatedListener
	ts := startServer(t, Config{Clock: clk}, func(ln net.Listener) net.Listener {
		gl = &gatedListener{Listener: ln}
		return gl
	})
	rm := ts.rooms[DemoRoomID]
	slow := joinRoom(t, ts.addr, DemoRoomID)
	slow.next(t) // hello
	slow.next(t) // roster
	gl.conn(0).blocked.Store(true)
	fast := joinRoom(t, ts.addr, DemoRoomID)
	fast.next(t)
	fast.next(t)

	step(t, clk, rm, queueLen+50)
	rm.mu.Lock()
	n := len(rm.listeners)
	rm.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d listeners registered, want the fast one only", n)
	}
	close(gl.conn(0).release)
	if code := slow.closeStatus(t); code != websocket.StatusTryAgainLater {
		t.Errorf("slow listener closed with %d (%v), want 1013", code, slow.err)
	}

	// The fast listener got every tick, in order.
	last := map[uint16]uint32{}
	frames := 0
	for len(fast.msgs) > 0 {
		m := <-fast.msgs
		if !m.binary {
			continue
		}
		fs, err := wire.ParseAudio(nil, m.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if prev, ok := last[f.Track]; ok && f.Seq != prev+1 {
				t.Fatalf("track %d: seq %d after %d", f.Track, f.Seq, prev)
			}
			last[f.Track] = f.Seq
			frames++
		}
	}
	if frames < queueLen {
		t.Errorf("fast listener got %d frames", frames)
	}
}

// A client that stops reading cannot hold up a shutdown: the room closes every listener
// when it stops, and once its grace has passed it cuts the connections whose writes are
// still stuck, including a listener already dropped as too slow. (With a connection
// whose blocked write never returned, this hung until the test binary timed out.)
func TestStopCutsStuckListener(t *testing.T) {
	clk := newFakeClock()
	var gl *gatedListener
	ts := startServer(t, Config{Clock: clk}, func(ln net.Listener) net.Listener {
		gl = &gatedListener{Listener: ln}
		return gl
	})
	rm := ts.rooms[DemoRoomID]
	stuck := joinRoom(t, ts.addr, DemoRoomID)
	stuck.next(t) // hello
	stuck.next(t) // roster
	dropped := joinRoom(t, ts.addr, DemoRoomID)
	dropped.next(t)
	dropped.next(t)
	for i := range 2 {
		gl.conn(i).blocked.Store(true)
	}
	step(t, clk, rm, 1)
	eventually(t, "the writes to block", func() bool { return gl.conn(0).stuck.Load() == 1 && gl.conn(1).stuck.Load() == 1 })
	if n := rm.closeListeners(0.5, websocket.StatusTryAgainLater, func() string { return "test" }); n != 1 {
		t.Fatalf("closed %d listeners, want 1", n)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the server did not stop") // the cleanup hangs too: the dump shows where
	}
	for _, cl := range []*wsClient{stuck, dropped} {
		cl.closeStatus(t) // the connection has ended, with or without a close frame
	}
	for i := range 2 {
		if n := gl.conn(i).stuck.Load(); n != 0 {
			t.Errorf("connection %d: %d writes still blocked", i, n)
		}
	}
}

func TestParseRoomFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RoomSpec
		err  bool
	}{
		{in: "talk=a.ogg", want: RoomSpec{ID: "talk", OggPath: "a.ogg"}},
		{in: "talk-2=dir/a.ogg,dir/a.vtt", want: RoomSpec{ID: "talk-2", OggPath: "dir/a.ogg", VTTPath: "dir/a.vtt"}},
		{in: "talk", err: true},
		{in: "=a.ogg", err: true},
		{in: "Talk=a.ogg", err: true},
		{in: "talk=", err: true},
		{in: "talk=a.ogg,", err: true},
	} {
		got, err := ParseRoomFlag(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRoomFlag(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestFileRooms(t *testing.T) {
	dir := t.TempDir()
	ogg, vtt := filepath.Join(dir, "talk.ogg"), filepath.Join(dir, "talk.vtt")
	if err := os.WriteFile(ogg, testOgg(100), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vtt, []byte("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ada>hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Rooms: []RoomSpec{{ID: "talk", OggPath: ogg, VTTPath: vtt}, {ID: "raw", OggPath: ogg}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s.RoomIDs()); got != "[demo talk raw]" {
		t.Errorf("RoomIDs = %s", got)
	}
	if s.rooms["talk"].title != "talk" || s.rooms[DemoRoomID].title != demoTitle || s.rooms["talk"].content.speakers[0].ID != "ada" {
		t.Errorf("talk room: %q %+v", s.rooms["talk"].title, s.rooms["talk"].content.speakers)
	}
	for _, cfg := range []Config{
		{Rooms: []RoomSpec{{ID: "x", OggPath: filepath.Join(dir, "missing.ogg")}}},
		{Rooms: []RoomSpec{{ID: "demo", OggPath: ogg}}},
		{Rooms: []RoomSpec{{ID: "x", OggPath: vtt}}},
		{NoDemo: true},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestRunTwice(t *testing.T) {
	ts := startServer(t, Config{Clock: newFakeClock()}, nil)
	if err := ts.Run(context.Background()); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("second Run: %v", err)
	}
}
