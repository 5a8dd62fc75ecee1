package crowd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// LoadtestConfig is one load test: N simulated listeners of one room.
type LoadtestConfig struct {
	URL string
	// N is how many listeners to simulate, all in this process.
	N int
	// For ends the run this long after it started; 0 runs until ctx ends.
	For time.Duration
	// Ramp spreads the listeners' first dials evenly over this long; 0 dials all at once.
	Ramp time.Duration
	// Token authenticates every listener where the protocol needs it.
	Token string
	// Progress gets a line a second while the run lasts; nil prints none.
	Progress io.Writer
	// Out gets the final report as a table; nil prints none.
	Out io.Writer
	// Policy is every listener's reconnect policy; the zero value means
	// transport.DefaultPolicy, the one real clients use.
	Policy transport.Policy
	// Dialer, when set, makes the connection attempts instead of the protocol registered
	// for the URL's scheme (tests, embedding).
	Dialer transport.Dialer
}

// LoadtestReport is what a load test measured. Frame counts come from sequence numbers
// per speaker track, not from message counts.
type LoadtestReport struct {
	URL       string `json:"url"`
	Listeners int    `json:"listeners"`
	// Seconds is how long the run lasted.
	Seconds float64 `json:"seconds"`
	// Joined listeners were live at least once; LiveAtEnd were connected when the run
	// ended (live, or stalled: connected but hearing nothing for a moment).
	Joined    int `json:"joined"`
	LiveAtEnd int `json:"live_at_end"`
	// Failed listeners stopped for good (a permanent refusal, or GiveUpAfter); FirstError
	// says why the first of them did.
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	// JoinLatency runs from a listener's first dial to its first live connection, over
	// the listeners that joined.
	JoinLatency Percentiles `json:"join_latency"`
	Frames      FrameCounts `json:"frames"`
	// FramesPerListener is the spread of Frames.Received over the listeners.
	FramesPerListener Spread `json:"frames_per_listener"`
	// LostPerListener is the spread of Frames.Lost over the listeners; LossyListeners
	// lost at least one frame.
	LostPerListener Spread `json:"lost_per_listener"`
	LossyListeners  int    `json:"lossy_listeners"`
	// Reconnects counts joins after a listener's first; Resumed of them continued the
	// session; Gaps were reported (by a reconnect that could not resume, or by the
	// server) and GapSeconds is their total length.
	Reconnects    int     `json:"reconnects"`
	MaxReconnects int     `json:"max_reconnects_per_listener"`
	Resumed       int     `json:"resumed"`
	Gaps          int     `json:"gaps"`
	GapSeconds    float64 `json:"gap_seconds"`
	// Attempts counts every connection attempt; EarlyRetries those made sooner after a
	// refusal than the Retry-After it carried (the policy makes none).
	Attempts     int `json:"attempts"`
	EarlyRetries int `json:"early_retries"`
	// Outage is the attempts of the seconds in which listeners waited to reconnect;
	// AttemptsBySecond has every second of the run, from its start.
	Outage           Outage `json:"outage"`
	AttemptsBySecond []int  `json:"attempts_by_second"`
	// HeapPerListener is the peak Go heap in use divided by Listeners, in bytes.
	HeapPerListener int64 `json:"heap_per_listener_bytes"`
}

// FrameCounts are audio frames as their sequence numbers tell. Received counts every
// frame that arrived, Duplicates and Late included; Lost counts the numbers skipped that
// never arrived (a reordered frame that arrives later is not lost), among them the frames
// of ticks a server too late to send them skipped, which keep their numbers
// (docs/protocol.md, "Audio"); Duplicates are
// frames received twice; Late frames arrived more than reorderWindow behind the newest
// of their track, too old to tell.
type FrameCounts struct {
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	Late       int64 `json:"late"`
}

// LossPct is the share of frames lost, in percent of those expected.
func (f FrameCounts) LossPct() float64 {
	expected := f.Received - f.Duplicates - f.Late + f.Lost
	if expected <= 0 {
		return 0
	}
	return 100 * float64(f.Lost) / float64(expected)
}

func (f *FrameCounts) add(o FrameCounts) {
	f.Received += o.Received
	f.Lost += o.Lost
	f.Duplicates += o.Duplicates
	f.Late += o.Late
}

// Percentiles of a duration, nearest-rank.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// MarshalJSON writes the percentiles in milliseconds.
func (p Percentiles) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(map[string]float64{"p50_ms": ms(p.P50), "p90_ms": ms(p.P90), "p99_ms": ms(p.P99), "max_ms": ms(p.Max)})
}

// Spread summarises a count over the listeners.
type Spread struct {
	Min int64 `json:"min"`
	P50 int64 `json:"p50"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

// Outage is the connection attempts of the seconds in which at least one listener
// was waiting to reconnect after a failed attempt or a drop.
type Outage struct {
	Seconds    int     `json:"seconds"`
	Attempts   int     `json:"attempts"`
	PeakPerSec int     `json:"peak_per_second"`
	MeanPerSec float64 `json:"mean_per_second"`
}

// reorderWindow is how far behind the newest frame of a track a frame can arrive and
// still be told apart as reordered or duplicated (a bit each in seqTrack.seen).
const reorderWindow = 64

// seqTrack follows one speaker track's sequence numbers, which wrap at 2^32.
type seqTrack struct {
	started bool
	top     uint32 // the newest sequence number
	seen    uint64 // bit i: top-i arrived
}

// add notes frame seq and counts it into c.
func (t *seqTrack) add(seq uint32, c *FrameCounts) {
	c.Received++
	if !t.started {
		t.started, t.top, t.seen = true, seq, 1
		return
	}
	switch d := int64(int32(seq - t.top)); {
	case d > 0:
		c.Lost += d - 1
		if d >= reorderWindow {
			t.seen = 0
		} else {
			t.seen <<= d
		}
		t.top, t.seen = seq, t.seen|1
	case -d >= reorderWindow:
		c.Late++
	case t.seen&(1<<-d) != 0:
		c.Duplicates++
	default: // reordered: counted lost when the newer frame came
		t.seen |= 1 << -d
		c.Lost--
	}
}

// Listener phases, for the progress line; a listener starts connecting (the zero value).
const (
	_ int32 = iota
	phaseLive
	phaseStalled
	phaseReconnecting
	phaseDone
)

// simListener is one simulated listener. Its fields are written on its reconnector's
// goroutine only (dial and emit both run there); the atomics are read by the progress
// line, the rest once the reconnector has returned.
type simListener struct {
	lt *loadtest

	phase    atomic.Int32
	received atomic.Int64
	lost     atomic.Int64

	tracks     map[string]*seqTrack
	counts     FrameCounts
	firstDial  time.Time
	joinedIn   time.Duration // first dial to first live; 0 until then
	joins      int
	resumed    int  // joins after the first that continued the session
	notResumed bool // the reconnector said the join under way did not resume
	gaps       int
	gapSeconds float64
	// The Retry-After of the last refused attempt and when the refusal came back.
	refusedAt  time.Time
	retryAfter time.Duration
	early      int
	err        error
}

// dial is one attempt, counted: the dialer every listener's reconnector uses.
func (l *simListener) dial(d transport.Dialer) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
		now := time.Now()
		if l.firstDial.IsZero() {
			l.firstDial = now
		}
		if l.retryAfter > 0 && now.Sub(l.refusedAt) < l.retryAfter {
			l.early++
		}
		l.lt.attempt(now)
		conn, err := d.Dial(ctx, u, opts)
		l.retryAfter = 0
		var oe *transport.OverloadError
		switch {
		case errors.As(err, &oe):
			l.refusedAt, l.retryAfter = time.Now(), oe.RetryAfter
		case errors.Is(err, syscall.EMFILE):
			l.lt.fail(fmt.Errorf("out of file descriptors after %d listeners joined: raise the open-file limit (ulimit -n 65536) or use fewer listeners: %w",
				l.lt.joined.Load(), err))
		}
		return conn, err
	})
}

// emit takes the listener's events on its reconnector's goroutine.
func (l *simListener) emit(ev transport.Event) {
	switch e := ev.(type) {
	case transport.AudioFrame:
		t := l.tracks[e.Speaker]
		if t == nil {
			t = &seqTrack{}
			l.tracks[e.Speaker] = t
		}
		t.add(e.Seq, &l.counts)
		l.received.Store(l.counts.Received)
		l.lost.Store(l.counts.Lost)
	case transport.Gap:
		// What a gap lost is its length; the sequence numbers after it start afresh
		// (a restarted server has a new stream), so they must not count as loss too.
		l.gaps++
		l.gapSeconds += e.Seconds()
		l.notResumed = l.notResumed || e.Why == transport.WhyNotResumed
		clear(l.tracks)
	case transport.State:
		l.state(e)
	}
}

func (l *simListener) state(s transport.State) {
	switch s.State {
	case transport.StateLive:
		if l.phase.Load() == phaseStalled {
			l.setPhase(phaseLive) // the stall ended on the same connection
			return
		}
		l.joins++
		if l.joins == 1 {
			l.joinedIn = time.Since(l.firstDial)
			l.lt.joined.Add(1)
		} else if !l.notResumed {
			l.resumed++
		}
		l.notResumed = false
		l.setPhase(phaseLive)
	case transport.StateStalled:
		l.setPhase(phaseStalled)
	case transport.StateReconnecting:
		l.setPhase(phaseReconnecting)
	case transport.StateEnded:
		l.setPhase(phaseDone)
	}
}

func (l *simListener) setPhase(p int32) {
	old := l.phase.Swap(p)
	if old == p {
		return
	}
	if old == phaseReconnecting {
		l.lt.reconnecting.Add(-1)
	}
	if p == phaseReconnecting {
		l.lt.outage(time.Now(), l.lt.reconnecting.Add(1))
	}
}

// loadtest is one run: the listeners and the per-second record of attempts.
type loadtest struct {
	cfg   LoadtestConfig
	start time.Time

	joined       atomic.Int64
	reconnecting atomic.Int64

	mu       sync.Mutex
	attempts []int  // connection attempts in second i of the run
	down     []bool // second i had a listener waiting to reconnect
	failure  error  // why the whole run must stop (EMFILE)
	abort    context.CancelFunc
}

func (lt *loadtest) second(t time.Time) int { return max(int(t.Sub(lt.start)/time.Second), 0) }

// grow makes second i addressable; lt.mu is held.
func (lt *loadtest) grow(i int) {
	for len(lt.attempts) <= i {
		lt.attempts = append(lt.attempts, 0)
		lt.down = append(lt.down, false)
	}
}

func (lt *loadtest) attempt(t time.Time) {
	i := lt.second(t)
	lt.mu.Lock()
	lt.grow(i)
	lt.attempts[i]++
	lt.mu.Unlock()
}

// outage marks the second of t as one in which listeners were waiting to reconnect.
func (lt *loadtest) outage(t time.Time, waiting int64) {
	if waiting <= 0 {
		return
	}
	i := lt.second(t)
	lt.mu.Lock()
	lt.grow(i)
	lt.down[i] = true
	lt.mu.Unlock()
}

// fail stops the whole run with err; the first failure wins.
func (lt *loadtest) fail(err error) {
	lt.mu.Lock()
	if lt.failure == nil {
		lt.failure = err
	}
	lt.mu.Unlock()
	lt.abort()
}

// RunLoadtest joins the room with cfg.N listeners in this process, each with its own
// transport.Reconnector and the real reconnect policy, receiving everything and decoding
// nothing, until cfg.For has passed or ctx ends. It prints a progress line every second
// on cfg.Progress and the report on cfg.Out, and returns the report. The error says why
// the run could not go on (out of file descriptors), or why listeners stopped for good;
// the report is valid either way.
func RunLoadtest(ctx context.Context, cfg LoadtestConfig) (LoadtestReport, error) {
	if cfg.N <= 0 {
		return LoadtestReport{}, errors.New("loadtest: N must be at least 1")
	}
	if cfg.Policy == (transport.Policy{}) {
		cfg.Policy = transport.DefaultPolicy()
	}
	dialer := cfg.Dialer
	if dialer == nil {
		var err error
		if _, dialer, err = transport.Lookup(cfg.URL); err != nil {
			return LoadtestReport{}, err
		}
	}
	// The listeners stop when the run does, after the last sample of who is live.
	runCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	var end <-chan time.Time
	if cfg.For > 0 {
		t := time.NewTimer(cfg.For)
		defer t.Stop()
		end = t.C
	}
	lt := &loadtest{cfg: cfg, start: time.Now(), abort: abort}
	quiet := slog.New(slog.DiscardHandler) // thousands of listeners would drown any log
	listeners := make([]*simListener, cfg.N)
	var wg sync.WaitGroup
	for i := range listeners {
		l := &simListener{lt: lt, tracks: make(map[string]*seqTrack, 4)}
		listeners[i] = l
		rc := &transport.Reconnector{
			URL:    cfg.URL,
			Dialer: l.dial(dialer),
			Opts:   transport.DialOptions{Token: cfg.Token},
			Policy: cfg.Policy,
			Clock:  transport.SystemClock{},
			Logger: quiet,
		}
		delay := cfg.Ramp * time.Duration(i) / time.Duration(cfg.N)
		wg.Go(func() {
			defer l.setPhase(phaseDone)
			select {
			case <-runCtx.Done():
				return
			case <-time.After(delay):
			}
			l.err = rc.Run(runCtx, l.emit)
		})
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()

	var (
		liveAtEnd int
		peakHeap  uint64
		tick      = time.NewTicker(time.Second)
	)
	defer tick.Stop()
	// sample counts the listeners connected (live, or stalled on a live connection).
	sample := func() (live, stalled int) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		for _, l := range listeners {
			switch l.phase.Load() {
			case phaseLive:
				live++
			case phaseStalled:
				live++
				stalled++
			}
		}
		return live, stalled
	}
	var lastAttempts int
	for running := true; running; {
		select {
		case <-ctx.Done():
			liveAtEnd, _ = sample()
			running = false
		case <-end:
			liveAtEnd, _ = sample()
			running = false
		case <-runCtx.Done(): // a failure stopped the run
			running = false
		case <-stopped:
			running = false
		case now := <-tick.C:
			live, stalled := sample()
			lt.outage(now, lt.reconnecting.Load())
			total := lt.totalAttempts()
			if cfg.Progress != nil {
				var c FrameCounts
				for _, l := range listeners {
					c.Received += l.received.Load()
					c.Lost += l.lost.Load()
				}
				fmt.Fprintf(cfg.Progress, "%3ds  joined %d/%d  live %d (stalled %d)  reconnecting %d  frames %s  lost %.2f%%  attempts/s %d\n",
					lt.second(now), lt.joined.Load(), cfg.N, live, stalled, lt.reconnecting.Load(),
					si(c.Received), c.LossPct(), total-lastAttempts)
			}
			lastAttempts = total
		}
	}
	abort()
	<-stopped

	rep := lt.report(listeners, liveAtEnd, peakHeap)
	if cfg.Out != nil {
		rep.WriteTable(cfg.Out)
	}
	lt.mu.Lock()
	err := lt.failure
	lt.mu.Unlock()
	if err == nil && rep.Failed > 0 {
		err = fmt.Errorf("%d of %d listeners stopped: %s", rep.Failed, rep.Listeners, rep.FirstError)
	}
	return rep, err
}

func (lt *loadtest) totalAttempts() int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := 0
	for _, a := range lt.attempts {
		n += a
	}
	return n
}

// report sums up the listeners once their reconnectors have returned.
func (lt *loadtest) report(listeners []*simListener, liveAtEnd int, peakHeap uint64) LoadtestReport {
	rep := LoadtestReport{
		URL:       transport.RedactURL(lt.cfg.URL),
		Listeners: len(listeners),
		Seconds:   time.Since(lt.start).Seconds(),
		LiveAtEnd: liveAtEnd,
	}
	var (
		latencies      []time.Duration
		frames, losses = make([]int64, 0, len(listeners)), make([]int64, 0, len(listeners))
	)
	for _, l := range listeners {
		if l.joins > 0 {
			rep.Joined++
			latencies = append(latencies, l.joinedIn)
			rep.Reconnects += l.joins - 1
			rep.MaxReconnects = max(rep.MaxReconnects, l.joins-1)
		}
		if l.err != nil {
			if rep.Failed == 0 {
				rep.FirstError = l.err.Error()
			}
			rep.Failed++
		}
		rep.Frames.add(l.counts)
		frames = append(frames, l.counts.Received)
		losses = append(losses, l.counts.Lost)
		if l.counts.Lost > 0 {
			rep.LossyListeners++
		}
		rep.Resumed += l.resumed
		rep.Gaps += l.gaps
		rep.GapSeconds += l.gapSeconds
		rep.EarlyRetries += l.early
	}
	rep.JoinLatency = percentiles(latencies)
	rep.FramesPerListener = spread(frames)
	rep.LostPerListener = spread(losses)
	rep.HeapPerListener = int64(peakHeap) / int64(len(listeners))

	lt.mu.Lock()
	defer lt.mu.Unlock()
	rep.AttemptsBySecond = slices.Clone(lt.attempts)
	for i, a := range lt.attempts {
		rep.Attempts += a
		if lt.down[i] {
			rep.Outage.Seconds++
			rep.Outage.Attempts += a
			rep.Outage.PeakPerSec = max(rep.Outage.PeakPerSec, a)
		}
	}
	if rep.Outage.Seconds > 0 {
		rep.Outage.MeanPerSec = float64(rep.Outage.Attempts) / float64(rep.Outage.Seconds)
	}
	return rep
}

// percentiles are nearest-rank percentiles of d, which they sort.
func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	return Percentiles{P50: rank(d, 50), P90: rank(d, 90), P99: rank(d, 99), Max: d[len(d)-1]}
}

// rank is the nearest-rank p-th percentile of sorted, which is not empty: the smallest
// value with at least p% of the values at or below it.
func rank[T any](sorted []T, p int) T {
	i := (p*len(sorted) + 99) / 100 // ceil(p/100 x n), 1-based
	return sorted[max(i, 1)-1]
}

// spread is the minimum, median and maximum of v, which it sorts.
func spread(v []int64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	slices.Sort(v)
	return Spread{Min: v[0], P50: rank(v, 50), P99: rank(v, 99), Max: v[len(v)-1]}
}

// WriteTable prints the report for people, one aspect a line.
func (r LoadtestReport) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(tw, "room\t%s, %d listeners, %.1f s\n", r.URL, r.Listeners, r.Seconds)
	fmt.Fprintf(tw, "listeners\tjoined %d, live at the end %d, stopped for good %d\n", r.Joined, r.LiveAtEnd, r.Failed)
	if r.FirstError != "" {
		fmt.Fprintf(tw, "first stop\t%s\n", r.FirstError)
	}
	fmt.Fprintf(tw, "join latency\tp50 %s, p90 %s, p99 %s, max %s (first dial to first live)\n",
		ms(r.JoinLatency.P50), ms(r.JoinLatency.P90), ms(r.JoinLatency.P99), ms(r.JoinLatency.Max))
	fmt.Fprintf(tw, "frames\t%s received, per listener min %d, median %d, max %d\n",
		si(r.Frames.Received), r.FramesPerListener.Min, r.FramesPerListener.P50, r.FramesPerListener.Max)
	fmt.Fprintf(tw, "lost\t%d (%.3f%%), per listener median %d, max %d; %d listeners lost any; duplicates %d, late %d\n",
		r.Frames.Lost, r.Frames.LossPct(), r.LostPerListener.P50, r.LostPerListener.Max, r.LossyListeners,
		r.Frames.Duplicates, r.Frames.Late)
	fmt.Fprintf(tw, "reconnects\t%d, max %d per listener; resumed %d; gaps %d (%.1f s in all)\n",
		r.Reconnects, r.MaxReconnects, r.Resumed, r.Gaps, r.GapSeconds)
	fmt.Fprintf(tw, "attempts\t%d, %d sooner than the Retry-After they were given\n", r.Attempts, r.EarlyRetries)
	fmt.Fprintf(tw, "outage\t%d s, attempts/s peak %d, mean %.1f (seconds with listeners waiting to reconnect)\n",
		r.Outage.Seconds, r.Outage.PeakPerSec, r.Outage.MeanPerSec)
	fmt.Fprintf(tw, "memory\t%s peak Go heap per listener\n", bytesSI(r.HeapPerListener))
	_ = tw.Flush()
}

// si writes n with a k or M suffix.
func si(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func bytesSI(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
