package audio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingSink is a device that counts what it was given, its underruns and its closes.
type countingSink struct {
	writes, closes int
	underruns      uint64
}

func (s *countingSink) Write(context.Context, []int16) error { s.writes++; return nil }
func (s *countingSink) Close() error                         { s.closes++; return nil }
func (s *countingSink) Name() string                         { return "card" }
func (s *countingSink) Underruns() uint64                    { return s.underruns }

// TestLateSinkWaitsForTheDevice: until the device is open the sink says so and holds
// writes back (a write can still be cancelled); then everything goes to the device.
func TestLateSinkWaitsForTheDevice(t *testing.T) {
	release := make(chan struct{})
	dev := &countingSink{underruns: 3}
	s := openLate(func() (Sink, error) { <-release; return dev, nil }, func(err error) { t.Errorf("onFail: %v", err) })

	if got := s.Name(); got != "default" {
		t.Errorf("Name while opening = %q, want default", got)
	}
	if s.Underruns() != 0 || s.Failure() != "" {
		t.Errorf("while opening: underruns %d, failure %q", s.Underruns(), s.Failure())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Write(ctx, make([]int16, FrameSamples)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write before the device opened = %v, want it to wait until cancelled", err)
	}

	wrote := make(chan error)
	go func() { wrote <- s.Write(context.Background(), make([]int16, FrameSamples)) }()
	select {
	case err := <-wrote:
		t.Fatalf("Write returned %v before the device opened", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if dev.writes != 1 || s.Name() != "card" || s.Underruns() != 3 || s.Failure() != "" {
		t.Errorf("once open: %d writes, name %q, underruns %d, failure %q; want 1, card, 3, none",
			dev.writes, s.Name(), s.Underruns(), s.Failure())
	}
	_ = s.Close()
	_ = s.Close()
	if dev.closes != 1 {
		t.Errorf("device closed %d times, want once", dev.closes)
	}
}

// TestLateSinkFallsBackToNothing: a device that cannot be opened is reported once, and
// the room plays on to nothing at real time.
func TestLateSinkFallsBackToNothing(t *testing.T) {
	var failed []error
	s := openLate(func() (Sink, error) { return nil, errors.New("no ALSA card") }, func(err error) { failed = append(failed, err) })
	start := time.Now()
	for range 3 {
		if err := s.Write(context.Background(), make([]int16, FrameSamples)); err != nil {
			t.Fatal(err)
		}
	}
	if len(failed) != 1 || s.Failure() != "no ALSA card" || s.Name() != "none" {
		t.Errorf("failures %v, Failure %q, Name %q; want one, the error, none", failed, s.Failure(), s.Name())
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Errorf("3 frames written in %v: not paced like a sound card", el)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
