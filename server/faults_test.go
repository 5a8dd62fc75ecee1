package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
	_ "github.com/spacetui/spacetui/transport/ws" // ws:// for transport.Dial
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
		err        bool
	}{
		{spec: "", want: "none"},
		{spec: "none", want: "none"},
		{spec: "Stall, overload", want: "overload,stall"},
		{spec: "overload,shedall,stall,blackhole,slowdrip,abruptclose,duplicate,reorder", want: "overload,shedall,stall,blackhole,slowdrip,abruptclose,duplicate,reorder"},
		{spec: "overload,melt", err: true},
	} {
		f, err := ParseFaults(tc.spec)
		if (err != nil) != tc.err || (!tc.err && f.String() != tc.want) {
			t.Errorf("ParseFaults(%q) = %v, %v", tc.spec, f, err)
		}
	}
}

// lockedBuffer is a log destination tests can read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func dialTransport(t *testing.T, addr string) (transport.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := transport.Dial(ctx, "ws://"+addr+"/rooms/talk", transport.DialOptions{})
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// recvErr reads events until the connection ends and returns why.
func recvErr(t *testing.T, c transport.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		if _, err := c.Recv(ctx); err != nil {
			return err
		}
	}
}

func TestOverloadFaultAndSpreadRetryAfter(t *testing.T) {
	var logs lockedBuffer
	ts, _, _ := startTalk(t, Config{Faults: Faults{Overload: true}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	seen := map[int]bool{}
	for range 40 {
		_, err := dialTransport(t, ts.addr)
		var oe *transport.OverloadError
		if !errors.As(err, &oe) {
			t.Fatalf("dial: %v, want an OverloadError", err)
		}
		s := int(oe.RetryAfter / time.Second)
		if s < retryAfterBase || s > retryAfterBase+retryAfterSpread {
			t.Fatalf("Retry-After %v", oe.RetryAfter)
		}
		seen[s] = true
	}
	if len(seen) < 5 {
		t.Errorf("40 refusals gave only %d distinct Retry-After values: %v", len(seen), seen)
	}
	var list []roomInfo
	getJSON(t, "http://"+ts.addr+"/rooms", &list) // never refused

	atts := ts.Attempts()
	if len(atts) != 40 {
		t.Fatalf("%d attempts", len(atts))
	}
	for i, a := range atts {
		if a.Accepted || a.Reason != ReasonOverloaded || a.RetryAfter < retryAfterBase*time.Second || a.Room != "talk" ||
			(i > 0 && a.Time.Before(atts[i-1].Time)) {
			t.Fatalf("attempt %d: %+v", i, a)
		}
	}
	line := regexp.MustCompile(`time=\S+ level=INFO msg="join refused" room=talk remote=127\.0\.0\.1:\d+ listen=false reason=overloaded retry_after=(\d+)`)
	if n := len(line.FindAllString(logs.String(), -1)); n != 40 {
		t.Errorf("%d parsable refusal lines in the log:\n%s", n, logs.String())
	}

	ts.SetFaults(Faults{})
	c, err := dialTransport(t, ts.addr)
	if err != nil {
		t.Fatalf("after the overload: %v", err)
	}
	c.Close()
	if a := ts.Attempts()[40]; !a.Accepted {
		t.Errorf("attempt after the overload: %+v", a)
	}
	if !strings.Contains(logs.String(), `msg="join accepted" room=talk`) {
		t.Error("no accepted line in the log")
	}
}

func TestShedAllAndRestart(t *testing.T) {
	ts, _, _ := startTalk(t, Config{})
	shed, err := dialTransport(t, ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	raw.next(t)
	ts.SetFaults(Faults{ShedAll: true})
	var oe *transport.OverloadError
	if err := recvErr(t, shed); !errors.As(err, &oe) || oe.RetryAfter < retryAfterBase*time.Second {
		t.Errorf("shed: %v, want an OverloadError with a retry hint", err)
	}
	if code := raw.closeStatus(t); code != websocket.StatusTryAgainLater {
		t.Errorf("closed with %d, want 1013", code)
	}
	if !regexp.MustCompile(`^overloaded; retry-after=\d+$`).MatchString(closeReason(raw.err)) {
		t.Errorf("reason %q", closeReason(raw.err))
	}
	if ts.Faults() != (Faults{}) {
		t.Errorf("ShedAll kept as a state: %v", ts.Faults())
	}

	restarted, err := dialTransport(t, ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	recvd := make(chan error, 1)
	go func() { recvd <- recvErr(t, restarted) }() // reading, so the close handshake completes
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	var re *transport.RestartError
	if err := <-recvd; !errors.As(err, &re) {
		t.Errorf("shutdown: %v, want a RestartError", err)
	}
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

func TestShedFraction(t *testing.T) {
	ts, rm, _ := startTalk(t, Config{})
	var cls []*wsClient
	for range 4 {
		cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
		cl.next(t)
		cls = append(cls, cl)
	}
	if n := ts.Shed(0.5); n != 2 {
		t.Errorf("Shed(0.5) closed %d of 4", n)
	}
	rm.mu.Lock()
	left := len(rm.listeners)
	rm.mu.Unlock()
	if left != 2 {
		t.Errorf("%d listeners left", left)
	}
}

func TestStallFault(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{})
	cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	cl.next(t) // hello: registered
	step(t, clk, rm, 1)
	var got received
	cl.until(t, rm.ticks.Load()-1, &got) // live
	for {                                // the rest of the tick, up to its last message: the first listener count
		if _, ok := cl.next(t).(*wire.Listeners); ok {
			break
		}
	}
	ts.SetFaults(Faults{Stall: true})
	step(t, clk, rm, int(2*silenceLimit/tick)) // 30 s: pings due, silence limit passed twice
	time.Sleep(50 * time.Millisecond)          // a leak has time to show; none can pass late
	if n := len(cl.msgs); n != 0 {
		t.Fatalf("%d messages sent during a stall", n)
	}
	ts.SetFaults(Faults{})
	step(t, clk, rm, int(heartbeat/tick)) // open still: traffic and the next ping flow again
	cl.until(t, rm.ticks.Load()-1, &got)
	rm.mu.Lock()
	n := len(rm.listeners)
	rm.mu.Unlock()
	if n != 1 {
		t.Error("stalled listener closed")
	}
}

func TestBlackHoleFault(t *testing.T) {
	ts, rm, clk := startTalk(t, Config{Faults: Faults{BlackHole: true}})
	cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	eventually(t, "the place to be taken", func() bool { return rm.info("").Listeners == 1 })
	advance(t, clk, rm, 2*joinTimeout) // the join timer does not run either
	time.Sleep(50 * time.Millisecond)
	if n := len(cl.msgs); n != 0 {
		t.Fatalf("%d messages from a black hole", n)
	}
	ts.SetFaults(Faults{})
	if _, ok := cl.next(t).(*wire.Hello); !ok {
		t.Error("no hello once the black hole is lifted")
	}
}

func TestSlowDripFault(t *testing.T) {
	ts, _, _ := startTalk(t, Config{Faults: Faults{SlowDrip: true}})
	start := time.Now()
	cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	h, ok := cl.next(t).(*wire.Hello)
	// The 101 response and the hello are over 300 bytes: 40 pauses at the least.
	if took := time.Since(start); !ok || h.Room.ID != "talk" || took < 40*dripPause {
		t.Errorf("hello %+v after %v", h, took)
	}
	ts.SetFaults(Faults{})
}

func TestAbruptCloseFault(t *testing.T) {
	ts, rm, _ := startTalk(t, Config{})
	cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
	hello := cl.next(t).(*wire.Hello)
	ts.SetFaults(Faults{AbruptClose: true})
	if code := cl.closeStatus(t); code != -1 {
		t.Errorf("close code %d (%v), want none: no close frame", code, cl.err)
	}
	leaveAndWait(t, rm, cl, hello.Session)
	again := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version, Session: hello.Session, Epoch: hello.Epoch})
	if h := again.next(t).(*wire.Hello); !h.Resumed {
		t.Error("session lost with the connection")
	}
}

func TestDuplicateAndReorderFaults(t *testing.T) {
	for _, tc := range []struct {
		f                   Faults
		wantDups, wantSwaps bool
	}{
		{Faults{Duplicate: true}, true, false},
		{Faults{Reorder: true}, false, true},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			ts, rm, clk := startTalk(t, Config{Faults: tc.f})
			cl := joinWS(t, ts.addr, "talk", wire.Join{Version: wire.Version})
			cl.next(t) // hello: registered
			step(t, clk, rm, 101)
			var got received
			cl.until(t, rm.ticks.Load()-2, &got) // the last frame may be held back
			seen := map[[2]uint32]int{}
			dups, swaps := 0, 0
			for i, f := range got.frames {
				seen[[2]uint32{uint32(f.Track), f.Seq}]++
				if i > 0 && f.Timestamp < got.frames[i-1].Timestamp {
					swaps++
				}
			}
			for _, n := range seen {
				dups += n - 1
			}
			if (dups > 0) != tc.wantDups || (swaps > 0) != tc.wantSwaps || len(seen) < 90 {
				t.Errorf("%d frames: %d distinct, %d duplicated, %d out of order", len(got.frames), len(seen), dups, swaps)
			}
			if tc.wantDups && (dups < 15 || dups > 25) {
				t.Errorf("%d duplicates in ~100 frames, want about 1 in %d", dups, duplicateEvery)
			}
		})
	}
}

func TestAdminEndpoint(t *testing.T) {
	ts, _, _ := startTalk(t, Config{})
	post := func(spec string) (int, string) {
		r, err := http.Post("http://"+ts.addr+"/admin/faults", "text/plain", strings.NewReader(spec))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := post("stall, overload"); code != http.StatusOK || body != "overload,stall" || !ts.Faults().Overload || !ts.Faults().Stall {
		t.Errorf("POST: %d %q, faults %v", code, body, ts.Faults())
	}
	if code, _ := post("melt"); code != http.StatusBadRequest || ts.Faults().String() != "overload,stall" {
		t.Errorf("bad spec: %d, faults %v", code, ts.Faults())
	}
	if code, body := post("none"); code != http.StatusOK || body != "none" {
		t.Errorf("POST none: %d %q", code, body)
	}

	for name, edit := range map[string]func(*http.Request){
		"remote":    func(r *http.Request) { r.RemoteAddr = "192.0.2.7:4000" },
		"ipv6":      func(r *http.Request) { r.RemoteAddr = "[2001:db8::1]:4000" },
		"forwarded": func(r *http.Request) { r.Header.Set("X-Forwarded-For", "192.0.2.7") },
	} {
		req := httptest.NewRequest(http.MethodPost, "/admin/faults", strings.NewReader("overload"))
		req.RemoteAddr = "127.0.0.1:4000"
		edit(req)
		rec := httptest.NewRecorder()
		ts.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || ts.Faults().Overload {
			t.Errorf("%s: %d, faults %v", name, rec.Code, ts.Faults())
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/admin/faults", nil)
	req.RemoteAddr = "[::1]:4000"
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "none" {
		t.Errorf("GET from ::1: %d %q", rec.Code, rec.Body.String())
	}
}
