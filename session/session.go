// Package session is the room hub: one joined room. It runs the reconnector over the
// dialer it is given and fans every event out to the audio pipeline, the recorder and one
// front end, and it owns the goroutines that do so.
//
// Everything it works with is handed in (the dialer, the sink, the clock, the recorder's
// options, the logger), so a unit test runs a whole session on fakes. The front ends (the
// TUI in ui, the text and JSON lines in ui/headless) depend on the hub, never the other
// way round: they read Events, Snapshot and Notice, and call RetryNow and the playback
// controls. See docs/architecture.md.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/transport"
)

// eventQueue is how many events may wait for a slow front end before the reconnector
// waits for it.
const eventQueue = 256

// Config is everything a Hub is given.
type Config struct {
	// URL is the room; Dialer makes each connection attempt to it (nil: the protocol
	// registered for the URL's scheme) with Dial.
	URL    string
	Dialer transport.Dialer
	Dial   transport.DialOptions
	// Policy is the reconnect policy; the zero value means transport.DefaultPolicy.
	Policy transport.Policy
	// Clock is the time source of --for and the recording; nil means the real clock.
	Clock transport.Clock

	// Sink plays the room; the Hub owns it and closes it. An audio.LateSink that could
	// not open its device is shown as such on the status line (Snapshot.OutputErr).
	Sink audio.Sink
	// Volume is the initial volume, 0-150 (%).
	Volume int
	// DecodeOptional lets the session go on without decoding where Opus is not built
	// in: a capture still records tracks and transcripts.
	DecodeOptional bool

	// For leaves the room this long after the first successful join; 0 stays.
	For time.Duration
	// Record, when set, records the room: the recorder opens at the first successful
	// join, which is time 0 of the recording. The Hub sets its Logger, Now and Mixed.
	Record *record.Options

	// Logger gets the log; nil discards it.
	Logger *slog.Logger
	// Notify tells the user something once (on stderr, say, and the log when that is a
	// file); nil logs it.
	Notify func(msg string)
}

// Snapshot is the session's playback and recording state at one instant, as the status
// line, the speaker meters and the headless stats show it.
type Snapshot struct {
	audio.Snapshot
	// Decoding says the audio is decoded, so levels and talking are real; without it
	// only a protocol's ActiveSpeakers hint says who talks.
	Decoding bool
	// OutputErr is a problem with the output, shown in place of its name.
	OutputErr string
	// Recording is the recorder's progress; Recording.Dir is empty when not recording.
	Recording record.Stats
	// BehindLive is how far behind the live edge the room's audio reaches us, as its
	// protocol last said (transport.RoomInfo.BehindLive): playback is behind live by
	// that and its own BufferMs.
	BehindLive time.Duration
}

// Frontend shows a room to the user. Run reads h.Events until it is closed (the room
// ended or was left) or ctx is done, and returns; its error ends the session.
type Frontend interface {
	Run(ctx context.Context, h *Hub) error
}

// FrontendFunc adapts a function to Frontend.
type FrontendFunc func(ctx context.Context, h *Hub) error

// Run calls f.
func (f FrontendFunc) Run(ctx context.Context, h *Hub) error { return f(ctx, h) }

// Hub is one run of a Config against a room. Create it with New and run it once.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	clock transport.Clock
	pipe  *audio.Pipeline // nil when nothing is decoded
	sink  audio.Sink      // closed by pipe, or by Run when there is no pipe

	events chan transport.Event // to the front end; closed when the reconnector returns
	retry  chan struct{}
	wg     sync.WaitGroup // the --for timer

	rec      atomic.Pointer[record.Recorder] // set at the first join: time 0 of the recording
	recErr   error                           // why the recorder could not open; reconnector goroutine, read after it ends
	speakers []string                        // ids of the current roster; reconnector goroutine only
	joined   bool                            // the first join happened; reconnector goroutine only
	behind   atomic.Int64                    // the last RoomInfo's BehindLive
}

// New returns a Hub for cfg and opens the playback pipeline on cfg.Sink. It fails when
// the pipeline cannot be built (unless DecodeOptional allows going on without it); the
// sink is then closed.
func New(cfg Config) (*Hub, error) {
	if cfg.Sink == nil {
		return nil, errors.New("session: no sink")
	}
	h := &Hub{
		cfg:    cfg,
		log:    cfg.Logger,
		clock:  cfg.Clock,
		sink:   cfg.Sink,
		events: make(chan transport.Event, eventQueue),
		retry:  make(chan struct{}, 1),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.clock == nil {
		h.clock = transport.SystemClock{}
	}
	pipe, err := audio.NewPipeline(audio.PipelineConfig{Sink: cfg.Sink, Volume: cfg.Volume, Logger: h.log})
	switch {
	case err == nil:
		h.pipe = pipe
	case cfg.DecodeOptional && errors.Is(err, audio.ErrNeedsFullBuild):
		h.Notice("this build has no Opus codec (cgo): recording tracks and transcripts only; the mixed audio.ogg and speaking indicators from the audio need the full build")
	default:
		_ = cfg.Sink.Close()
		return nil, err
	}
	return h, nil
}

// Run joins the room and stays until the front end returns (the user left), --for
// elapses, the room ends or a permanent refusal; only the last is an error. Overloads
// and outages never end it (unless the policy gives up). It then closes the pipeline and
// finalizes the recording.
func (h *Hub) Run(ctx context.Context, fe Frontend) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if h.pipe != nil {
		h.pipe.Start(ctx)
	}
	policy := h.cfg.Policy
	if policy == (transport.Policy{}) {
		policy = transport.DefaultPolicy()
	}
	rc := &transport.Reconnector{
		URL:      h.cfg.URL,
		Dialer:   h.cfg.Dialer,
		Opts:     h.cfg.Dial,
		Policy:   policy,
		Clock:    h.clock,
		Logger:   h.log,
		RetryNow: h.retry,
	}
	rcErr := make(chan error, 1)
	go func() {
		defer close(h.events)
		rcErr <- rc.Run(ctx, func(ev transport.Event) { h.dispatch(ctx, cancel, ev) })
	}()

	feErr := fe.Run(ctx, h)
	cancel()
	for range h.events { // let the reconnector finish if it is blocked on a send
	}
	err := <-rcErr
	h.wg.Wait()
	if h.pipe != nil {
		_ = h.pipe.Close() // closes the sink; nothing is mixed after this
	} else {
		_ = h.sink.Close()
	}
	recErr := h.closeRecording()
	switch {
	case err != nil:
		return err
	case h.recErr != nil:
		return h.recErr
	case feErr != nil && !errors.Is(feErr, context.Canceled):
		return feErr
	}
	return recErr
}

// Events is the room's events for the front end, in order, without audio frames. It is
// closed when the room has ended, was left or refused us.
func (h *Hub) Events() <-chan transport.Event { return h.events }

// RetryNow cuts the current reconnect wait short (the r key).
func (h *Hub) RetryNow() {
	select {
	case h.retry <- struct{}{}:
	default:
	}
}

// Snapshot returns the playback and recording state. It is cheap and safe to call from
// any goroutine at a UI's frame rate.
func (h *Hub) Snapshot() Snapshot {
	var s Snapshot
	if h.pipe != nil {
		s.Snapshot = h.pipe.Snapshot()
		s.Decoding = true
	}
	s.Output = h.sink.Name()
	if late, ok := h.sink.(*audio.LateSink); ok {
		if f := late.Failure(); f != "" {
			s.OutputErr = "no sound device: " + transport.Sanitize(f, 80)
		}
	}
	if rec := h.rec.Load(); rec != nil {
		s.Recording = rec.Stats()
	}
	s.BehindLive = time.Duration(h.behind.Load())
	return s
}

// SetVolume sets the playback volume in percent, 0-150.
func (h *Hub) SetVolume(pct int) {
	if h.pipe != nil {
		h.pipe.SetVolume(pct)
	}
}

// SetMuted mutes or unmutes playback; the recording goes on.
func (h *Hub) SetMuted(muted bool) {
	if h.pipe != nil {
		h.pipe.SetMuted(muted)
	}
}

// SetSpeakerMuted mutes or unmutes one speaker in playback; the recording goes on.
func (h *Hub) SetSpeakerMuted(id string, muted bool) {
	if h.pipe != nil {
		h.pipe.SetSpeakerMuted(id, muted)
	}
}

// SetSpeakerVolume sets one speaker's playback volume in percent, 0-150; the recording
// goes on at the speaker's own level.
func (h *Hub) SetSpeakerVolume(id string, pct int) {
	if h.pipe != nil {
		h.pipe.SetSpeakerVolume(id, pct)
	}
}

// Notice tells the user something once, through Config.Notify, or else the log.
func (h *Hub) Notice(msg string) {
	if h.cfg.Notify != nil {
		h.cfg.Notify(msg)
		return
	}
	h.log.Info(msg)
}

// dispatch runs on the reconnector's goroutine: audio goes straight to the pipeline
// (cheap, never blocks), every event to the recorder, the rest to the front end.
func (h *Hub) dispatch(ctx context.Context, cancel context.CancelFunc, ev transport.Event) {
	if st, ok := ev.(transport.State); ok && st.State == transport.StateLive && !h.joined {
		h.joined = true
		h.firstJoin(ctx, cancel)
	}
	if rec := h.rec.Load(); rec != nil {
		rec.Event(ev)
	}
	switch e := ev.(type) {
	case transport.AudioFrame:
		if h.pipe != nil {
			h.pipe.Push(e)
		}
		return
	case transport.RoomInfo:
		h.behind.Store(int64(e.BehindLive))
	case transport.Roster:
		h.speakers = h.speakers[:0]
		for _, sp := range e.Speakers {
			h.speakers = append(h.speakers, sp.ID)
		}
	case transport.Gap:
		// What was lost is lost: start every speaker's stream afresh rather than
		// conceal across the hole.
		if h.pipe != nil {
			for _, id := range h.speakers {
				h.pipe.ResetSpeaker(id)
			}
		}
	}
	select {
	case h.events <- ev:
	case <-ctx.Done():
	}
}

// firstJoin starts what counts from the first successful join: --for and the recording.
func (h *Hub) firstJoin(ctx context.Context, cancel context.CancelFunc) {
	if d := h.cfg.For; d > 0 {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			select {
			case <-ctx.Done():
			case <-h.clock.After(d):
				cancel()
			}
		}()
	}
	if h.cfg.Record == nil {
		return
	}
	opts := *h.cfg.Record
	opts.Logger, opts.Now, opts.Mixed = h.log, h.clock.Now, h.pipe != nil
	rec, err := record.Open(opts)
	if err != nil {
		h.recErr = fmt.Errorf("record: %w", err)
		cancel()
		return
	}
	if h.pipe != nil {
		if err := h.pipe.RecordMix(rec); err != nil {
			h.log.Warn("mixed recording: no encoder", "err", err)
		}
	}
	h.rec.Store(rec)
	h.log.Info("recording", "dir", rec.Dir())
}

// closeRecording finalizes the recording and says where it is.
func (h *Hub) closeRecording() error {
	rec := h.rec.Load()
	if rec == nil {
		return nil
	}
	err := rec.Close()
	st := rec.Stats()
	if err != nil {
		return fmt.Errorf("recording in %s stopped: %w", st.Dir, err)
	}
	h.Notice(fmt.Sprintf("recorded %s: %.1f s, %s, %d speakers", st.Dir, st.Seconds, record.ByteSize(st.Bytes), st.Speakers))
	return nil
}
