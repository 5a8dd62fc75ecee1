package mumbletest

import (
	"context"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
	"github.com/spacetui/spacetui/server"
)

// NeedBinary returns murmurd, or skips the test without one; under
// SPACETUI_E2E=require (CI) a missing server fails the test instead.
func NeedBinary(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	realserver.Need(t, err)
	return bin
}

// StartT starts a Mumble server for the test and stops it at the test's end; the
// server's log is quoted if the test fails.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Binary = NeedBinary(t)
	opts.Dir = t.TempDir()
	opts.Log = realserver.LogFile(t, opts.Dir, "murmur.log", "murmurd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Stop()
	})
	return s
}

// PublishT makes channel on s and publishes the demo room's speakers into it until the
// test ends, returning once every speaker is in the channel.
func PublishT(t testing.TB, s *Server, channel string, opts PublishOptions) *Publisher {
	t.Helper()
	if err := s.MakeChannel(channel, opts.Description); err != nil {
		t.Fatal(err)
	}
	if opts.Speakers == nil {
		tracks, err := server.DemoSpeakerTracks()
		if err != nil {
			t.Fatal(err)
		}
		opts.Speakers = tracks
	}
	opts.Addr, opts.Channel, opts.Password = s.Addr, channel, s.opts.Password
	p, err := StartPublisher(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitJoined(ctx); err != nil {
		t.Fatalf("the publisher did not join: %v", err)
	}
	return p
}
