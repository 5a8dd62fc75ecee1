package main

// Real-process tests of the reconnect policy against `spacetui serve` and its faults:
// restarts, shedding, blips, black holes and outages longer than the replay window. Each
// runs a headless --json client and reads what the user would see.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// event is one JSON line of the client, stamped with when the test read it.
type event struct {
	at     time.Time
	fields map[string]any
}

func (e event) typ() string         { s, _ := e.fields["type"].(string); return s }
func (e event) str(k string) string { s, _ := e.fields[k].(string); return s }
func (e event) num(k string) float64 {
	f, _ := e.fields[k].(float64)
	return f
}

// jsonClient is `spacetui join --headless --json` with its events collected.
type jsonClient struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	evs  []event
	more chan struct{}
}

func startClient(t *testing.T, url string, extra ...string) *jsonClient {
	t.Helper()
	args := append([]string{"join", url, "--headless", "--json", "--output", "null"}, extra...)
	c := &jsonClient{t: t, cmd: exec.Command(spacetuiBin(t), args...), more: make(chan struct{}, 1)}
	c.cmd.Stderr = &logWriter{t: t, prefix: "client: "}
	out, _ := c.cmd.StdoutPipe()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var f map[string]any
			if json.Unmarshal(sc.Bytes(), &f) != nil {
				continue
			}
			c.mu.Lock()
			c.evs = append(c.evs, event{at: time.Now(), fields: f})
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

// wait returns the first event at or after index from that matches, or fails after d.
func (c *jsonClient) wait(from int, d time.Duration, what string, match func(event) bool) (event, int) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		for i := from; i < len(c.evs); i++ {
			if match(c.evs[i]) {
				e := c.evs[i]
				c.mu.Unlock()
				return e, i
			}
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("no %s within %v; events:\n%s", what, d, c.dump(from))
		}
	}
}

func (c *jsonClient) since(from int) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.evs[min(from, len(c.evs)):]...)
}

func (c *jsonClient) dump(from int) string {
	var b strings.Builder
	for _, e := range c.since(from) {
		if e.typ() != "transcript" && e.typ() != "speaking" {
			fmt.Fprintf(&b, "  %s %v\n", e.at.Format("15:04:05.000"), e.fields)
		}
	}
	return b.String()
}

func isState(state string) func(event) bool {
	return func(e event) bool { return e.typ() == "state" && e.str("state") == state }
}

func speaking(e event) bool {
	s, _ := e.fields["speakers"].([]any)
	return e.typ() == "speaking" && len(s) > 0
}

// outage takes a stream's source or server away (stop) while c hears it, from event
// from on, and brings it back (start) once it has been away for d. It waits until c
// has said it reconnects, is live again and hears the stream, logs how long that took,
// and returns the index of the live event.
func (c *jsonClient) outage(from int, d time.Duration, stop, start func() error) int {
	c.t.Helper()
	if err := stop(); err != nil {
		c.t.Fatal(err)
	}
	stopped := time.Now()
	_, i := c.wait(from, 15*time.Second, "reconnecting state", isState("reconnecting"))
	time.Sleep(d - time.Since(stopped))
	if err := start(); err != nil {
		c.t.Fatal(err)
	}
	back := time.Now()
	live, i := c.wait(i, 20*time.Second, "live state", isState("live"))
	heard, _ := c.wait(i, 10*time.Second, "speaking event after the return", speaking)
	c.t.Logf("away %s; live again %s and heard %s after the return", back.Sub(stopped).Round(100*time.Millisecond),
		live.at.Sub(back).Round(100*time.Millisecond), heard.at.Sub(back).Round(100*time.Millisecond))
	return i
}

// gaps counts gap events from index from.
func (c *jsonClient) gaps(from int) []event {
	var out []event
	for _, e := range c.since(from) {
		if e.typ() == "gap" {
			out = append(out, e)
		}
	}
	return out
}

// duplicates is the duplicate count of the last stats event.
func (c *jsonClient) duplicates() float64 {
	evs := c.since(0)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].typ() == "stats" {
			return evs[i].num("duplicates")
		}
	}
	return -1
}

// faults switches the server's faults through its loopback admin endpoint.
func faults(t *testing.T, base, spec string) {
	t.Helper()
	resp, err := http.Post(base+"/admin/faults", "text/plain", strings.NewReader(spec))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /admin/faults %q: %s", spec, resp.Status)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A restarted server is heard again within 6 s of its return, with one gap (a new
// epoch cannot resume) and no duplicated frames: after a graceful restart (close 1012)
// and after kill -9.
func TestReconnectAfterServerRestart(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sig    syscall.Signal
		reason string
	}{{"graceful 1012", syscall.SIGTERM, "restart"}, {"kill -9", syscall.SIGKILL, "dropped"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			srv := serveAt(t, addr)
			c := startClient(t, "ws://"+addr+"/rooms/demo", "--log", os.DevNull)
			_, i := c.wait(0, 10*time.Second, "speech", speaking)
			_ = srv.Process.Signal(tt.sig)
			e, i := c.wait(i, 5*time.Second, "reconnecting", isState("reconnecting"))
			if e.str("reason") != tt.reason {
				t.Errorf("reason %q, want %q", e.str("reason"), tt.reason)
			}
			time.Sleep(1500 * time.Millisecond)
			serveAt(t, addr)
			back := time.Now()
			live, j := c.wait(i, 10*time.Second, "live again", isState("live"))
			heard, _ := c.wait(j, 10*time.Second, "speech again", speaking)
			t.Logf("server back at %s: client live after %v, audio after %v",
				back.Format("15:04:05.000"), live.at.Sub(back).Round(time.Millisecond), heard.at.Sub(back).Round(time.Millisecond))
			if d := heard.at.Sub(back); d > 6*time.Second {
				t.Errorf("audio back %v after the server returned, want within 6 s", d)
			}
			if g := c.gaps(i); len(g) != 1 {
				t.Errorf("want exactly one gap event, got %d:\n%s", len(g), c.dump(i))
			}
			c.wait(j, 7*time.Second, "stats", func(e event) bool { return e.typ() == "stats" })
			if d := c.duplicates(); d != 0 {
				t.Errorf("%v duplicated frames", d)
			}
		})
	}
}

// Shedding (close 1013 with a retry hint) is an overload: the client waits at least the
// hint, resumes, and reports no gap.
func TestReconnectAfterShedding(t *testing.T) {
	t.Parallel()
	url, base := startServer(t)
	c := startClient(t, url, "--log", os.DevNull)
	_, i := c.wait(0, 10*time.Second, "speech", speaking)
	faults(t, base, "shedall")
	e, i := c.wait(i, 5*time.Second, "reconnecting", isState("reconnecting"))
	if e.str("reason") != "overloaded" || e.num("retry_in_ms") < 5000 {
		t.Errorf("want overloaded with a wait of at least the 5 s hint, got %v", e.fields)
	}
	live, j := c.wait(i, 25*time.Second, "live again", isState("live"))
	if waited := live.at.Sub(e.at); waited < time.Duration(e.num("retry_in_ms"))*time.Millisecond-500*time.Millisecond {
		t.Errorf("rejoined after %v, before the announced %v ms", waited, e.num("retry_in_ms"))
	}
	c.wait(j, 10*time.Second, "speech again", speaking)
	if g := c.gaps(i); len(g) != 0 {
		t.Errorf("a resume inside the window should lose nothing, got gaps:\n%s", c.dump(i))
	}
}

// A 2 s blip inside the replay window: resumed, no gap, no duplicates.
func TestReconnectBlipResumes(t *testing.T) {
	t.Parallel()
	url, base := startServer(t)
	c := startClient(t, url, "--log", os.DevNull)
	_, i := c.wait(0, 10*time.Second, "speech", speaking)
	faults(t, base, "abruptclose,overload")
	c.wait(i, 5*time.Second, "reconnecting", isState("reconnecting"))
	time.Sleep(2 * time.Second)
	faults(t, base, "none")
	_, j := c.wait(i, 25*time.Second, "live again", isState("live"))
	c.wait(j, 10*time.Second, "speech again", speaking)
	c.wait(j, 7*time.Second, "stats", func(e event) bool { return e.typ() == "stats" })
	if g := c.gaps(i); len(g) != 0 {
		t.Errorf("want no gap, got:\n%s", c.dump(i))
	}
	if d := c.duplicates(); d != 0 {
		t.Errorf("%v duplicated frames across the resume seam", d)
	}
}

// An outage longer than the replay window: exactly one gap, as long as the part of the
// outage the window no longer held.
func TestReconnectPastTheWindow(t *testing.T) {
	t.Parallel()
	const window = 3 * time.Second
	url, base := startServer(t, "--replay-window", window.String())
	c := startClient(t, url, "--log", os.DevNull)
	_, i := c.wait(0, 10*time.Second, "speech", speaking)
	faults(t, base, "abruptclose,overload")
	down, i := c.wait(i, 5*time.Second, "reconnecting", isState("reconnecting"))
	// Long enough that the part the window no longer holds surely had speech in it
	// (the server reports lost frames, not lost time).
	time.Sleep(10 * time.Second)
	faults(t, base, "none")
	live, j := c.wait(i, 30*time.Second, "live again", isState("live"))
	outage := live.at.Sub(down.at)
	// The server's gap message follows its hello, so it arrives just after "live".
	c.wait(i, 5*time.Second, "a gap", func(e event) bool { return e.typ() == "gap" })
	c.wait(j, 10*time.Second, "speech again", speaking)
	g := c.gaps(i)
	if len(g) != 1 {
		t.Fatalf("want exactly one gap, got %d:\n%s", len(g), c.dump(i))
	}
	want := (outage - window).Seconds()
	t.Logf("outage %.1f s, window %v, gap %.2f s", outage.Seconds(), window, g[0].num("seconds"))
	if got := g[0].num("seconds"); got < want-1 || got > want+1 {
		t.Errorf("gap of %.2f s, want about %.1f s (outage %.1f s minus the %v window)", got, want, outage.Seconds(), window)
	}
}

// A black-holed connection (open, silent) is shown as stalled within seconds and given
// up for dead at 15 +/- 1 s; the client comes back when the server does, without leaking
// file descriptors.
func TestReconnectBlackHole(t *testing.T) {
	t.Parallel()
	url, base := startServer(t)
	c := startClient(t, url, "--log", os.DevNull)
	_, i := c.wait(0, 10*time.Second, "speech", speaking)
	fds := func() int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.cmd.Process.Pid))
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		return len(ents)
	}
	before := fds()
	faults(t, base, "blackhole")
	start := time.Now()
	st, i := c.wait(i, 8*time.Second, "stalled", isState("stalled"))
	t.Logf("stalled shown after %v", st.at.Sub(start).Round(time.Millisecond))
	dead, i := c.wait(i, 20*time.Second, "reconnecting", isState("reconnecting"))
	if d := dead.at.Sub(start); d < 14*time.Second || d > 16*time.Second || dead.str("reason") != "stalled" {
		t.Errorf("declared dead after %v (reason %q), want 15 +/- 1 s (stalled)", d, dead.str("reason"))
	}
	faults(t, base, "none")
	_, j := c.wait(i, 30*time.Second, "live again", isState("live"))
	c.wait(j, 10*time.Second, "speech again", speaking)
	if after := fds(); after > before+1 {
		t.Errorf("file descriptors: %d before, %d after", before, after)
	}
}
