// Package ws is the client side of spacetui's own room protocol (docs/protocol.md) over
// WebSocket. It registers the ws and wss URL schemes with package transport and maps the
// wire messages onto the transport room model, cleaning every event it makes with
// transport.Clean.
package ws

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// Timeouts of one attempt.
const (
	// HelloTimeout bounds the handshake: dial, join, hello.
	HelloTimeout = 10 * time.Second
	// StallTimeout is how long a connection may stay silent (no audio, no heartbeat)
	// before it is declared dead; the server sends a heartbeat every 5 s.
	StallTimeout = 15 * time.Second
)

// Close codes of the protocol beyond the standard ones.
const (
	CloseTryAgainLater  = websocket.StatusTryAgainLater  // 1013: overloaded, shedding
	CloseServiceRestart = websocket.StatusServiceRestart // 1012: restarting
)

func init() {
	transport.Register("ws", dialer{})
	transport.Register("wss", dialer{})
}

// dialer is the protocol as package transport sees it: it dials, checks that a URL
// names a room, and lists a server's rooms.
type dialer struct{}

var (
	_ transport.Configurable = dialer{}
	_ transport.Lister       = dialer{}
)

func (dialer) Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	return Dial(ctx, u, opts)
}

// Options: the protocol takes none beyond the token.
func (dialer) Options() []transport.Option { return nil }

// Check reports a URL that names a server but no room (ws://HOST:PORT, or .../rooms/):
// joining it could only be refused as "not found".
func (dialer) Check(u *url.URL, _ transport.DialOptions) error {
	if p := strings.Trim(u.Path, "/"); p == "" || p == "rooms" {
		return fmt.Errorf("%s: %w (want %s://%s/rooms/ID)", transport.RedactURL(u.String()), transport.ErrNoRoom, u.Scheme, u.Host)
	}
	return nil
}

// Rooms lists the rooms of the server u names, from its GET /rooms.
func (dialer) Rooms(ctx context.Context, u *url.URL, opts transport.DialOptions) ([]transport.RoomSummary, error) {
	ctx, cancel := context.WithTimeout(ctx, HelloTimeout)
	defer cancel()
	list := url.URL{Scheme: "http", Host: u.Host, Path: "/rooms"}
	if u.Scheme == "wss" {
		list.Scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, list.String(), nil)
	if err != nil {
		return nil, err
	}
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	client := httpClient(opts)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return nil, dialError(u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list the rooms of %s: HTTP %d", u.Host, resp.StatusCode)
	}
	var rooms []struct {
		ID        string `json:"id"`
		Title     string `json:"title"`
		Listeners int    `json:"listeners"`
		Speakers  int    `json:"speakers"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListing)).Decode(&rooms); err != nil {
		return nil, fmt.Errorf("list the rooms of %s: %w", u.Host, err)
	}
	out := make([]transport.RoomSummary, 0, min(len(rooms), transport.MaxRooms))
	for _, r := range rooms[:min(len(rooms), transport.MaxRooms)] {
		// The URL is made here, not taken from the server's "url": it must join the
		// server this listing came from, as the user reached it.
		join := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/rooms/" + r.ID}
		out = append(out, transport.RoomSummary{ID: r.ID, Title: r.Title, Listeners: r.Listeners, Speakers: r.Speakers, URL: join.String()})
	}
	return out, nil
}

// maxListing bounds the bytes of a GET /rooms answer read.
const maxListing = 1 << 20

// httpClient is the HTTP client of one attempt, or of one listing.
func httpClient(opts transport.DialOptions) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: opts.InsecureSkipVerify}, //nolint:gosec // opt-in only
		},
		CheckRedirect: checkRedirect,
	}
}

// Dial makes one attempt to join the room at u (ws:// or wss://): the WebSocket
// handshake, join and hello. Refusals come back classified: *transport.OverloadError for
// 503/429, transport.ErrNotFound for 404, transport.ErrUnauthorized for 401/403, and
// *transport.UnreachableError when no connection could be opened at all.
func Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, HelloTimeout)
	defer cancel()

	hdr := http.Header{}
	if opts.Token != "" {
		hdr.Set("Authorization", "Bearer "+opts.Token)
	}
	c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: httpClient(opts), HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return nil, refusal(resp, u)
		}
		return nil, dialError(u, err)
	}
	c.SetReadLimit(wire.MaxMessage)

	join := wire.Join{Version: wire.Version}
	if r := opts.Resume; r != nil {
		join.Session, join.Epoch, join.Last = r.Session, r.Epoch, r.Last
	}
	if err := writeControl(ctx, c, join); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("join %s: %w", u.Host, err)
	}
	hello, err := readHello(ctx, c, u.Host)
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	conn := &Conn{ws: c, host: u.Host, log: opts.Log(), tracks: map[uint16]string{}, last: map[string]uint32{}}
	started, _ := time.Parse(time.RFC3339, hello.Room.Started)
	conn.room = transport.Clean(transport.RoomInfo{
		ID: hello.Room.ID, Title: hello.Room.Title, Started: started, Listeners: max(hello.Room.Listeners, 0),
	}).(transport.RoomInfo)
	conn.pending = append(conn.pending, conn.room)
	conn.Hello = *hello
	return conn, nil
}

// MaxRedirects is how many HTTP redirects one handshake follows. The WebSocket library
// follows any number unless told otherwise, so a server redirecting to itself had a
// client loop thousands of times a second; past this many the attempt fails, and the
// reconnect policy backs off as from any failed attempt.
const MaxRedirects = 3

// checkRedirect stops a handshake after MaxRedirects redirects, naming where the last
// one pointed (redacted: a Location may carry a token too).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("stopped after %d redirects, the last to %s", MaxRedirects, transport.RedactURL(req.URL.String()))
	}
	return nil
}

// dialError words a handshake that got no answer. net/http's error quotes the request's
// URL, a ?token= and all, and the WebSocket library's wraps that text: only the cause
// under it is kept.
func dialError(u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if unreachable := transport.Unreachable(hostPort(u), err); unreachable != nil {
		return unreachable
	}
	return fmt.Errorf("dial %s: %w", u.Host, err)
}

// hostPort is the address a ws or wss URL is dialled at, the default port filled in.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// refusal maps an HTTP answer that refused the upgrade to a classified error.
func refusal(resp *http.Response, u *url.URL) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := transport.Sanitize(string(body), 120)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return &transport.OverloadError{
			RetryAfter: transport.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Reason:     fmt.Sprintf("HTTP %d", resp.StatusCode),
		}
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w", u.Path, transport.ErrNotFound)
	case http.StatusGone:
		return fmt.Errorf("%s: %w", u.Path, transport.ErrRoomEnded)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: %w", u.Host, transport.ErrUnauthorized)
	}
	return fmt.Errorf("join %s: HTTP %d %s", u.Host, resp.StatusCode, msg)
}

// readHello waits for the server's hello (docs/protocol.md, "The handshake"). Messages
// of a kind we do not know are ignored, as everywhere; a hello in a version we do not
// speak is permanent (transport.ErrProtocol); anything else in its place (a malformed
// message, a hello without a version, a known message out of order) fails this attempt
// only, as a server or a proxy broken now may be mended by the next one.
func readHello(ctx context.Context, c *websocket.Conn, host string) (*wire.Hello, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("handshake with %s: %s", host, fmt.Sprintf(format, a...))
	}
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return nil, classifyClose(err, host)
		}
		if typ == websocket.MessageBinary {
			if _, err := wire.ParseAudio(nil, b); errors.Is(err, wire.ErrUnknownKind) {
				continue
			}
			return nil, fail("audio before the hello")
		}
		v, err := wire.Unmarshal(b)
		switch {
		case errors.Is(err, wire.ErrUnknownKind):
			continue
		case err != nil:
			return nil, fail("expected a hello: %v", err)
		}
		h, ok := v.(*wire.Hello)
		switch {
		case !ok:
			var head struct{ Type string } // a type wire knows: safe to quote
			_ = json.Unmarshal(b, &head)
			return nil, fail("%q message before the hello", head.Type)
		case h.Version < 1:
			return nil, fail("hello without a version")
		case h.Version != wire.Version:
			return nil, fmt.Errorf("%w: server speaks version %d, we speak %d", transport.ErrProtocol, h.Version, wire.Version)
		}
		return h, nil
	}
}

func writeControl(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

// Conn is one joined connection. Recv must be called from one goroutine; Close may be
// called from any.
type Conn struct {
	// Hello is the server's handshake answer (session, epoch, replay window).
	Hello wire.Hello

	ws      *websocket.Conn
	host    string
	log     *slog.Logger
	room    transport.RoomInfo
	tracks  map[uint16]string // track number -> speaker id, from the roster
	last    map[string]uint32 // speaker id -> last sequence received, for resume
	pending []transport.Event
	frames  []wire.Frame
	ended   bool

	closeOnce sync.Once
}

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.Resumable = (*Conn)(nil)
)

// Recv returns the next event. A malformed message is logged and skipped, never fatal.
func (c *Conn) Recv(ctx context.Context) (transport.Event, error) {
	for len(c.pending) == 0 {
		if c.ended {
			return nil, transport.ErrRoomEnded
		}
		if err := c.readOne(ctx); err != nil {
			return nil, err
		}
	}
	ev := c.pending[0]
	c.pending[0] = nil
	c.pending = c.pending[1:]
	return ev, nil
}

func (c *Conn) readOne(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, StallTimeout)
	typ, b, err := c.ws.Read(rctx)
	stalled := rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stalled {
			return fmt.Errorf("%s: %w", c.host, transport.ErrStalled)
		}
		return classifyClose(err, c.host)
	}
	if typ == websocket.MessageBinary {
		c.onAudio(b)
		return nil
	}
	v, err := wire.Unmarshal(b)
	if err != nil {
		if !errors.Is(err, wire.ErrUnknownKind) {
			c.log.Warn("ignoring malformed control message", "host", c.host, "err", err)
		}
		return nil
	}
	switch m := v.(type) {
	case *wire.Roster:
		c.onRoster(m)
	case *wire.Transcript:
		c.push(transport.TranscriptSegment{
			ID:      m.ID,
			Speaker: m.Speaker,
			Start:   time.Duration(m.StartMs) * time.Millisecond,
			End:     time.Duration(m.EndMs) * time.Millisecond,
			Text:    m.Text,
			Final:   m.Final,
		})
	case *wire.Listeners:
		c.room.Listeners = max(m.Count, 0)
		c.pending = append(c.pending, c.room) // cleaned in Dial; a count has no text
	case *wire.Ping:
		if err := writeControl(ctx, c.ws, wire.Pong(*m)); err != nil {
			return classifyClose(err, c.host)
		}
	case *wire.Gap:
		c.push(transport.Gap{
			From: c.room.Started.Add(time.Duration(m.FromMs) * time.Millisecond),
			To:   c.room.Started.Add(time.Duration(m.ToMs) * time.Millisecond),
			Why:  m.Why,
		})
	case *wire.Ended:
		c.ended = true
		c.push(transport.Ended{Reason: m.Reason})
	default:
		// hello again, join, pong: not meaningful to a client mid-session.
	}
	return nil
}

// push queues an event made from a message, cleaned. Rosters and audio frames are
// queued as they are: onRoster cleans the roster, and the frames carry its IDs.
func (c *Conn) push(ev transport.Event) {
	c.pending = append(c.pending, transport.Clean(ev))
}

func (c *Conn) onAudio(b []byte) {
	frames, err := wire.ParseAudio(c.frames[:0], b)
	c.frames = frames[:0]
	if err != nil {
		c.log.Warn("ignoring malformed audio message", "host", c.host, "err", err)
		return
	}
	for _, f := range frames {
		speaker, ok := c.tracks[f.Track]
		if !ok {
			continue // a track the roster has not named (yet): nothing to attribute it to
		}
		c.last[speaker] = f.Seq
		c.pending = append(c.pending, transport.AudioFrame{
			Speaker: speaker, Codec: transport.CodecOpus, Seq: f.Seq, Timestamp: f.Timestamp,
			Duration: wire.FrameSamples * time.Second / wire.SampleRate, Payload: f.Payload,
		})
	}
}

func (c *Conn) onRoster(m *wire.Roster) {
	clear(c.tracks)
	r := transport.Roster{Speakers: make([]transport.Speaker, len(m.Speakers))}
	for i, s := range m.Speakers {
		r.Speakers[i] = transport.Speaker{ID: s.ID, Name: s.Name, Role: s.Role, Muted: s.Muted}
	}
	r = transport.Clean(r).(transport.Roster)
	kept := r.Speakers[:0]
	taken := make(map[string]bool, len(r.Speakers))
	for i, sp := range r.Speakers {
		if sp.ID == "" {
			continue // nothing could name its audio
		}
		if taken[sp.ID] {
			// Two tracks whose ids are equal, or equal once cleaned, would merge into one
			// stream (and one recorded file): the later one is told apart by its track
			// number, which stays the same from roster to roster.
			sp.ID = uniqueID(sp.ID, m.Speakers[i].Track, taken)
		}
		taken[sp.ID] = true
		c.tracks[m.Speakers[i].Track] = sp.ID
		kept = append(kept, sp)
	}
	r.Speakers = kept
	c.pending = append(c.pending, r)
}

// uniqueID is id made distinct from the ids taken by its track number, within the
// table's limit on ids.
func uniqueID(id string, track uint16, taken map[string]bool) string {
	suffix := fmt.Sprintf("#%d", track)
	for n := 0; ; n++ {
		if n > 0 {
			suffix = fmt.Sprintf("#%d-%d", track, n)
		}
		r := []rune(id)
		if keep := transport.MaxNameRunes - utf8.RuneCountInString(suffix); len(r) > keep {
			r = r[:keep]
		}
		if u := string(r) + suffix; !taken[u] {
			return u
		}
	}
}

// Resume returns what the next attempt sends to continue this session.
func (c *Conn) Resume() *transport.Resume {
	return &transport.Resume{Session: c.Hello.Session, Epoch: c.Hello.Epoch, Last: maps.Clone(c.last)}
}

// Resumed reports whether the server continued the session this connection asked to
// resume.
func (c *Conn) Resumed() bool { return c.Hello.Resumed }

// Close leaves the room with a normal closure so the server frees the place at once.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		// Close waits for the peer's close frame; bound it so leaving is never slow.
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = c.ws.Close(websocket.StatusNormalClosure, "leaving")
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = c.ws.CloseNow()
			<-done
		}
	})
	return nil
}

// classifyClose maps a WebSocket read or write error to the transport's classification.
func classifyClose(err error, host string) error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		if errors.Is(err, transport.ErrProtocol) {
			return err
		}
		return fmt.Errorf("connection to %s dropped: %w", host, err)
	}
	reason := transport.Sanitize(ce.Reason, 120)
	switch ce.Code {
	case CloseTryAgainLater:
		return &transport.OverloadError{RetryAfter: retryHint(reason), Reason: "shedding load"}
	case CloseServiceRestart:
		return &transport.RestartError{Reason: reason}
	case websocket.StatusProtocolError:
		return fmt.Errorf("%w: %s", transport.ErrProtocol, reason)
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return fmt.Errorf("server %s closed the connection (%s)", host, reason)
	}
	return fmt.Errorf("connection to %s closed: %d %s", host, ce.Code, reason)
}

// retryHint reads "retry-after=SECONDS" from a 1013 close reason.
func retryHint(reason string) time.Duration {
	for _, field := range strings.FieldsFunc(reason, func(r rune) bool { return r == ';' || r == ' ' || r == ',' }) {
		if v, ok := strings.CutPrefix(field, "retry-after="); ok {
			return transport.ParseRetryAfter(v, time.Time{})
		}
	}
	return 0
}
