package lktest

import (
	"context"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
	"github.com/spacetui/spacetui/server"
)

// NeedBinary returns the LiveKit server binary, or skips the test without one; under
// SPACETUI_E2E=require (CI) a missing server fails the test instead.
func NeedBinary(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	realserver.Need(t, err)
	return bin
}

// StartT starts a LiveKit server for the test and stops it at the test's end; the
// server's log is quoted if the test fails.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Binary = NeedBinary(t)
	opts.Dir = t.TempDir()
	opts.Log = realserver.LogFile(t, opts.Dir, "livekit.log", "livekit server")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// PublishT publishes the demo room's speakers into room on s until the test ends, and
// returns once every speaker has joined. The
// Publisher logs to the test log but leaves the SDK's process-wide logger alone, so a
// client under test in the same process keeps its own.
func PublishT(t testing.TB, s *Server, room string) *Publisher {
	t.Helper()
	tracks, err := server.DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartPublisher(context.Background(), PublishOptions{
		URL: s.URL, APIKey: s.APIKey, APISecret: s.APISecret, Room: room, Speakers: tracks,
	})
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

// WaitFor polls cond every 100 ms until it holds (true) or d has passed (false).
func WaitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
