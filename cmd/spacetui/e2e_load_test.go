package main

// Load tests: thousands of listeners of `spacetui loadtest` against a real `spacetui
// serve`, through an overload and through a kill -9 restart. What the server saw comes
// from its own attempt log (msg="join accepted" / msg="join refused" lines on stderr).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spacetui/spacetui/crowd"
)

// servedAttempt is one WebSocket connection attempt as the server logged it.
type servedAttempt struct {
	at         time.Time
	accepted   bool
	resumed    bool
	retryAfter time.Duration // of a refusal with a Retry-After
}

// loggedServer is a `spacetui serve` process whose attempt log the test reads.
type loggedServer struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	attempts []servedAttempt
	logDone  chan struct{}
}

var (
	attemptLine    = regexp.MustCompile(`^time=(\S+) level=\S+ msg="join (accepted|refused)" .*listen=false(.*)$`)
	retryAfterWord = regexp.MustCompile(`retry_after=(\d+)`)
)

// serveLogged runs `spacetui serve --addr addr` until the test ends or kill, parsing its
// attempt log, and returns once it listens.
func serveLogged(t *testing.T, addr string, extra ...string) *loggedServer {
	t.Helper()
	s := &loggedServer{logDone: make(chan struct{})}
	s.cmd = exec.Command(spacetuiBin(t), append([]string{"serve", "--addr", addr}, extra...)...)
	stderr, _ := s.cmd.StderrPipe()
	stdout, _ := s.cmd.StdoutPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.kill() })
	go s.readLog(t, stderr)
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "listening on") {
				ok = true
				listening <- true
			}
		}
		if !ok {
			listening <- false
		}
	}()
	select {
	case ok := <-listening:
		if ok {
			return s
		}
	case <-time.After(10 * time.Second):
	}
	t.Fatalf("spacetui serve did not start on %s", addr)
	return nil
}

func (s *loggedServer) readLog(t *testing.T, r io.Reader) {
	defer close(s.logDone)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := attemptLine.FindStringSubmatch(sc.Text())
		if m == nil {
			if !strings.Contains(sc.Text(), `msg="listener left"`) {
				t.Log("serve: " + sc.Text())
			}
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Errorf("attempt log line with a bad time: %q", sc.Text())
			continue
		}
		a := servedAttempt{at: at, accepted: m[2] == "accepted", resumed: strings.Contains(m[3], "resumed=true")}
		if ra := retryAfterWord.FindStringSubmatch(m[3]); ra != nil {
			secs, _ := strconv.Atoi(ra[1])
			a.retryAfter = time.Duration(secs) * time.Second
		}
		s.mu.Lock()
		s.attempts = append(s.attempts, a)
		s.mu.Unlock()
	}
}

// since returns the attempts logged at or after t, oldest first.
func (s *loggedServer) since(t time.Time) []servedAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []servedAttempt
	for _, a := range s.attempts {
		if !a.at.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

// waitAccepted waits until the server has accepted n joins since t.
func (s *loggedServer) waitAccepted(tb *testing.T, n int, since time.Time, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, a := range s.since(since) {
			if a.accepted {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the server accepted %d joins in %v, want %d", got, timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *loggedServer) kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.logDone
	_ = s.cmd.Wait()
}

// runLoadtest starts `spacetui loadtest URL -n N args... --json`; wait returns its report.
func runLoadtest(t *testing.T, url string, n int, args ...string) (wait func() crowd.LoadtestReport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, spacetuiBin(t), append([]string{"loadtest", url, "-n", strconv.Itoa(n), "--json"}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &logWriter{t: t, prefix: "loadtest: "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return func() crowd.LoadtestReport {
		t.Helper()
		err := cmd.Wait()
		t.Logf("report: %s", bytes.TrimSpace(stdout.Bytes()))
		if err != nil {
			t.Fatalf("loadtest: %v", err)
		}
		var rep crowd.LoadtestReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("loadtest report: %v", err)
		}
		return rep
	}
}

// perSecond counts attempts in one-second bins from t0 (a compact series for the log).
func perSecond(atts []servedAttempt, t0 time.Time) []int {
	var bins []int
	for _, a := range atts {
		i := int(a.at.Sub(t0) / time.Second)
		for len(bins) <= i {
			bins = append(bins, 0)
		}
		bins[i]++
	}
	return bins
}

// The server melts: every listener is dropped at once and every attempt is refused with
// 503 and a Retry-After of 5 to 15 s for overloadFor; then it recovers.
func TestLoadOverloadRecovery(t *testing.T) {
	const (
		n           = 1000
		overloadFor = 5 * time.Second
		minRA       = 5 * time.Second // the server's smallest Retry-After
	)
	addr := freeAddr(t)
	srv := serveLogged(t, addr)
	began := time.Now()
	wait := runLoadtest(t, "ws://"+addr+"/rooms/demo", n, "--ramp", "2s", "--for", "38s")
	srv.waitAccepted(t, n, began, 25*time.Second)
	time.Sleep(2 * time.Second) // audio flows
	on := time.Now()
	faults(t, "http://"+addr, "overload,abruptclose")
	time.Sleep(overloadFor)
	off := time.Now()
	faults(t, "http://"+addr, "none")
	rep := wait()

	atts := srv.since(on)
	t.Logf("attempts per second from the overload on (server log; overload for the first %v): %v", overloadFor, perSecond(atts, on))

	// No attempt before its Retry-After, in aggregate from the server's side (remote ports
	// change with every attempt, so attempts cannot be told apart by client): each
	// listener makes one attempt after the drop with nothing to wait for; every later
	// attempt follows a refusal of its own, logged at T with Retry-After R, and may come
	// at T+R at the earliest. So by any time x, attempts <= n + refusals with T+R <= x.
	var refusals []servedAttempt
	for _, a := range atts {
		if !a.accepted {
			if a.retryAfter < minRA {
				t.Errorf("a refusal with Retry-After %v, want %v or more", a.retryAfter, minRA)
			}
			refusals = append(refusals, a)
		}
	}
	for x := on; !x.After(atts[len(atts)-1].at); x = x.Add(100 * time.Millisecond) {
		made, due := 0, 0
		for _, a := range atts {
			if !a.at.After(x) {
				made++
			}
		}
		for _, r := range refusals {
			if !r.at.Add(r.retryAfter).After(x) {
				due++
			}
		}
		if made > n+due {
			t.Errorf("at +%v: %d attempts, but only %d + %d were allowed by then: someone came back before their Retry-After",
				x.Sub(on).Round(100*time.Millisecond), made, n, due)
			break
		}
	}
	if rep.EarlyRetries != 0 {
		t.Errorf("the clients counted %d attempts sooner than their Retry-After", rep.EarlyRetries)
	}

	// Recovery, from the overload off to the last listener back: no one-second window has
	// more than twice the mean rate.
	var rec []time.Time
	var last time.Time
	accepted := 0
	for _, a := range atts {
		if a.accepted {
			accepted++
			last = a.at
		}
		if !a.at.Before(off) {
			rec = append(rec, a.at)
		}
	}
	period := last.Sub(off)
	mean := float64(len(rec)) / period.Seconds()
	peak := 0
	for i := range rec {
		j := i
		for j < len(rec) && rec[j].Sub(rec[i]) < time.Second {
			j++
		}
		peak = max(peak, j-i)
	}
	t.Logf("recovery: %d attempts over %v, mean %.1f/s, busiest one-second window %d (%.2f x mean); %d refused during the overload",
		len(rec), period.Round(time.Millisecond), mean, peak, float64(peak)/mean, len(refusals))
	if float64(peak) > 2*mean {
		t.Errorf("busiest one-second window of the recovery: %d attempts, over twice the mean of %.1f/s", peak, mean)
	}

	// All back within cap + jitter of the overload's end. A listener's last refusal came
	// by then; its wait after a refusal is max(RA, U(0, min(120 s, 1.6^(k-1) s))) +
	// U(0, RA/5) for its k-th attempt. With RA <= 15 s and waits of 5 s or more, it makes
	// at most 3 attempts in this outage (1.6^2 = 2.56 s < RA), so the wait is at most
	// 15 + 3 = 18 s; 2 s more for dialling under load.
	const bound = 18*time.Second + 2*time.Second
	t.Logf("last listener back %v after the overload ended (bound %v); %d joins accepted since the overload began",
		period.Round(time.Millisecond), bound, accepted)
	if period > bound {
		t.Errorf("the last listener came back %v after the overload ended, want within %v", period, bound)
	}
	if accepted < n {
		t.Errorf("%d joins accepted since the overload began, want %d", accepted, n)
	}
	if rep.Failed != 0 || rep.LiveAtEnd != n || rep.Joined != n {
		t.Errorf("joined %d, live at the end %d, stopped %d (%s): want all %d live, none stopped",
			rep.Joined, rep.LiveAtEnd, rep.Failed, rep.FirstError, n)
	}
}

// A reconnect storm: thousands of listeners, and the server is killed (SIGKILL) and
// restarted on the same port.
func TestLoadReconnectStorm(t *testing.T) {
	const (
		n    = 2000
		down = 3 * time.Second
	)
	addr := freeAddr(t)
	srv := serveLogged(t, addr)
	began := time.Now()
	wait := runLoadtest(t, "ws://"+addr+"/rooms/demo", n, "--ramp", "4s", "--for", "45s")
	srv.waitAccepted(t, n, began, 40*time.Second) // other packages' tests may share the 2 cores
	time.Sleep(2 * time.Second)                   // audio flows
	srv.kill()
	time.Sleep(down)
	srv2 := serveLogged(t, addr)
	up := time.Now()
	srv2.waitAccepted(t, n, up, 20*time.Second)
	back := time.Since(up)
	rep := wait()
	refused := 0
	for _, a := range srv2.since(up) {
		if !a.accepted {
			refused++
		}
	}
	t.Logf("the restarted server refused %d attempts", refused)

	t.Logf("after the restart: all %d back in %v; client attempts by second %v", n, back.Round(time.Millisecond), rep.AttemptsBySecond)
	t.Logf("outage: %d s, %d attempts, peak %d/s, mean %.1f/s; reconnects %d, gaps %d, lost %d (%.3f%%)",
		rep.Outage.Seconds, rep.Outage.Attempts, rep.Outage.PeakPerSec, rep.Outage.MeanPerSec,
		rep.Reconnects, rep.Gaps, rep.Frames.Lost, rep.Frames.LossPct())
	// The first retry after a drop waits U(0, 1 s), the next ones U(0, 1.6^k s) up to the
	// 5 s cap: about n attempts in the first second and fewer after. A client retrying
	// every second would make n/s throughout; the bounds leave room for the second
	// retries that land in the first second.
	if rep.Outage.PeakPerSec > 2*n || rep.Outage.MeanPerSec > n {
		t.Errorf("attempts during the outage: peak %d/s, mean %.1f/s; want at most %d and %d", rep.Outage.PeakPerSec,
			rep.Outage.MeanPerSec, 2*n, n)
	}
	// Waits are capped at 5 s in the first minute of an outage: everyone is back within
	// 5 s of the server listening again, plus the handshakes of 2,000 listeners on 2 busy
	// cores (join p99 about 2 s here; measured 5.2 to 8.7 s in all, with other tests
	// sharing the machine it can take longer).
	if back > 12*time.Second {
		t.Errorf("the last listener came back %v after the restart, want within 12 s", back)
	}
	// Everyone came back after the restart (waitAccepted above). Later, a saturated
	// 2-core machine can fall behind the room's clock and shed a slow listener with
	// 1013, which then sits out its Retry-After: a few may be waiting at the very end.
	// Nobody may give up.
	if rep.Failed != 0 || rep.LiveAtEnd < n-n/100 {
		t.Errorf("live at the end %d, stopped %d (%s): want at least %d live, none stopped", rep.LiveAtEnd, rep.Failed, rep.FirstError, n-n/100)
	}
}
