package audio

import (
	"context"
	"sync"
)

// LateSink is the default sound device opened in the background (OpenDefaultLate), so
// that the room is dialled while PortAudio initializes: that takes about 100 ms on
// Linux, where ALSA opens every PCM it is configured with, and would otherwise come
// before the first packet is even asked for. Write waits until the device is open. A
// device that cannot be opened leaves a null sink in its place, and Failure says why.
type LateSink struct {
	ready   chan struct{} // closed once sink, failure are set
	sink    Sink
	failure string

	closeOnce sync.Once
	closeErr  error
}

var _ Sink = (*LateSink)(nil)

// OpenDefaultLate starts opening the default sound device and returns at once. If the
// device cannot be opened, onFail (if not nil) is called with the error from the
// opening goroutine and the audio goes to nothing, paced at real time.
func OpenDefaultLate(onFail func(error)) *LateSink {
	return openLate(func() (Sink, error) { return OpenSink("default") }, onFail)
}

func openLate(open func() (Sink, error), onFail func(error)) *LateSink {
	s := &LateSink{ready: make(chan struct{})}
	go func() {
		defer close(s.ready)
		sink, err := open()
		if err == nil {
			s.sink = sink
			return
		}
		s.sink, s.failure = NewNullSink(nil), err.Error()
		if onFail != nil {
			onFail(err)
		}
	}()
	return s
}

// Write waits for the device to open, then writes to it.
func (s *LateSink) Write(ctx context.Context, pcm []int16) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.sink.Write(ctx, pcm)
}

// Close waits for the opening to finish and closes what it opened.
func (s *LateSink) Close() error {
	s.closeOnce.Do(func() {
		<-s.ready
		s.closeErr = s.sink.Close()
	})
	return s.closeErr
}

// opened reports whether the opening has finished, either way.
func (s *LateSink) opened() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// Name is the device's name once it is open, "default" while it opens, and "none" when
// it could not be opened.
func (s *LateSink) Name() string {
	if !s.opened() {
		return "default"
	}
	if s.failure != "" {
		return "none"
	}
	return s.sink.Name()
}

// Underruns counts the device's underruns (see Snapshot.Underruns): 0 until it is open,
// and for a sink that does not count them.
func (s *LateSink) Underruns() uint64 {
	if !s.opened() {
		return 0
	}
	if u, ok := s.sink.(interface{ Underruns() uint64 }); ok {
		return u.Underruns()
	}
	return 0
}

// Failure says why the device could not be opened; it is empty while it opens and
// once it is open.
func (s *LateSink) Failure() string {
	if !s.opened() {
		return ""
	}
	return s.failure
}
