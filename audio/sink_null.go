package audio

import (
	"context"
	"sync/atomic"
)

// nullSink plays to nothing at real time: headless capture, or no sound card.
type nullSink struct {
	pace   pacer
	closed atomic.Bool
}

var _ Sink = (*nullSink)(nil)

// NewNullSink returns a sink that discards audio, paced by clock (nil means the real
// clock) at 20 ms per frame like a sound card.
func NewNullSink(clock Clock) Sink {
	return &nullSink{pace: pacer{clock: orSystem(clock)}}
}

func (s *nullSink) Write(ctx context.Context, pcm []int16) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.pace.wait(ctx, len(pcm))
}

func (s *nullSink) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *nullSink) Name() string { return "null" }
