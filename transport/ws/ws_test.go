package ws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRoom serves one scripted session: it reads join, sends hello, then runs script.
func fakeRoom(t *testing.T, script func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	return rawRoom(t, func(ctx context.Context, c *websocket.Conn) {
		send(ctx, c, wire.Hello{Version: 1, Session: "s1", Epoch: "e1", HeartbeatMs: 5000,
			Room: wire.Room{ID: "demo", Title: "Demo \x1b[31mroom", Started: "2026-11-27T10:00:00Z", Listeners: 2}})
		script(ctx, c)
	})
}

// rawRoom serves one scripted session from the join on: the script sends the hello, or
// not.
func rawRoom(t *testing.T, script func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, b, err := c.Read(ctx); err != nil || !strings.Contains(string(b), `"join"`) {
			return
		}
		script(ctx, c)
		_, _, _ = c.Read(ctx) // until the client leaves
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/demo"
}

func send(ctx context.Context, c *websocket.Conn, v any) {
	b, err := wire.Marshal(v)
	if err != nil {
		panic(err)
	}
	_ = c.Write(ctx, websocket.MessageText, b)
}

func TestSession(t *testing.T) {
	url := fakeRoom(t, func(ctx context.Context, c *websocket.Conn) {
		send(ctx, c, wire.Roster{Speakers: []wire.Speaker{{ID: "ada", Name: "Ada\u202e", Role: "host", Track: 1}}})
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"roster","speakers":"not a list"}`)) // malformed: skipped
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"future-thing"}`))                   // unknown: skipped
		_ = c.Write(ctx, websocket.MessageBinary, []byte{0xA1, 9, 9})                                // malformed audio: skipped
		audio, _ := wire.AppendAudio(nil, []wire.Frame{
			{Track: 1, Seq: 7, Timestamp: 960, Payload: []byte{0xF8, 0xFF, 0xFE}},
			{Track: 9, Seq: 1, Payload: []byte{1}}, // unknown track: dropped
		})
		_ = c.Write(ctx, websocket.MessageBinary, audio)
		send(ctx, c, wire.Ping{T: 42})
		if _, b, err := c.Read(ctx); err != nil || string(b) != `{"type":"pong","t":42}` {
			t.Errorf("pong: %s %v", b, err)
		}
		send(ctx, c, wire.Transcript{ID: "c1", Speaker: "ada", StartMs: 100, EndMs: 900, Text: "hi\x07 there", Final: true})
		send(ctx, c, wire.Listeners{Count: 5})
		send(ctx, c, wire.Gap{FromMs: 1000, ToMs: 3500, Why: "expired\x1b[0m"})
		send(ctx, c, wire.Ended{Reason: "host ended the room"})
		_, _, _ = c.Read(ctx) // wait for the client's close
	})
	ctx := context.Background()
	conn, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := []transport.Event{
		transport.RoomInfo{ID: "demo", Title: "Demo room", Started: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Listeners: 2},
		transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada", Role: "host"}}},
		transport.AudioFrame{Speaker: "ada", Codec: transport.CodecOpus, Seq: 7, Timestamp: 960, Duration: 20 * time.Millisecond, Payload: []byte{0xF8, 0xFF, 0xFE}},
		transport.TranscriptSegment{ID: "c1", Speaker: "ada", Start: 100 * time.Millisecond, End: 900 * time.Millisecond, Text: "hi there", Final: true},
		transport.RoomInfo{ID: "demo", Title: "Demo room", Started: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Listeners: 5},
		transport.Gap{From: time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC), To: time.Date(2026, 11, 27, 10, 0, 3, 5e8, time.UTC), Why: "expired"},
		transport.Ended{Reason: "host ended the room"},
	}
	for i, w := range want {
		ev, err := conn.Recv(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got, want := strings.TrimSpace(fmtEvent(ev)), strings.TrimSpace(fmtEvent(w)); got != want {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if _, err := conn.Recv(ctx); !errors.Is(err, transport.ErrRoomEnded) {
		t.Fatalf("after ended: %v", err)
	}
}

func fmtEvent(e transport.Event) string { return fmt.Sprintf("%T%+v", e, e) }

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		check  func(error) bool
	}{
		{"503 retry-after", 503, "7", func(err error) bool {
			var oe *transport.OverloadError
			return errors.As(err, &oe) && oe.RetryAfter == 7*time.Second
		}},
		{"429 garbage retry-after", 429, "soon", func(err error) bool {
			var oe *transport.OverloadError
			return errors.As(err, &oe) && oe.RetryAfter == 0
		}},
		{"404", 404, "", func(err error) bool { return errors.Is(err, transport.ErrNotFound) }},
		{"401", 401, "", func(err error) bool { return errors.Is(err, transport.ErrUnauthorized) }},
		{"410", 410, "", func(err error) bool { return errors.Is(err, transport.ErrRoomEnded) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				http.Error(w, "no", tt.status)
			}))
			defer srv.Close()
			_, err := transport.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/rooms/x", transport.DialOptions{})
			if !tt.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestCloseCodes(t *testing.T) {
	tests := []struct {
		name  string
		code  websocket.StatusCode
		text  string
		check func(error) bool
	}{
		{"1013 with hint", CloseTryAgainLater, "overloaded; retry-after=12", func(err error) bool {
			var oe *transport.OverloadError
			return errors.As(err, &oe) && oe.RetryAfter == 12*time.Second
		}},
		{"1012 restart", CloseServiceRestart, "restart", func(err error) bool {
			var re *transport.RestartError
			return errors.As(err, &re)
		}},
		{"1011 internal", websocket.StatusInternalError, "boom", func(err error) bool {
			return err != nil && !errors.Is(err, transport.ErrProtocol)
		}},
		{"1008 policy (no heartbeat answer) is retried", websocket.StatusPolicyViolation, "silent", func(err error) bool {
			return err != nil && !errors.Is(err, transport.ErrProtocol)
		}},
		{"1002 protocol version is permanent", websocket.StatusProtocolError, "version 2 only", func(err error) bool {
			return errors.Is(err, transport.ErrProtocol)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fakeRoom(t, func(ctx context.Context, c *websocket.Conn) { _ = c.Close(tt.code, tt.text) })
			conn, err := transport.Dial(context.Background(), url, transport.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for {
				if _, err = conn.Recv(context.Background()); err != nil {
					break
				}
			}
			if !tt.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestUnknownScheme(t *testing.T) {
	_, err := transport.Dial(context.Background(), "gopher://x/rooms/a", transport.DialOptions{})
	if err == nil || !strings.Contains(err.Error(), `unsupported URL scheme: "gopher"`) {
		t.Fatalf("err = %v", err)
	}
}

// net/http quotes the request's URL in its errors; what reaches the user and the log
// must not hold the room URL's credentials.
func TestDialErrorRedactsURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	plain := httptest.NewServer(http.NotFoundHandler()) // wss:// to it fails in TLS
	defer plain.Close()
	for _, host := range []string{"ws://" + closed, "wss://" + strings.TrimPrefix(plain.URL, "http://")} {
		_, err := transport.Dial(context.Background(), host+"/rooms/x?token=s3cr3t", transport.DialOptions{})
		if err == nil {
			t.Fatalf("%s: no error", host)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the token: %v", host, err)
		}
	}
}

// A server that redirects to itself gets MaxRedirects+1 requests per attempt, and the
// attempts are spaced by the backoff: the reconnector sees an ordinary failed attempt
// whose detail names the redirect.
func TestRedirectLoop(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	defer srv.Close()
	const attempts = 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dialed := 0
	clock := fakeclock.New(time.Now())
	rc := &transport.Reconnector{
		URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/x", Policy: transport.DefaultPolicy(), Clock: clock,
		Dialer: transport.DialerFunc(func(ctx context.Context, u *url.URL, o transport.DialOptions) (transport.Conn, error) {
			if dialed++; dialed > attempts {
				cancel()
				return nil, ctx.Err()
			}
			return Dial(ctx, u, o)
		}),
	}
	var retries []transport.State
	err := rc.Run(ctx, func(e transport.Event) {
		if s, ok := e.(transport.State); ok && s.State == transport.StateReconnecting {
			retries = append(retries, s)
		}
	})
	if err != nil {
		t.Fatalf("Run: %v (a redirect loop is not permanent)", err)
	}
	if n := requests.Load(); n != attempts*(MaxRedirects+1) {
		t.Errorf("%d requests for %d attempts, want %d", n, attempts, attempts*(MaxRedirects+1))
	}
	if len(retries) != attempts || len(clock.Waits()) != attempts {
		t.Fatalf("%d retries and waits %v for %d attempts", len(retries), clock.Waits(), attempts)
	}
	for _, s := range retries {
		if s.Reason != transport.ReasonDropped || !strings.Contains(s.Detail, "stopped after 3 redirects, the last to http://") {
			t.Errorf("retry %+v: want a failed attempt that names the redirect", s)
		}
	}
}

// What comes in place of the hello: only a version we do not speak is permanent; a
// malformed or misplaced message fails the attempt, to be retried under the backoff;
// a message of a kind we do not know is ignored, as everywhere.
func TestHandshake(t *testing.T) {
	type step = func(ctx context.Context, c *websocket.Conn)
	text := func(s string) step {
		return func(ctx context.Context, c *websocket.Conn) { _ = c.Write(ctx, websocket.MessageText, []byte(s)) }
	}
	binary := func(b ...byte) step {
		return func(ctx context.Context, c *websocket.Conn) { _ = c.Write(ctx, websocket.MessageBinary, b) }
	}
	hello := text(`{"type":"hello","version":1,"session":"s","epoch":"e","room":{"id":"demo"}}`)
	audio, _ := wire.AppendAudio(nil, []wire.Frame{{Track: 1, Seq: 1, Payload: []byte{1}}})
	const (
		joined    = "joined"
		retried   = "a failed attempt"
		permanent = "permanent"
	)
	tests := []struct {
		name   string
		script []step
		want   string
		detail string
	}{
		{"hello", nil, joined, ""},
		{"unknown type first", []step{text(`{"type":"future-thing"}`)}, joined, ""},
		{"unknown binary kind first", []step{binary(0xB7, 1)}, joined, ""},
		{"version 2", []step{text(`{"type":"hello","version":2}`)}, permanent, "version 2"},
		{"hello without version", []step{text(`{"type":"hello","session":"s"}`)}, retried, "hello without a version"},
		{"malformed hello", []step{text(`{"type":"hello","version":1,"room":{"listeners":"many"}}`)}, retried, "expected a hello"},
		{"not json", []step{text(`{"type":`)}, retried, "expected a hello"},
		{"roster first", []step{text(`{"type":"roster","speakers":[]}`)}, retried, `"roster" message before the hello`},
		{"audio first", []step{binary(audio...)}, retried, "audio before the hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := rawRoom(t, func(ctx context.Context, c *websocket.Conn) {
				for _, m := range tt.script {
					m(ctx, c)
				}
				hello(ctx, c)
			})
			conn, err := transport.Dial(context.Background(), url, transport.DialOptions{})
			got := joined
			switch {
			case errors.Is(err, transport.ErrProtocol):
				got = permanent
			case err != nil:
				got = retried
			default:
				conn.Close()
			}
			if got != tt.want || err != nil && !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("%s (%v), want %s naming %q", got, err, tt.want, tt.detail)
			}
		})
	}
}

// A port nobody listens on, or a name that does not resolve: the error says the server
// could not be reached, and where, rather than that a connection was lost.
func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for url, want := range map[string]string{
		"ws://" + closed + "/rooms/x":       "cannot reach " + closed + " (connection refused)",
		"ws://nonexistent.invalid/rooms/x":  "cannot reach nonexistent.invalid:80 (",
		"wss://nonexistent.invalid/rooms/x": "cannot reach nonexistent.invalid:443 (",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := transport.Dial(ctx, url, transport.DialOptions{})
		cancel()
		var ue *transport.UnreachableError
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want an UnreachableError %q...", url, err, want)
		}
	}
}
