package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"time"
)

// Policy holds every number of the reconnect policy (docs/reliability.md, "The policy").
type Policy struct {
	// Base and Factor shape the exponential backoff: Base x Factor^n.
	Base   time.Duration
	Factor float64
	// DropCap bounds waits after drops, stalls and restarts during the first
	// DropCapWindow of an outage, so a restarted server is heard again quickly;
	// LaterDropCap bounds them after that.
	DropCap       time.Duration
	DropCapWindow time.Duration
	LaterDropCap  time.Duration
	// OverloadCap bounds waits when the server says it is overloaded.
	OverloadCap time.Duration
	// RestartSpread is the window a 1012 restart spreads reconnects over.
	RestartSpread time.Duration
	// ResetAfter is how long a connection must have been live before a drop starts a
	// fresh backoff rather than continuing the old one (a flapping server keeps growing).
	ResetAfter time.Duration
	// GiveUpAfter ends the outage with an error after this long; 0 never gives up.
	GiveUpAfter time.Duration
}

// DefaultPolicy returns the policy docs/reliability.md states.
func DefaultPolicy() Policy {
	return Policy{
		Base:          time.Second,
		Factor:        1.6,
		DropCap:       5 * time.Second,
		DropCapWindow: time.Minute,
		LaterDropCap:  30 * time.Second,
		OverloadCap:   120 * time.Second,
		RestartSpread: 5 * time.Second,
		ResetAfter:    30 * time.Second,
	}
}

func classify(err error) (Class, string) {
	var oe *OverloadError
	var re *RestartError
	var ue *UnreachableError
	switch {
	case errors.As(err, &oe):
		return ClassOverload, ReasonOverloaded
	case errors.As(err, &re):
		return ClassRestart, ReasonRestart
	case errors.Is(err, ErrUnauthorized):
		return ClassPermanent, ReasonUnauthorized
	case errors.Is(err, ErrNotFound):
		return ClassPermanent, ReasonNotFound
	case errors.Is(err, ErrRoomEnded):
		return ClassPermanent, ReasonRoomEnded
	case errors.Is(err, ErrProtocol):
		return ClassPermanent, "protocol"
	case errors.Is(err, ErrStalled):
		return ClassDrop, ReasonStalled
	case errors.As(err, &ue):
		return ClassDrop, ReasonUnreachable
	}
	return ClassDrop, ReasonDropped
}

// Resumable is implemented by a Conn that can resume a session: Resume says what to send
// next time, Resumed whether this connection continued the previous session (the server
// then sends what was missed, and a Gap for what it no longer holds).
type Resumable interface {
	Resume() *Resume
	Resumed() bool
}

// Stall detection while connected (docs/reliability.md): the user is told "stalled" after
// StallNotice of silence where audio was expected (mid-talkspurt, with a caption still
// open), or after StallQuiet of no traffic at all, which misses a heartbeat. The
// transport itself gives up on the connection after 15 s (ErrStalled).
const (
	StallNotice = 2 * time.Second
	StallQuiet  = 6 * time.Second
	// stallPoll only samples; the injected clock measures the silence.
	stallPoll = 250 * time.Millisecond
)

// WhyNotResumed is the Gap reason when a reconnect could not resume the session.
const WhyNotResumed = "reconnected without resume"

// GiveUpError ends Run when Policy.GiveUpAfter has passed without a successful join.
type GiveUpError struct {
	After time.Duration
	Last  error
}

func (e *GiveUpError) Error() string {
	return fmt.Sprintf("gave up after %s of failed attempts: %v", e.After.Round(time.Second), e.Last)
}

func (e *GiveUpError) Unwrap() error { return e.Last }

// Reconnector owns the retries of one room connection: it wraps a one-attempt Dialer,
// forwards the room's events, and between attempts waits as the Policy says, reporting
// every decision as a State event. It never gives up unless Policy.GiveUpAfter is set or
// the failure is permanent (unauthorized, not found, ended).
type Reconnector struct {
	URL    string
	Dialer Dialer
	Opts   DialOptions
	Policy Policy
	Clock  Clock
	// Rand returns a uniform float64 in [0, 1); nil uses math/rand/v2.
	Rand func() float64
	// Logger receives the Reconnector's decisions and, as DialOptions.Logger (which it
	// replaces), every attempt's log; nil discards them.
	Logger *slog.Logger
	// RetryNow, when it receives, cuts the current wait short. The attempt still counts
	// against the backoff. A receive pending while the room was live is dropped when the
	// connection fails: it was not meant for the outage that follows.
	RetryNow <-chan struct{}
}

// Run joins the room and stays joined until ctx ends (returns nil), the room ends (nil),
// a permanent refusal (the classified error) or GiveUpAfter (a *GiveUpError). emit gets
// every event in order on Run's goroutine.
func (r *Reconnector) Run(ctx context.Context, emit func(Event)) error {
	u, d, err := r.lookup()
	if err != nil {
		return err
	}
	var (
		attempt     int       // failed attempts in this outage
		outageStart time.Time // zero while live
		droppedAt   time.Time // when the last live connection failed; zero before the first
		opts        = r.Opts
	)
	opts.Logger = r.log()
	// The URL may carry credentials (user info, ?token=): the log gets it redacted.
	log := r.log().With("url", RedactURL(r.URL))
	emit(State{State: StateConnecting})
	for {
		dialed := r.Clock.Now()
		conn, err := d.Dial(ctx, u, opts)
		if err == nil {
			res, _ := conn.(Resumable)
			resumed := res != nil && res.Resumed()
			log.Info("joined", "attempt", attempt+1, "resume_asked", opts.Resume != nil, "resumed", resumed)
			if !droppedAt.IsZero() && !resumed {
				emit(Gap{From: droppedAt, To: dialed, Why: WhyNotResumed})
			}
			emit(State{State: StateLive})
			err = r.pump(ctx, conn, emit, log)
			droppedAt = r.Clock.Now()
			// "Retry now" pressed while live asked for nothing: the outage begins here.
			select {
			case <-r.RetryNow:
			default:
			}
			if res != nil {
				opts.Resume = res.Resume()
			}
			_ = conn.Close()
			if err == nil || ctx.Err() != nil {
				return nil // room ended or we were asked to leave
			}
			if r.Clock.Now().Sub(dialed) >= r.Policy.ResetAfter {
				attempt, outageStart = 0, time.Time{}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		cls, reason := classify(err)
		if cls == ClassPermanent {
			log.Warn("giving up: permanent refusal", "reason", reason, "err", err)
			// A refusal's words may be the server's: a State made here is cleaned as
			// it is made, as a protocol cleans the events it makes.
			emit(Clean(State{State: StateEnded, Reason: reason, Detail: err.Error()}))
			return err
		}
		now := r.Clock.Now()
		if outageStart.IsZero() {
			outageStart = now
		}
		if g := r.Policy.GiveUpAfter; g > 0 && now.Sub(outageStart) >= g {
			emit(Clean(State{State: StateEnded, Reason: reason, Detail: "gave up: " + err.Error()}))
			return &GiveUpError{After: now.Sub(outageStart), Last: err}
		}
		attempt++
		ra := retryAfter(err)
		wait := r.backoff(cls, attempt, now.Sub(outageStart), ra)
		log.Info("reconnect scheduled", "reason", reason, "attempt", attempt,
			"retry_in", wait.Round(time.Millisecond), "err", err)
		emit(Clean(State{State: StateReconnecting, Reason: reason, Attempt: attempt, RetryIn: wait, RetryAfter: ra, Detail: err.Error()}))
		select {
		case <-ctx.Done():
			return nil
		case <-r.Clock.After(wait):
		case <-r.RetryNow:
			log.Info("retry requested by the user", "attempt", attempt)
		}
	}
}

// lookup resolves the URL; an explicit Dialer (tests, embedding) overrides the registry.
func (r *Reconnector) lookup() (*url.URL, Dialer, error) {
	if r.Dialer == nil {
		return Lookup(r.URL)
	}
	u, err := parseURL(r.URL)
	if err != nil {
		return nil, nil, err
	}
	return u, r.Dialer, nil
}

// pump forwards events until the connection fails (the error) or the room ends (nil),
// and reports a stall (and the recovery from it) as State events.
func (r *Reconnector) pump(ctx context.Context, conn Conn, emit func(Event), log *slog.Logger) error {
	type result struct {
		ev  Event
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	next := make(chan result)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := conn.Recv(ctx)
			select {
			case next <- result{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() { cancel(); <-done }()

	var (
		last     = r.Clock.Now()
		expected bool // audio was flowing and a caption is still open
		talking  bool // the last event was audio
		open     = map[string]bool{}
		stalled  bool
		poll     = time.NewTicker(stallPoll)
	)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case res := <-next:
			if res.err != nil {
				return res.err
			}
			last = r.Clock.Now()
			if stalled {
				stalled = false
				emit(State{State: StateLive})
			}
			if _, ok := res.ev.(Heartbeat); ok {
				continue // alive; it says nothing about audio or captions
			}
			switch e := res.ev.(type) {
			case AudioFrame:
				talking = true
			case ActiveSpeakers:
				// a hint about the audio, not a break in it
			case TranscriptSegment:
				if e.Final {
					delete(open, e.ID)
				} else if len(open) < 64 {
					open[e.ID] = true
				}
			default:
				talking = false
			}
			expected = talking || len(open) > 0
			emit(res.ev)
			if e, ok := res.ev.(Ended); ok {
				emit(State{State: StateEnded, Reason: ReasonRoomEnded, Detail: e.Reason})
				return nil
			}
		case <-poll.C:
			silence := r.Clock.Now().Sub(last)
			if !stalled && (silence >= StallQuiet || expected && silence >= StallNotice) {
				stalled = true
				log.Warn("stalled", "silence", silence.Round(time.Millisecond))
				emit(State{State: StateStalled, Reason: ReasonStalled, Silence: silence,
					Detail: fmt.Sprintf("no data for %s", silence.Round(time.Second))})
			}
		}
	}
}

// retryAfter is the Retry-After an overloaded server gave with err, 0 for none.
func retryAfter(err error) time.Duration {
	var oe *OverloadError
	if errors.As(err, &oe) {
		return oe.RetryAfter
	}
	return 0
}

// backoff is the wait before attempt n (1-based) of an outage that began elapsed ago,
// after a failure that came with the Retry-After ra (0 for none).
func (r *Reconnector) backoff(cls Class, n int, elapsed, ra time.Duration) time.Duration {
	rnd := rand.Float64
	if r.Rand != nil {
		rnd = r.Rand
	}
	return r.Policy.Wait(cls, n, elapsed, ra, rnd)
}

func (r *Reconnector) log() *slog.Logger {
	return DialOptions{Logger: r.Logger}.Log()
}
