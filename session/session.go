// Package session is one joined room: it runs the reconnector, feeds audio frames to the
// playback pipeline and every other event to the TUI or to the headless output, and owns
// the goroutines that does. cmd/spacetui only parses flags and calls Run.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Config is what the user asked for on the command line.
type Config struct {
	URL   string
	Token string
	// Headless prints events instead of running the TUI; JSON makes stdout carry only
	// JSON lines.
	Headless bool
	JSON     bool
	// Output is the sink: "" or "default", a device name, "null" or "wav:PATH".
	Output string
	// Volume is the initial volume, 0-150 (%).
	Volume int
	// For leaves the room this long after the first successful join; 0 stays.
	For time.Duration
	// GiveUpAfter ends an outage with an error after this long; 0 never gives up.
	GiveUpAfter time.Duration
	// NoColor turns colour off in the TUI (NO_COLOR).
	NoColor bool

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
}

// Session is one run of Config against a room.
type Session struct {
	cfg    Config
	log    *slog.Logger
	pipe   *audio.Pipeline
	output string // what the status bar calls the output
	outErr string // why the requested output is not playing, if it is not

	events chan transport.Event // room events for the frontend, closed when the reconnector returns
	retry  chan struct{}

	forOnce  sync.Once
	forTimer *time.Timer
}

// Run joins the room and stays until the user leaves, --for elapses, the room ends or a
// permanent refusal; only the last returns an error. Overloads and outages never end it
// (unless GiveUpAfter).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Session{
		cfg:    cfg,
		log:    cfg.Logger,
		events: make(chan transport.Event, 256),
		retry:  make(chan struct{}, 1),
	}
	sink, err := s.openSink()
	if err != nil {
		return err
	}
	s.pipe, err = audio.NewPipeline(audio.PipelineConfig{Sink: sink, Volume: cfg.Volume, Logger: s.log})
	if err != nil {
		_ = sink.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.pipe.Start(ctx)
	defer s.pipe.Close()

	policy := transport.DefaultPolicy()
	policy.GiveUpAfter = cfg.GiveUpAfter
	rc := &transport.Reconnector{
		URL:      cfg.URL,
		Opts:     transport.DialOptions{Token: cfg.Token},
		Policy:   policy,
		Clock:    transport.SystemClock{},
		Logger:   s.log,
		RetryNow: s.retry,
	}
	rcErr := make(chan error, 1)
	go func() {
		defer close(s.events)
		rcErr <- rc.Run(ctx, func(ev transport.Event) { s.dispatch(ctx, cancel, ev) })
	}()

	var feErr error
	if cfg.Headless {
		feErr = s.runHeadless(ctx)
	} else {
		feErr = s.runTUI(ctx)
	}
	cancel()
	for range s.events { // let the reconnector finish if it is blocked on a send
	}
	err = <-rcErr
	if s.forTimer != nil {
		s.forTimer.Stop()
	}
	if err != nil {
		return err
	}
	if feErr != nil && !errors.Is(feErr, context.Canceled) {
		return feErr
	}
	return nil
}

// openSink opens the requested output. If the default device cannot be opened the
// session goes on without sound and says why; a device the user named must exist.
func (s *Session) openSink() (audio.Sink, error) {
	spec := s.cfg.Output
	sink, err := audio.OpenSink(spec)
	if err == nil {
		s.output = sink.Name()
		return sink, nil
	}
	if spec != "" && spec != "default" {
		return nil, fmt.Errorf("output %q: %w", spec, err)
	}
	s.log.Warn("no sound device, playing to nothing", "err", err)
	s.outErr = "no sound device: " + transport.Sanitize(err.Error(), 80)
	sink, err = audio.OpenSink("null")
	if err != nil {
		return nil, err
	}
	s.output = "none"
	return sink, nil
}

// dispatch runs on the reconnector's goroutine: audio goes straight to the pipeline
// (cheap, never blocks), everything else to the frontend.
func (s *Session) dispatch(ctx context.Context, cancel context.CancelFunc, ev transport.Event) {
	switch e := ev.(type) {
	case transport.AudioFrame:
		s.pipe.Push(e.Speaker, e.Seq, e.Timestamp, e.Payload)
		return
	case transport.State:
		if e.State == transport.StateLive && s.cfg.For > 0 {
			s.forOnce.Do(func() { s.forTimer = time.AfterFunc(s.cfg.For, cancel) })
		}
	}
	select {
	case s.events <- ev:
	case <-ctx.Done():
	}
}

// retryNow asks the reconnector to cut its current wait short.
func (s *Session) retryNow() {
	select {
	case s.retry <- struct{}{}:
	default:
	}
}

// stdout is where headless output goes.
func (s *Session) stdout() io.Writer {
	if s.cfg.Stdout != nil {
		return s.cfg.Stdout
	}
	return os.Stdout
}
