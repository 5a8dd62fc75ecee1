package livekit_test

// These tests run against a real LiveKit server (internal/lktest starts one) with a
// publisher that joins as the demo room's speakers. Without the server binary they skip,
// unless SPACETUI_E2E=require (CI), where they fail.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/spacetui/spacetui/internal/lktest"
	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/livekit"
	"github.com/spacetui/spacetui/transport/transporttest"
)

func opts(s *lktest.Server) transport.DialOptions {
	return transport.DialOptions{Params: map[string]string{livekit.OptAPIKey: s.APIKey, livekit.OptAPISecret: s.APISecret}}
}

// logger is for the Reconnectors of these tests; the contract suite brings its own.
var logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

// TestContract runs the transport contract, the same suite as for the reference
// server, against a LiveKit room with the demo's speakers publishing.
func TestContract(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "contract")
	transporttest.Run(t, transporttest.Room{
		URL:      s.RoomURL("contract"),
		Opts:     opts(s),
		Speakers: 2,
		Within:   60 * time.Second,
	})
}

// TestContractHostile runs the contract's hostile room: a speaker whose identity, name,
// role and captions, and a room whose title, are escape sequences, bidirectional
// overrides and over-long text. (LiveKit carries no text of a server's for gaps and
// ends: those reasons are this package's own.)
func TestContractHostile(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	tracks, err := server.DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	h := transporttest.Hostile
	sp := tracks[0]
	sp.ID, sp.Name, sp.Role = transporttest.HostileShort("ada"), h("Ada"), h("host")
	sp.Cues = slices.Clone(sp.Cues)
	for i := range sp.Cues {
		sp.Cues[i].Text = h("Hello") + " " + sp.Cues[i].Text
	}
	p, err := lktest.StartPublisher(context.Background(), lktest.PublishOptions{
		URL: s.URL, APIKey: s.APIKey, APISecret: s.APISecret, Room: "hostile", Speakers: []server.SpeakerTrack{sp},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	md, _ := json.Marshal(map[string]string{"title": h("Title")})
	rooms := lksdk.NewRoomServiceClient(s.URL, s.APIKey, s.APISecret)
	if _, err := rooms.UpdateRoomMetadata(ctx, &lkproto.UpdateRoomMetadataRequest{Room: "hostile", Metadata: string(md)}); err != nil {
		t.Fatal(err)
	}
	transporttest.RunHostile(t, transporttest.HostileRoom{
		URL:    s.RoomURL("hostile"),
		Opts:   opts(s),
		Want:   []string{"RoomInfo", "Roster", "TranscriptSegment"},
		Within: 40 * time.Second,
	})
}

// TestActiveSpeakersHint: LiveKit's active-speaker updates reach the room's consumer
// as a hint naming speakers of the roster (the publisher marks its packets with audio
// levels, as browsers do).
func TestActiveSpeakersHint(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "hint")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc := &transport.Reconnector{URL: s.RoomURL("hint"), Opts: opts(s), Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}, Logger: logger}
	roster := map[string]bool{}
	heard := map[string]bool{}
	err := rc.Run(ctx, func(ev transport.Event) {
		switch e := ev.(type) {
		case transport.Roster:
			clear(roster)
			for _, sp := range e.Speakers {
				roster[sp.ID] = true
			}
		case transport.ActiveSpeakers:
			for _, id := range e.IDs {
				if !roster[id] {
					t.Errorf("active speaker %q not in the roster", id)
				}
				heard[id] = true
			}
			if len(heard) >= 2 {
				cancel()
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(heard) < 2 {
		t.Fatalf("active speakers seen in 20 s: %v, want two of the demo's speakers", heard)
	}
}

// TestRoomFullIsOverload fills a room to its participant limit with speakers: a
// listener's join is refused, and the Reconnector backs off as from an overloaded
// server, never reaching live.
func TestRoomFullIsOverload(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{MaxParticipants: 3})
	lktest.PublishT(t, s, "full") // the demo's three speakers fill it
	u, _ := url.Parse(s.RoomURL("full"))
	full := lktest.WaitFor(30*time.Second, func() bool {
		c, err := livekit.Dial(context.Background(), u, opts(s))
		if err == nil {
			c.Close()
			return false
		}
		var oe *transport.OverloadError
		if !errors.As(err, &oe) {
			t.Logf("join refused, but not as overload (yet?): %v", err)
			return false
		}
		return true
	})
	if !full {
		t.Fatal("after 30 s, the listener's join was still not refused as overload")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	rc := &transport.Reconnector{URL: s.RoomURL("full"), Opts: opts(s), Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}, Logger: logger}
	var states []transport.State
	if err := rc.Run(ctx, func(ev transport.Event) {
		if st, ok := ev.(transport.State); ok {
			states = append(states, st)
		}
	}); err != nil {
		t.Fatalf("Run: %v (a full room is not a reason to stop)", err)
	}
	overloaded := 0
	for _, st := range states {
		switch {
		case st.State == transport.StateLive:
			t.Fatalf("went live in a full room: %+v", states)
		case st.State == transport.StateReconnecting && st.Reason == transport.ReasonOverloaded:
			overloaded++
			if st.RetryIn <= 0 {
				t.Errorf("no backoff: %+v", st)
			}
		}
	}
	// Without backoff there would be hundreds; jittered exponential waits allow a handful.
	if overloaded == 0 || overloaded > 8 {
		t.Fatalf("%d overloaded retries in 6 s, want a few (backing off): %+v", overloaded, states)
	}
	t.Logf("%d overloaded retries in 6 s", overloaded)
}

// TestServerRestart kills the LiveKit server mid-session and starts it again on the
// same address: the publisher rejoins by itself, and the listener comes back and hears
// both speakers again by itself, without the roster ever losing them. A short outage is
// within the SDK's resume budget; a long one goes through the Reconnector's full rejoin.
func TestServerRestart(t *testing.T) {
	for _, outage := range []time.Duration{2 * time.Second, livekit.ResumeBudget + 3*time.Second} {
		t.Run(outage.String(), func(t *testing.T) { testServerRestart(t, outage) })
	}
}

func testServerRestart(t *testing.T, outage time.Duration) {
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "restart")
	events := make(chan transport.Event, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	rc := &transport.Reconnector{URL: s.RoomURL("restart"), Opts: opts(s), Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}, Logger: logger}
	go func() {
		done <- rc.Run(ctx, func(ev transport.Event) {
			select {
			case events <- ev:
			default: // the test reads fast enough; never block the reconnector
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	w := watch{t: t, events: events}
	w.until(30*time.Second, "both speakers heard", w.heardBoth)
	w.armed, w.minRoster = true, w.rosterLen
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	w.until(20*time.Second, "the outage noticed", func() bool { return w.state == transport.StateReconnecting })
	time.Sleep(outage - time.Since(killed))
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	if err := s.Restart(rctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	w.reset()
	w.until(45*time.Second, "both speakers heard again", func() bool { return w.state == transport.StateLive && w.heardBoth() })
	t.Logf("outage noticed, server back after %s, both speakers heard %s after the restart",
		restarted.Sub(killed).Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond))
	if w.gaps == 0 {
		t.Error("no gap reported for the outage")
	}
	if w.minRoster < 2 {
		t.Errorf("the roster dropped to %d speakers during the reconnect; want the speakers kept", w.minRoster)
	}
}

// watch follows a Reconnector's events.
type watch struct {
	t         *testing.T
	events    chan transport.Event
	state     transport.ConnState
	frames    map[string]int
	rosterLen int
	armed     bool // from here on, watch how small the roster gets
	minRoster int
	gaps      int
}

func (w *watch) reset() { w.frames = nil }

func (w *watch) heardBoth() bool {
	n := 0
	for _, f := range w.frames {
		if f >= 25 {
			n++
		}
	}
	return n >= 2
}

func (w *watch) until(d time.Duration, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.After(d)
	for !cond() {
		select {
		case ev := <-w.events:
			w.see(ev)
		case <-deadline:
			w.t.Fatalf("after %s: no %s (state %s, frames %v)", d, what, w.state, w.frames)
		}
	}
}

func (w *watch) see(ev transport.Event) {
	switch e := ev.(type) {
	case transport.State:
		w.state = e.State
		w.t.Logf("state %s %s %s", e.State, e.Reason, e.Detail)
	case transport.AudioFrame:
		if w.frames == nil {
			w.frames = map[string]int{}
		}
		w.frames[e.Speaker]++
	case transport.Roster:
		w.rosterLen = len(e.Speakers)
		if w.armed {
			w.minRoster = min(w.minRoster, w.rosterLen)
		}
	case transport.Gap:
		w.gaps++
	}
}

// TestNobodyPublishing: a room nobody publishes in (a mistyped name, which LiveKit
// creates on join, or a room the host has not joined yet) is live but says so, with
// whether it existed before; once a speaker publishes, it is plainly live.
func TestNobodyPublishing(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	u, _ := url.Parse(s.RoomURL("mistyped"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// next returns the next State of c, after the room info and roster it follows.
	next := func(c transport.Conn) transport.State {
		t.Helper()
		for {
			ev, err := c.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st, ok := ev.(transport.State); ok {
				return st
			}
		}
	}
	first, err := livekit.Dial(ctx, u, opts(s))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	st := next(first)
	if st.State != transport.StateLive || st.Reason != transport.ReasonNoSpeakers ||
		!strings.HasPrefix(st.Detail, livekit.NobodyPublishing) || !strings.Contains(st.Detail, "did not exist") {
		t.Errorf("in a new empty room: %+v, want live, no speakers, and that the room did not exist", st)
	}
	// A second listener finds the room the first one created.
	second, err := livekit.Dial(ctx, u, opts(s))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if st := next(second); st.Reason != transport.ReasonNoSpeakers || !strings.Contains(st.Detail, "the room exists") {
		t.Errorf("in an existing empty room: %+v, want no speakers in a room that exists", st)
	}
	lktest.PublishT(t, s, "mistyped")
	if st := next(first); st.State != transport.StateLive || st.Reason != "" {
		t.Errorf("once the speakers publish: %+v, want plainly live", st)
	}
}

// TestCaptionsTimedFromSpeech: a caption spans the speech it transcribes (the demo's
// cue, whose first text the publisher sends a third into it, as a transcriber would),
// not the time from its first text to its last; a cue already running at the join
// still has a length; and the room says when it started.
func TestCaptionsTimedFromSpeech(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	tracks, err := server.DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	cues := map[string]time.Duration{} // text -> the cue's length in the demo
	for _, tr := range tracks {
		for _, q := range tr.Cues {
			cues[q.Text] = q.End - q.Start
		}
	}
	before := time.Now()
	lktest.PublishT(t, s, "captions")
	u, _ := url.Parse(s.RoomURL("captions"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := livekit.Dial(ctx, u, opts(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[string]bool{} // speakers with a final caption
	checked := 0
	for checked < 4 {
		ev, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d cues checked: %v", checked, err)
		}
		switch e := ev.(type) {
		case transport.RoomInfo:
			if e.Started.Before(before.Add(-time.Second)) || e.Started.After(time.Now()) {
				t.Errorf("room started %v, want the room's creation, after %v", e.Started, before)
			}
		case transport.TranscriptSegment:
			if !e.Final {
				continue
			}
			if e.End <= e.Start {
				t.Errorf("cue %q of %s: %v-%v has no length", e.Text, e.Speaker, e.Start, e.End)
			}
			first := !seen[e.Speaker]
			seen[e.Speaker] = true
			if first {
				continue // may have begun before the join
			}
			want, ok := cues[e.Text]
			if !ok {
				t.Fatalf("a caption not of the demo: %q", e.Text)
			}
			if got := e.End - e.Start; got < want-500*time.Millisecond || got > want+500*time.Millisecond {
				t.Errorf("cue %q of %s: %v-%v lasts %v, the speech %v", e.Text, e.Speaker, e.Start, e.End, got, want)
			}
			checked++
		}
	}
}
