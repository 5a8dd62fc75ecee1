package session

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)

// fakeConn replays events, then either ends (the room is over) or holds the connection
// open until the attempt is cancelled.
type fakeConn struct {
	events []transport.Event
	hold   bool
	closed chan struct{}
	once   sync.Once
}

func (c *fakeConn) Recv(ctx context.Context) (transport.Event, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	if !c.hold {
		return transport.Ended{Reason: "bye"}, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, errors.New("closed")
	}
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// fakeDialer answers attempt n (from 0) with attempts[n]: an error, or a connection
// with those events. It notes when each attempt was made on the clock.
type fakeDialer struct {
	clock    transport.Clock
	attempts []func() (*fakeConn, error)

	mu    sync.Mutex
	times []time.Time
}

func (d *fakeDialer) Dial(_ context.Context, _ *url.URL, _ transport.DialOptions) (transport.Conn, error) {
	d.mu.Lock()
	n := len(d.times)
	d.times = append(d.times, d.clock.Now())
	d.mu.Unlock()
	if n >= len(d.attempts) {
		n = len(d.attempts) - 1
	}
	c, err := d.attempts[n]()
	if err != nil {
		return nil, err
	}
	c.closed = make(chan struct{})
	return c, nil
}

func (d *fakeDialer) dialTimes() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.times)
}

func live(events ...transport.Event) func() (*fakeConn, error) {
	return func() (*fakeConn, error) { return &fakeConn{events: events}, nil }
}

func held(events ...transport.Event) func() (*fakeConn, error) {
	return func() (*fakeConn, error) { return &fakeConn{events: events, hold: true}, nil }
}

func refused(err error) func() (*fakeConn, error) {
	return func() (*fakeConn, error) { return nil, err }
}

// fakeSink takes playout at no pace of its own (the pipeline's clock does not matter
// here) and notes whether it was closed.
type fakeSink struct {
	mu     sync.Mutex
	closed bool
}

func (s *fakeSink) Write(ctx context.Context, _ []int16) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(audio.FrameDuration):
		return nil
	}
}

func (s *fakeSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *fakeSink) Name() string { return "fake" }

func (s *fakeSink) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// collector is a front end that keeps every event and the snapshot it saw when the
// room's first speaker frame must have reached the pipeline (at the first transcript).
type collector struct {
	events []transport.Event
	snap   Snapshot
}

func (c *collector) Run(ctx context.Context, h *Hub) error {
	for {
		select {
		case ev, ok := <-h.Events():
			if !ok {
				return nil
			}
			c.events = append(c.events, ev)
			if _, ok := ev.(transport.TranscriptSegment); ok {
				c.snap = h.Snapshot()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *collector) states() []string {
	var out []string
	for _, ev := range c.events {
		if s, ok := ev.(transport.State); ok {
			out = append(out, string(s.State)+"/"+s.Reason)
		}
	}
	return out
}

func newHub(t *testing.T, d *fakeDialer, clock *fakeclock.Clock, cfg Config) (*Hub, *fakeSink) {
	t.Helper()
	sink := &fakeSink{}
	cfg.URL = "fake://room"
	cfg.Dialer = d
	cfg.Clock = clock
	cfg.Sink = sink
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, sink
}

// silence is one valid Opus frame.
var silence = audio.SilencePacket()

// Every event reaches the front end except audio, which goes to the pipeline instead;
// the room's end closes the stream and ends the session without an error. The room's
// delay behind live reaches the snapshot.
func TestHubDispatch(t *testing.T) {
	clock := fakeclock.New(t0)
	room := []transport.Event{
		transport.RoomInfo{ID: "r", Title: "Town hall", Listeners: 3, BehindLive: 6 * time.Second},
		transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada"}}},
		transport.AudioFrame{Speaker: "ada", Codec: transport.CodecOpus, Seq: 1, Timestamp: 960, Duration: audio.FrameDuration, Payload: silence},
		transport.TranscriptSegment{ID: "c1", Speaker: "ada", Text: "hello", Final: true},
	}
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){live(room...)}}
	h, sink := newHub(t, d, clock, Config{})
	var fe collector
	if err := h.Run(context.Background(), &fe); err != nil {
		t.Fatalf("Run = %v, want nil when the room ends", err)
	}
	for _, ev := range fe.events {
		if _, ok := ev.(transport.AudioFrame); ok {
			t.Error("an audio frame reached the front end")
		}
	}
	want := []string{"connecting/", "live/", "ended/" + transport.ReasonRoomEnded}
	if got := fe.states(); !slices.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if len(fe.events) != 3+len(room)-1+1 { // three states, the room minus its audio, Ended
		t.Errorf("the front end got %d events: %v", len(fe.events), fe.events)
	}
	if !fe.snap.Decoding || len(fe.snap.Speakers) != 1 || fe.snap.Speakers[0].ID != "ada" {
		t.Errorf("the pipeline did not get ada's frame: %+v", fe.snap)
	}
	if fe.snap.BehindLive != 6*time.Second {
		t.Errorf("snapshot behind live %v, want the room's 6s", fe.snap.BehindLive)
	}
	if !sink.isClosed() {
		t.Error("the sink was left open")
	}
}

// The recording starts at the first successful join, not at the first attempt: time 0
// is the join, after however long the server was overloaded.
func TestHubRecordsFromTheFirstJoin(t *testing.T) {
	clock := fakeclock.New(t0)
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){
		refused(&transport.OverloadError{RetryAfter: 30 * time.Second, Reason: "full"}),
		live(transport.RoomInfo{ID: "r", Title: "Town hall"}),
	}}
	dir := filepath.Join(t.TempDir(), "rec")
	h, _ := newHub(t, d, clock, Config{Record: &record.Options{Dir: dir, ClientVersion: "test"}})
	if err := h.Run(context.Background(), &collector{}); err != nil {
		t.Fatal(err)
	}
	times := d.dialTimes()
	if len(times) != 2 || times[1].Sub(times[0]) < 30*time.Second {
		t.Fatalf("dials at %v: want a second one after the 30 s Retry-After", times)
	}
	b, err := os.ReadFile(filepath.Join(dir, "room.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Started time.Time }
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if !meta.Started.Equal(times[1]) {
		t.Errorf("room.json started = %v, want the join at %v (not the first attempt at %v)", meta.Started, times[1], times[0])
	}
}

// --for leaves the room that long after the first join, with no error; the wait is on
// the injected clock.
func TestHubFor(t *testing.T) {
	clock := fakeclock.New(t0)
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){held(transport.RoomInfo{ID: "r"})}}
	h, _ := newHub(t, d, clock, Config{For: 90 * time.Second})
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background(), &collector{}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after --for", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--for did not end the session")
	}
	if !slices.Contains(clock.Waits(), 90*time.Second) {
		t.Errorf("waits = %v, want one of 90 s", clock.Waits())
	}
}

// A permanent refusal ends the session with its error and one ended state; an overload
// before it is retried, never fatal.
func TestHubPermanentRefusal(t *testing.T) {
	clock := fakeclock.New(t0)
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){
		refused(&transport.OverloadError{Reason: "full"}),
		refused(transport.ErrUnauthorized),
	}}
	dir := filepath.Join(t.TempDir(), "rec")
	h, sink := newHub(t, d, clock, Config{Record: &record.Options{Dir: dir}})
	var fe collector
	err := h.Run(context.Background(), &fe)
	if !errors.Is(err, transport.ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized", err)
	}
	want := []string{"connecting/", "reconnecting/" + transport.ReasonOverloaded, "ended/" + transport.ReasonUnauthorized}
	if got := fe.states(); !slices.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a room never joined left a recording: %v", err)
	}
	if !sink.isClosed() {
		t.Error("the sink was left open")
	}
}

// A recording that cannot open ends the session with an error that says so.
func TestHubRecordOpenFails(t *testing.T) {
	clock := fakeclock.New(t0)
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){held()}}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h, _ := newHub(t, d, clock, Config{Record: &record.Options{Dir: filepath.Join(file, "rec")}})
	err := h.Run(context.Background(), &collector{})
	if err == nil || !strings.HasPrefix(err.Error(), "record: ") {
		t.Fatalf("Run = %v, want a record: error", err)
	}
}

// Leaving (the front end returns) ends the session without an error, and cuts short a
// reconnect wait; RetryNow cuts a wait short without leaving.
func TestHubLeaveAndRetryNow(t *testing.T) {
	clock := fakeclock.NewManual(t0)
	d := &fakeDialer{clock: clock, attempts: []func() (*fakeConn, error){
		refused(&transport.OverloadError{RetryAfter: time.Hour, Reason: "full"}),
		held(transport.RoomInfo{ID: "r"}),
	}}
	h, _ := newHub(t, d, clock, Config{})
	fe := FrontendFunc(func(ctx context.Context, h *Hub) error {
		for ev := range h.Events() {
			if s, ok := ev.(transport.State); ok {
				switch s.State {
				case transport.StateReconnecting:
					h.RetryNow()
				case transport.StateLive:
					return nil // the user leaves
				}
			}
		}
		return errors.New("the event stream closed before the retry joined")
	})
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background(), fe) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RetryNow did not cut the hour-long wait short")
	}
	if n := len(d.dialTimes()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}
