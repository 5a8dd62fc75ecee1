package ui

import (
	"context"
	"io"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
)

// scriptConn plays a fixed list of events, then waits for the end.
type scriptConn struct{ events []transport.Event }

func (c *scriptConn) Recv(ctx context.Context) (transport.Event, error) {
	if len(c.events) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ev := c.events[0]
	c.events = c.events[1:]
	return ev, nil
}

func (c *scriptConn) Close() error { return nil }

// runFrontend runs the TUI on a hub whose one connection plays evs; it returns the
// notices the hub was given.
func runFrontend(t *testing.T, evs ...transport.Event) []string {
	t.Helper()
	var (
		mu      sync.Mutex
		notices []string
	)
	dial := transport.DialerFunc(func(context.Context, *url.URL, transport.DialOptions) (transport.Conn, error) {
		return &scriptConn{events: slices.Clone(evs)}, nil
	})
	hub, err := session.New(session.Config{
		URL: "test://room", Dialer: dial, Sink: audio.NewNullSink(nil), DecodeOptional: true,
		Notify: func(msg string) { mu.Lock(); notices = append(notices, msg); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	in, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hub.Run(ctx, Frontend{Stdin: in, Stdout: io.Discard}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the TUI did not end with the room")
	}
	mu.Lock()
	defer mu.Unlock()
	return notices
}

// TestRoomEndSaysWhy: when the server ends the room the TUI leaves the alternate screen
// and says why on stderr (through hub.Notice), as the headless lines do.
func TestRoomEndSaysWhy(t *testing.T) {
	notices := runFrontend(t,
		transport.RoomInfo{ID: "demo", Title: "Demo"},
		transport.Ended{Reason: "thanks for listening"},
	)
	if !slices.Contains(notices, "the room has ended: thanks for listening") {
		t.Errorf("notices %q do not say why the room ended", notices)
	}
}

func TestFarewell(t *testing.T) {
	f := newFixture(t, true)
	if got := f.m.Farewell(); got != "" {
		t.Errorf("a live room says farewell %q", got)
	}
	f.send(transport.State{State: transport.StateEnded, Reason: transport.ReasonNotFound, Detail: "404"})
	if got := f.m.Farewell(); got != "" {
		t.Errorf("a refusal (cmd reports it) says %q", got)
	}
	f = newFixture(t, true)
	f.send(transport.Ended{})
	if got := f.m.Farewell(); got != "the room has ended" {
		t.Errorf("an end without a reason says %q", got)
	}
}
