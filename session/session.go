// Package session is one joined room: it runs the reconnector, feeds audio frames to the
// playback pipeline, every event to the recorder, and the rest to the TUI or to the
// headless output, and it owns the goroutines that do so. cmd/spacetui only parses flags
// and calls Run.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/transport"
)

// mixBitrate is the Opus bit rate of the mixed recording (speech, mono).
const mixBitrate = 32000

// Config is what the user asked for on the command line.
type Config struct {
	URL string
	// Dial is what every connection attempt is given: the credential and the
	// protocol's own options.
	Dial transport.DialOptions
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
	// RecordDir, when set, records the room there (see package record); Force writes
	// into an existing non-empty directory.
	RecordDir string
	Force     bool
	// Capture is the `record` command: no playback at all (a null sink, and none at all
	// without the full build), progress lines on stderr.
	Capture bool
	// Version is the client version written into recordings.
	Version string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
	// LogToFile says Logger writes to a file, not to Stderr: notices then go to both.
	LogToFile bool
}

// Session is one run of Config against a room.
type Session struct {
	cfg    Config
	log    *slog.Logger
	pipe   *audio.Pipeline // nil when capturing without the full build
	output string          // what the status bar calls the output
	outErr string          // why the requested output is not playing, if it is not

	events chan transport.Event // room events for the frontend, closed when the reconnector returns
	retry  chan struct{}

	rec      atomic.Pointer[record.Recorder] // set at the first join: time 0 of the recording
	recErr   error                           // why the recorder could not open
	mixer    *audio.Encoder                  // encodes the mix for audio.ogg; playout goroutine only
	speakers []string                        // ids of the current roster; the reconnector's goroutine only
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
	if err := s.openPipeline(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.pipe != nil {
		s.pipe.Start(ctx)
	}

	policy := transport.DefaultPolicy()
	policy.GiveUpAfter = cfg.GiveUpAfter
	rc := &transport.Reconnector{
		URL:      cfg.URL,
		Opts:     cfg.Dial,
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
	if cfg.Headless || cfg.Capture {
		feErr = s.runHeadless(ctx)
	} else {
		feErr = s.runTUI(ctx)
	}
	cancel()
	for range s.events { // let the reconnector finish if it is blocked on a send
	}
	err := <-rcErr
	if s.forTimer != nil {
		s.forTimer.Stop()
	}
	if s.pipe != nil {
		_ = s.pipe.Close() // no more OnMixed calls after this
	}
	recErr := s.closeRecording()
	switch {
	case err != nil:
		return err
	case s.recErr != nil:
		return s.recErr
	case feErr != nil && !errors.Is(feErr, context.Canceled):
		return feErr
	}
	return recErr
}

// openPipeline opens the output and the playback pipeline. If the default device cannot
// be opened the session goes on without sound and says why; a device the user named
// must exist. A capture without the full build runs with no pipeline at all.
func (s *Session) openPipeline() error {
	sink, err := s.openSink()
	if err != nil {
		return err
	}
	cfg := audio.PipelineConfig{Sink: sink, Volume: s.cfg.Volume, Logger: s.log}
	if s.cfg.RecordDir != "" {
		if s.mixer, err = audio.NewEncoder(mixBitrate); err == nil {
			cfg.OnMixed = s.onMixed
		}
	}
	s.pipe, err = audio.NewPipeline(cfg)
	if err == nil {
		return nil
	}
	_ = sink.Close()
	if s.cfg.Capture && errors.Is(err, audio.ErrNeedsFullBuild) {
		s.pipe, s.mixer = nil, nil
		s.notice("this build has no Opus codec (cgo): recording tracks and transcripts only; the mixed audio.ogg and speaking indicators from the audio need the full build")
		return nil
	}
	return err
}

func (s *Session) openSink() (audio.Sink, error) {
	spec := s.cfg.Output
	if s.cfg.Capture {
		spec = "null"
	}
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
// (cheap, never blocks), every event to the recorder, the rest to the frontend.
func (s *Session) dispatch(ctx context.Context, cancel context.CancelFunc, ev transport.Event) {
	if st, ok := ev.(transport.State); ok && st.State == transport.StateLive {
		s.forOnce.Do(func() { s.firstJoin(cancel) })
	}
	if rec := s.rec.Load(); rec != nil {
		rec.Event(ev)
	}
	switch e := ev.(type) {
	case transport.AudioFrame:
		if s.pipe != nil {
			s.pipe.Push(e.Speaker, e.Seq, e.Timestamp, e.Payload)
		}
		return
	case transport.Roster:
		s.speakers = s.speakers[:0]
		for _, sp := range e.Speakers {
			s.speakers = append(s.speakers, sp.ID)
		}
	case transport.Gap:
		// What was lost is lost: start every speaker's stream afresh rather than
		// conceal across the hole.
		if s.pipe != nil {
			for _, id := range s.speakers {
				s.pipe.ResetSpeaker(id)
			}
		}
	}
	select {
	case s.events <- ev:
	case <-ctx.Done():
	}
}

// firstJoin starts what counts from the first successful join: --for and the recording.
func (s *Session) firstJoin(cancel context.CancelFunc) {
	if s.cfg.For > 0 {
		s.forTimer = time.AfterFunc(s.cfg.For, cancel)
	}
	if s.cfg.RecordDir == "" {
		return
	}
	rec, err := record.Open(record.Options{
		Dir: s.cfg.RecordDir, Force: s.cfg.Force,
		RoomURL: s.cfg.URL, ClientVersion: s.cfg.Version,
		Logger: s.log, Mixed: s.mixer != nil,
	})
	if err != nil {
		s.recErr = fmt.Errorf("record: %w", err)
		cancel()
		return
	}
	s.rec.Store(rec)
	s.log.Info("recording", "dir", rec.Dir())
}

// onMixed encodes the room's mix for audio.ogg; it runs on the playout goroutine.
func (s *Session) onMixed(pcm []int16) {
	rec := s.rec.Load()
	if rec == nil {
		return
	}
	pkt, err := s.mixer.Encode(pcm)
	if err != nil {
		s.log.Warn("mixed recording: encode", "err", err)
		return
	}
	rec.WriteMixed(pkt)
}

// closeRecording finalizes the recording and says where it is.
func (s *Session) closeRecording() error {
	rec := s.rec.Load()
	if rec == nil {
		return nil
	}
	err := rec.Close()
	st := rec.Stats()
	if err != nil {
		return fmt.Errorf("recording in %s stopped: %w", st.Dir, err)
	}
	s.notice(fmt.Sprintf("recorded %s: %.1f s, %s, %d speakers", st.Dir, st.Seconds, byteSize(st.Bytes), st.Speakers))
	return nil
}

// notice tells the user something once: on stderr, never on a JSON stdout or the TUI
// (after the TUI has exited, stderr is the terminal again).
func (s *Session) notice(msg string) {
	if s.cfg.LogToFile || s.cfg.Stderr == nil {
		s.log.Info(msg)
	}
	if s.cfg.Stderr != nil {
		fmt.Fprintln(s.cfg.Stderr, "spacetui:", msg)
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

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
