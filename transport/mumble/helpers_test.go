package mumble_test

import (
	"context"
	"testing"
	"time"

	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/mumble"
)

// trustFirst joins url once, so that its certificate is remembered, and leaves.
func trustFirst(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		t.Fatalf("first join: %v", err)
	}
	c.Close()
}

func insecure() transport.DialOptions {
	return transport.DialOptions{Params: map[string]string{mumble.OptInsecure: "true"}}
}

func demoTracks(t *testing.T) []server.SpeakerTrack {
	t.Helper()
	tracks, err := server.DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	return tracks
}

func dial(t *testing.T, url string, opts transport.DialOptions) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// firstEvent is the next event of c.
func firstEvent(t *testing.T, c transport.Conn) transport.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := c.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// runUntilEnd joins url through a Reconnector and returns how it ended.
func runUntilEnd(t *testing.T, url string, opts transport.DialOptions) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc := &transport.Reconnector{URL: url, Opts: opts, Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}}
	err := rc.Run(ctx, func(transport.Event) {})
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after 30 s", url)
	}
	return err
}
