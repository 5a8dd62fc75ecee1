package crowd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/transport"
)

func TestLoadtestSeqTrack(t *testing.T) {
	const top = math.MaxUint32
	tests := []struct {
		name string
		seqs []uint32
		want FrameCounts
	}{
		{"in order", []uint32{1, 2, 3, 4}, FrameCounts{Received: 4}},
		{"first frame anywhere", []uint32{1000, 1001}, FrameCounts{Received: 2}},
		{"gap", []uint32{1, 2, 6, 7}, FrameCounts{Received: 4, Lost: 3}},
		{"ticks the server skipped keep their numbers", []uint32{1, 2, 3, 60, 61}, FrameCounts{Received: 5, Lost: 56}},
		{"wrap in order", []uint32{top - 1, top, 0, 1}, FrameCounts{Received: 4}},
		{"gap across the wrap", []uint32{top - 1, 2}, FrameCounts{Received: 2, Lost: 3}},
		{"duplicate", []uint32{1, 2, 2, 3}, FrameCounts{Received: 4, Duplicates: 1}},
		{"duplicate of an older frame", []uint32{1, 2, 3, 1}, FrameCounts{Received: 4, Duplicates: 1}},
		{"duplicate across the wrap", []uint32{top, 0, top}, FrameCounts{Received: 3, Duplicates: 1}},
		{"reordered is not lost", []uint32{1, 3, 2, 4}, FrameCounts{Received: 4}},
		{"reordered across the wrap", []uint32{top - 1, 0, top, 1}, FrameCounts{Received: 4}},
		{"reordered then duplicated", []uint32{1, 3, 2, 2}, FrameCounts{Received: 4, Duplicates: 1}},
		{"gap partly filled late", []uint32{1, 5, 3}, FrameCounts{Received: 3, Lost: 2}},
		{"too old to tell", []uint32{100, 200, 100}, FrameCounts{Received: 3, Lost: 99, Late: 1}},
		{"edge of the window", []uint32{100, 100 + reorderWindow - 1, 100}, FrameCounts{Received: 3, Lost: reorderWindow - 2, Duplicates: 1}},
		{"long jump forgets the window", []uint32{1, 1 + reorderWindow + 1, 2}, FrameCounts{Received: 3, Lost: reorderWindow, Late: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr seqTrack
			var c FrameCounts
			for _, s := range tt.seqs {
				tr.add(s, &c)
			}
			if c != tt.want {
				t.Errorf("%v: got %+v, want %+v", tt.seqs, c, tt.want)
			}
		})
	}
}

func TestLoadtestLossPct(t *testing.T) {
	c := FrameCounts{Received: 102, Duplicates: 2, Lost: 25} // 100 distinct + 25 lost expected
	if got := c.LossPct(); got != 20 {
		t.Errorf("LossPct = %v, want 20", got)
	}
	if got := (FrameCounts{}).LossPct(); got != 0 {
		t.Errorf("LossPct of nothing = %v, want 0", got)
	}
}

func TestLoadtestPercentiles(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Percentiles
	}{
		{"empty", nil, Percentiles{}},
		{"one", ms(7), Percentiles{P50: 7e6, P90: 7e6, P99: 7e6, Max: 7e6}},
		{"two", ms(9, 1), Percentiles{P50: 1e6, P90: 9e6, P99: 9e6, Max: 9e6}},
		{"ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), Percentiles{P50: 5e6, P90: 9e6, P99: 10e6, Max: 10e6}},
		{"hundred", ms(hundred...), Percentiles{P50: 50e6, P90: 90e6, P99: 99e6, Max: 100e6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentiles(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := spread([]int64{5, 1, 3}); got != (Spread{Min: 1, P50: 3, P99: 5, Max: 5}) {
		t.Errorf("spread = %+v", got)
	}
}

// scriptConn plays its events, then fails with err, or with none stays silent until
// the attempt ends.
type scriptConn struct {
	events  []transport.Event
	err     error
	resumed bool
}

func (c *scriptConn) Recv(ctx context.Context) (transport.Event, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	if c.err != nil {
		return nil, c.err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *scriptConn) Close() error              { return nil }
func (c *scriptConn) Resume() *transport.Resume { return &transport.Resume{Session: "s"} }
func (c *scriptConn) Resumed() bool             { return c.resumed }

func frames(seqs ...uint32) []transport.Event {
	out := []transport.Event{transport.Roster{}}
	for _, s := range seqs {
		out = append(out, transport.AudioFrame{Speaker: "ada", Seq: s})
	}
	return out
}

// Each listener is refused once with a Retry-After, joins, loses two frames and gets
// one twice, is dropped, and resumes: the report must count exactly that.
func TestLoadtestCountsWhatListenersGet(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 20
	const retryAfter = 150 * time.Millisecond
	start := time.Now()
	dialer := transport.DialerFunc(func(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
		switch {
		case time.Since(start) < retryAfter/2: // every listener's first attempt
			return nil, &transport.OverloadError{RetryAfter: retryAfter, Reason: "test"}
		case opts.Resume == nil:
			return &scriptConn{events: frames(1, 2, 5, 5), err: errors.New("dropped")}, nil
		}
		return &scriptConn{events: frames(6, 7), resumed: true}, nil
	})
	policy := transport.DefaultPolicy()
	policy.Base = time.Millisecond
	var progress, out bytes.Buffer
	rep, err := RunLoadtest(context.Background(), LoadtestConfig{
		URL: "test://h/rooms/r", N: n, For: 1500 * time.Millisecond, Policy: policy,
		Dialer: dialer, Progress: &progress, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", out.String())
	want := FrameCounts{Received: 6 * n, Lost: 2 * n, Duplicates: n}
	if rep.Frames != want {
		t.Errorf("frames %+v, want %+v", rep.Frames, want)
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"joined", rep.Joined, n},
		{"live at the end", rep.LiveAtEnd, n},
		{"failed", rep.Failed, 0},
		{"reconnects", rep.Reconnects, n},
		{"resumed", rep.Resumed, n},
		{"gaps", rep.Gaps, 0},
		{"attempts", rep.Attempts, 3 * n},
		{"early retries", rep.EarlyRetries, 0},
		{"lossy listeners", rep.LossyListeners, n},
		{"max lost per listener", int(rep.LostPerListener.Max), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if rep.JoinLatency.P50 < retryAfter {
		t.Errorf("join latency p50 %v: shorter than the Retry-After every listener was given", rep.JoinLatency.P50)
	}
	if rep.Outage.Seconds < 1 || rep.Outage.Attempts < n {
		t.Errorf("outage %+v: want the refusals and drops of second 0", rep.Outage)
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("joined %d/%d", n, n)) {
		t.Errorf("progress lines:\n%s", progress.String())
	}
}

func TestLoadtestStopsOnPermanentRefusal(t *testing.T) {
	defer goleak.VerifyNone(t)
	dialer := transport.DialerFunc(func(context.Context, *url.URL, transport.DialOptions) (transport.Conn, error) {
		return nil, fmt.Errorf("/rooms/nope: %w", transport.ErrNotFound)
	})
	began := time.Now()
	rep, err := RunLoadtest(context.Background(), LoadtestConfig{URL: "test://h/rooms/nope", N: 5, For: time.Minute, Dialer: dialer})
	if err == nil || !strings.Contains(err.Error(), "5 of 5 listeners stopped") {
		t.Errorf("error %v, want all 5 stopped", err)
	}
	if rep.Failed != 5 || !strings.Contains(rep.FirstError, "room not found") {
		t.Errorf("report %+v", rep)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("took %v: the run must end once every listener has stopped", d)
	}
}

func TestLoadtestSaysSoWhenOutOfFiles(t *testing.T) {
	defer goleak.VerifyNone(t)
	dialer := transport.DialerFunc(func(context.Context, *url.URL, transport.DialOptions) (transport.Conn, error) {
		return nil, fmt.Errorf("dial h: %w", &os.SyscallError{Syscall: "socket", Err: syscall.EMFILE})
	})
	_, err := RunLoadtest(context.Background(), LoadtestConfig{URL: "test://h/rooms/r", N: 3, For: time.Minute, Dialer: dialer})
	if err == nil || !strings.Contains(err.Error(), "ulimit -n") || !errors.Is(err, syscall.EMFILE) {
		t.Errorf("error %v, want one that says to raise the open-file limit", err)
	}
}

func TestLoadtestReportTable(t *testing.T) {
	var b bytes.Buffer
	LoadtestReport{URL: "ws://h/rooms/demo", Listeners: 3, Frames: FrameCounts{Received: 2_500_000, Lost: 5}}.WriteTable(&b)
	for _, want := range []string{"3 listeners", "2.5M received", "join latency", "outage"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
