package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// scriptConn lives for `life` of fake time, then fails with err.
type scriptConn struct {
	clock *fakeclock.Clock
	life  time.Duration
	err   error
	sent  bool
}

func (c *scriptConn) Recv(ctx context.Context) (Event, error) {
	if !c.sent {
		c.sent = true
		return RoomInfo{ID: "r"}, nil
	}
	c.clock.Advance(c.life)
	return nil, c.err
}

func (c *scriptConn) Close() error { return nil }

// attemptFunc scripts attempt n (0-based): a Conn, or a refusal.
type attemptFunc func(n int) (Conn, error)

func run(t *testing.T, p Policy, rnd float64, maxAttempts int, script attemptFunc) (*fakeclock.Clock, []State, error) {
	t.Helper()
	clock := fakeclock.New(t0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	r := &Reconnector{
		URL: "test://h/r", Policy: p, Clock: clock, Rand: func() float64 { return rnd },
		Dialer: DialerFunc(func(ctx context.Context, u *url.URL, o DialOptions) (Conn, error) {
			if n >= maxAttempts {
				cancel()
				return nil, ctx.Err()
			}
			n++
			c, err := script(n - 1)
			if sc, ok := c.(*scriptConn); ok {
				sc.clock = clock
			}
			return c, err
		}),
	}
	var states []State
	err := r.Run(ctx, func(e Event) {
		if s, ok := e.(State); ok {
			states = append(states, s)
		}
	})
	return clock, states, err
}

func reconnecting(states []State) []State {
	var out []State
	for _, s := range states {
		if s.State == StateReconnecting {
			out = append(out, s)
		}
	}
	return out
}

func TestBackoffDropCurve(t *testing.T) {
	// rnd just under 1 makes every wait its cap, so the curve itself is checked.
	clock, states, _ := run(t, DefaultPolicy(), 0.999999, 40, func(int) (Conn, error) {
		return nil, errors.New("connection refused")
	})
	var elapsed time.Duration
	for i, w := range clock.Waits() {
		limit := 5 * time.Second
		if elapsed >= time.Minute {
			limit = 30 * time.Second
		}
		if i == 0 && w > time.Second {
			t.Fatalf("first retry waited %v, want <= 1s", w)
		}
		if w > limit {
			t.Fatalf("wait %d = %v after %v of outage, cap %v", i, w, elapsed, limit)
		}
		elapsed += w
	}
	if last := clock.Waits()[len(clock.Waits())-1]; last < 29*time.Second {
		t.Fatalf("after a long outage the cap should be reached: last wait %v", last)
	}
	rs := reconnecting(states)
	if rs[0].Reason != ReasonDropped || rs[len(rs)-1].Attempt != len(rs) {
		t.Fatalf("states: first %+v last %+v", rs[0], rs[len(rs)-1])
	}
}

func TestBackoffIsJittered(t *testing.T) {
	clock, _, _ := run(t, DefaultPolicy(), 0.25, 5, func(int) (Conn, error) { return nil, errors.New("refused") })
	if clock.Waits()[0] != 250*time.Millisecond || clock.Waits()[1] != 400*time.Millisecond {
		t.Fatalf("waits %v: want U(0,1s) then U(0,1.6s) scaled by 0.25", clock.Waits())
	}
}

func TestOverloadRetryAfterIsAFloor(t *testing.T) {
	for _, rnd := range []float64{0, 0.5, 0.999} {
		clock, states, _ := run(t, DefaultPolicy(), rnd, 3, func(int) (Conn, error) {
			return nil, &OverloadError{RetryAfter: 10 * time.Second, Reason: "HTTP 503"}
		})
		for _, w := range clock.Waits() {
			if w < 10*time.Second || w > 12*time.Second {
				t.Fatalf("rnd %v: wait %v, want in [RA, 1.2 RA]", rnd, w)
			}
		}
		// The front ends are told the server's Retry-After, to say the wait is a place
		// in its queue.
		if s := reconnecting(states)[0]; s.Reason != ReasonOverloaded || s.RetryIn != clock.Waits()[0] || s.RetryAfter != 10*time.Second {
			t.Fatalf("state %+v", s)
		}
	}
}

func TestOverloadCap(t *testing.T) {
	clock, states, _ := run(t, DefaultPolicy(), 0.999999, 30, func(int) (Conn, error) {
		return nil, &OverloadError{Reason: "1013"}
	})
	last := clock.Waits()[len(clock.Waits())-1]
	if last > 120*time.Second || last < 119*time.Second {
		t.Fatalf("overload waits should reach and hold the 120 s cap, last %v", last)
	}
	if s := reconnecting(states)[0]; s.RetryAfter != 0 {
		t.Fatalf("an overload without Retry-After reported one: %+v", s)
	}
}

func TestRestartSpread(t *testing.T) {
	clock, states, _ := run(t, DefaultPolicy(), 0.999999, 4, func(int) (Conn, error) {
		return nil, &RestartError{Reason: "restart"}
	})
	for _, w := range clock.Waits() {
		if w > 5*time.Second {
			t.Fatalf("restart wait %v > 5 s", w)
		}
	}
	if reconnecting(states)[0].Reason != ReasonRestart {
		t.Fatalf("reason %q", reconnecting(states)[0].Reason)
	}
}

func TestFlappingServerKeepsBackingOff(t *testing.T) {
	// Accepts, then drops after 1 s: never live for 30 s, so the attempt count grows.
	_, states, _ := run(t, DefaultPolicy(), 0.5, 8, func(int) (Conn, error) {
		return &scriptConn{life: time.Second, err: errors.New("reset by peer")}, nil
	})
	rs := reconnecting(states)
	for i, s := range rs {
		if s.Attempt != i+1 {
			t.Fatalf("attempt %d reported as %d: backoff was reset by a short-lived connection", i+1, s.Attempt)
		}
	}
	if rs[len(rs)-1].RetryIn <= rs[0].RetryIn {
		t.Fatalf("waits did not grow: %v then %v", rs[0].RetryIn, rs[len(rs)-1].RetryIn)
	}
}

func TestBackoffResetsAfterLongLiveSession(t *testing.T) {
	_, states, _ := run(t, DefaultPolicy(), 0.5, 6, func(n int) (Conn, error) {
		if n == 3 {
			return &scriptConn{life: 31 * time.Second, err: errors.New("dropped")}, nil
		}
		return nil, errors.New("refused")
	})
	rs := reconnecting(states)
	// Attempts 1..3 refused, then live 31 s and dropped: the next outage starts at 1.
	if rs[3].Attempt != 1 {
		t.Fatalf("after 31 s live the attempt should reset, got %+v", rs[3])
	}
}

func TestPermanentRefusalStops(t *testing.T) {
	for _, tt := range []struct {
		err    error
		reason string
	}{
		{ErrNotFound, ReasonNotFound}, {ErrUnauthorized, ReasonUnauthorized}, {ErrRoomEnded, ReasonRoomEnded},
	} {
		calls := 0
		_, states, err := run(t, DefaultPolicy(), 0.5, 5, func(int) (Conn, error) { calls++; return nil, tt.err })
		if !errors.Is(err, tt.err) || calls != 1 {
			t.Fatalf("%v: err %v after %d attempts", tt.err, err, calls)
		}
		if last := states[len(states)-1]; last.State != StateEnded || last.Reason != tt.reason {
			t.Fatalf("last state %+v", last)
		}
	}
}

func TestGiveUpAfter(t *testing.T) {
	p := DefaultPolicy()
	p.GiveUpAfter = time.Minute
	_, _, err := run(t, p, 0.5, 1000, func(int) (Conn, error) { return nil, errors.New("refused") })
	var g *GiveUpError
	if !errors.As(err, &g) || g.After < time.Minute || g.After > 2*time.Minute {
		t.Fatalf("err = %v", err)
	}
}

func TestNeverGivesUpByDefault(t *testing.T) {
	clock, _, err := run(t, DefaultPolicy(), 0.5, 500, func(int) (Conn, error) {
		return nil, &OverloadError{Reason: "503"}
	})
	if err != nil {
		t.Fatalf("gave up: %v", err)
	}
	if total := clock.Now().Sub(fakeclock.New(t0).Now()); total < time.Hour {
		t.Fatalf("500 attempts should span hours of outage, spanned %v", total)
	}
}

func TestRetryNowCutsTheWait(t *testing.T) {
	retry := make(chan struct{}, 1)
	retry <- struct{}{}
	blocked := make(chan time.Time) // never fires
	r := &Reconnector{
		URL: "test://h/r", Policy: DefaultPolicy(), RetryNow: retry,
		Clock: clockFunc(func(time.Duration) <-chan time.Time { return blocked }),
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	r.Dialer = DialerFunc(func(context.Context, *url.URL, DialOptions) (Conn, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return nil, errors.New("refused")
	})
	if err := r.Run(ctx, func(Event) {}); err != nil || calls != 2 {
		t.Fatalf("err %v, calls %d", err, calls)
	}
}

// TestRetryNowWhileLiveIsForgotten: "retry now" pressed while the room plays does not
// cut short the wait of the outage that comes later.
func TestRetryNowWhileLiveIsForgotten(t *testing.T) {
	retry := make(chan struct{}, 1)
	blocked := make(chan time.Time) // the backoff never ends by itself
	r := &Reconnector{
		URL: "test://h/r", Policy: DefaultPolicy(), RetryNow: retry,
		Clock: clockFunc(func(time.Duration) <-chan time.Time { return blocked }),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	r.Dialer = DialerFunc(func(context.Context, *url.URL, DialOptions) (Conn, error) {
		calls.Add(1)
		return dropConn{pressed: retry}, nil
	})
	done := make(chan error)
	go func() { done <- r.Run(ctx, func(Event) {}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil || calls.Load() != 1 {
		t.Fatalf("err %v, dialled %d times; want once: the press while live must not end the backoff", err, calls.Load())
	}
}

// dropConn is live until its first Recv, which the user answers by pressing "retry
// now" just before the connection drops.
type dropConn struct{ pressed chan<- struct{} }

func (c dropConn) Recv(context.Context) (Event, error) {
	c.pressed <- struct{}{}
	return nil, errors.New("drop")
}
func (dropConn) Close() error { return nil }

type clockFunc func(time.Duration) <-chan time.Time

func (f clockFunc) Now() time.Time                         { return time.Time{} }
func (f clockFunc) After(d time.Duration) <-chan time.Time { return f(d) }

func TestResumeCarriedToNextAttempt(t *testing.T) {
	var got []*Resume
	n := 0
	clock := fakeclock.New(t0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &Reconnector{URL: "test://h/r", Policy: DefaultPolicy(), Clock: clock,
		Dialer: DialerFunc(func(_ context.Context, _ *url.URL, o DialOptions) (Conn, error) {
			got = append(got, o.Resume)
			if n++; n == 3 {
				cancel()
			}
			return &resumableConn{scriptConn: scriptConn{clock: clock, life: time.Second, err: errors.New("drop")}}, nil
		})}
	_ = r.Run(ctx, func(Event) {})
	if got[0] != nil || got[1] == nil || got[1].Session != "s1" || got[1].Private != "the protocol's own" {
		t.Fatalf("resume tokens %+v", got)
	}
}

// Every attempt logs to the Reconnector's logger, and a Reconnector without one gives
// each attempt a logger that discards, never the process's default.
func TestLoggerReachesEachDial(t *testing.T) {
	for _, withLogger := range []bool{true, false} {
		var buf bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		r := &Reconnector{URL: "test://h/r", Policy: DefaultPolicy(), Clock: fakeclock.New(t0),
			Opts: DialOptions{Logger: slog.New(slog.NewTextHandler(&buf, nil))}, // replaced
			Dialer: DialerFunc(func(ctx context.Context, _ *url.URL, o DialOptions) (Conn, error) {
				if o.Logger == nil {
					t.Error("the attempt got no logger")
				} else {
					o.Logger.Info("attempt logs here")
				}
				cancel()
				return nil, ctx.Err()
			})}
		var want bytes.Buffer
		if withLogger {
			r.Logger = slog.New(slog.NewTextHandler(&want, nil))
		}
		_ = r.Run(ctx, func(Event) {})
		if buf.Len() != 0 {
			t.Errorf("Opts.Logger got %q; the Reconnector's logger replaces it", buf.String())
		}
		if got := strings.Contains(want.String(), "attempt logs here"); got != withLogger {
			t.Errorf("with a logger %v: the attempt's log reached it: %v (%q)", withLogger, got, want.String())
		}
	}
}

type resumableConn struct {
	scriptConn
	resumed bool
}

func (c *resumableConn) Resume() *Resume {
	return &Resume{Session: "s1", Private: "the protocol's own"}
}
func (c *resumableConn) Resumed() bool { return c.resumed }

// A reconnect that could not resume reports one Gap covering the outage, before live; a
// resumed one reports none (the server sends its own for what it no longer holds).
func TestGapOnlyWhenNotResumed(t *testing.T) {
	for _, resumed := range []bool{false, true} {
		clock := fakeclock.New(t0)
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		r := &Reconnector{URL: "test://h/r", Policy: DefaultPolicy(), Clock: clock, Rand: func() float64 { return 0.5 },
			Dialer: DialerFunc(func(context.Context, *url.URL, DialOptions) (Conn, error) {
				if n++; n == 3 {
					cancel()
				}
				return &resumableConn{scriptConn: scriptConn{clock: clock, life: 10 * time.Second, err: errors.New("drop")}, resumed: resumed && n > 1}, nil
			})}
		var gaps []Gap
		var order []string
		_ = r.Run(ctx, func(e Event) {
			switch e := e.(type) {
			case Gap:
				gaps = append(gaps, e)
				order = append(order, "gap")
			case State:
				order = append(order, string(e.State))
			}
		})
		if resumed && len(gaps) != 0 {
			t.Fatalf("resumed: want no gap, got %+v", gaps)
		}
		if !resumed {
			if len(gaps) != 2 || gaps[0].Why != WhyNotResumed {
				t.Fatalf("not resumed: want a gap per reconnect, got %+v", gaps)
			}
			if d := gaps[0].To.Sub(gaps[0].From); d != 500*time.Millisecond {
				t.Fatalf("gap of %v, want the first retry's wait, U(0, 1 s) drawn at 0.5", d)
			}
			if order[len(order)-2] != "gap" && order[len(order)-1] != "live" {
				t.Fatalf("the gap must come just before live: %v", order)
			}
		}
	}
}

// blockingConn delivers its events, then waits for more on feed until ctx ends.
type blockingConn struct{ feed chan Event }

func (c *blockingConn) Recv(ctx context.Context) (Event, error) {
	select {
	case ev := <-c.feed:
		return ev, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (c *blockingConn) Close() error { return nil }

func TestStallNoticeAndRecovery(t *testing.T) {
	clock := fakeclock.New(t0)
	conn := &blockingConn{feed: make(chan Event)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &Reconnector{URL: "test://h/r", Policy: DefaultPolicy(), Clock: clock,
		Dialer: DialerFunc(func(context.Context, *url.URL, DialOptions) (Conn, error) { return conn, nil })}
	events := make(chan Event, 64)
	go func() { _ = r.Run(ctx, func(e Event) { events <- e }) }()
	var states []State // states seen but not yet checked
	next := func() Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
		return nil
	}
	want := func(st ConnState) State {
		t.Helper()
		for len(states) == 0 {
			if s, ok := next().(State); ok {
				states = append(states, s)
			}
		}
		s := states[0]
		states = states[1:]
		if s.State != st {
			t.Fatalf("state %+v, want %s", s, st)
		}
		return s
	}
	// feed hands the pump one event and waits until it has been forwarded, so the fake
	// clock only moves once the pump has seen it.
	feed := func(e Event) {
		t.Helper()
		conn.feed <- e
		for {
			got := next()
			if s, ok := got.(State); ok {
				states = append(states, s)
				continue
			}
			return
		}
	}
	quiet := func(what string) {
		t.Helper()
		time.Sleep(3 * stallPoll)
		select {
		case e := <-events:
			t.Fatalf("%s: unexpected %+v", what, e)
		default:
		}
	}
	want(StateConnecting)
	want(StateLive)
	feed(AudioFrame{Speaker: "ada", Seq: 1})
	clock.Advance(1500 * time.Millisecond) // mid-talkspurt, but not yet 2 s
	quiet("after 1.5 s of silence")
	clock.Advance(time.Second)
	s := want(StateStalled)
	if s.Reason != ReasonStalled || s.Silence < StallNotice {
		t.Fatalf("stalled state %+v", s)
	}
	feed(AudioFrame{Speaker: "ada", Seq: 2})
	want(StateLive)

	// Between talkspurts with no caption open, only a missed heartbeat is a stall.
	feed(RoomInfo{ID: "r"})
	clock.Advance(5 * time.Second)
	quiet("a quiet room")
	clock.Advance(1500 * time.Millisecond)
	want(StateStalled)

	// A heartbeat is life: it ends the stall, keeps a quiet room live, and is not
	// passed on.
	conn.feed <- Heartbeat{}
	want(StateLive)
	for range 3 {
		clock.Advance(5 * time.Second)
		quiet("a quiet room with heartbeats")
		// The second send returns only once the pump has taken the first: the clock
		// must not move while a heartbeat is still on its way.
		conn.feed <- Heartbeat{}
		conn.feed <- Heartbeat{}
	}
}
