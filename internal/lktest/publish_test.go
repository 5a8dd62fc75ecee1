package lktest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport/livekit"
)

// testLogger logs to the test's output while the test runs. The SDK's goroutines may
// still log a little after the test has returned (a connection closes in the
// background), when writing to the test's output would panic: that is dropped.
func testLogger(t *testing.T) *slog.Logger {
	w := &untilDone{w: t.Output()}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type untilDone struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (u *untilDone) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return len(p), nil
	}
	return u.w.Write(p)
}

// listener is a minimal LiveKit subscriber: it counts the 20 ms Opus packets each
// participant sends and keeps the transcript text streams it gets.
type listener struct {
	room *lksdk.Room

	mu      sync.Mutex
	packets map[string]int // participant identity -> Opus packets received
	texts   []textSeen
	bad     []string // what should not have happened
}

type textSeen struct {
	from, text   string
	final        bool
	segment      string
	trackOfOwner bool // lk.transcribed_track_id is a track of the sender
}

func listen(t *testing.T, s *Server, room, identity string) (*listener, error) {
	l := &listener{packets: map[string]int{}}
	cb := &lksdk.RoomCallback{ParticipantCallback: lksdk.ParticipantCallback{
		OnTrackSubscribed: func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
			if !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeOpus) {
				l.note("track of %s is %s", rp.Identity(), track.Codec().MimeType)
			}
			go func() {
				for {
					pkt, _, err := track.ReadRTP()
					if err != nil {
						return
					}
					if n, err := audio.PacketSamples(pkt.Payload); err != nil || n != 960 {
						l.note("%s sent a packet of %d samples (%v)", rp.Identity(), n, err)
						continue
					}
					l.mu.Lock()
					l.packets[rp.Identity()]++
					l.mu.Unlock()
				}
			}()
		},
	}}
	l.room = lksdk.NewRoom(cb)
	err := l.room.RegisterTextStreamHandler(TopicTranscription, func(r *lksdk.TextStreamReader, from string) {
		text := r.ReadAll()
		seen := textSeen{from: from, text: text, final: r.Info.Attributes[AttrFinal] == "true", segment: r.Info.Attributes[AttrSegmentID]}
		if f := r.Info.Attributes[AttrFinal]; f != "true" && f != "false" {
			l.note("%s = %q", AttrFinal, f)
		}
		if rp := l.room.GetParticipantByIdentity(from); rp != nil {
			for _, pub := range rp.TrackPublications() {
				seen.trackOfOwner = seen.trackOfOwner || pub.SID() == r.Info.Attributes[AttrTrackID]
			}
		}
		l.mu.Lock()
		l.texts = append(l.texts, seen)
		l.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	token, err := livekit.ListenerToken(s.APIKey, s.APISecret, room, identity)
	if err != nil {
		return nil, err
	}
	sdkLog := livekit.SDKLogger(testLogger(t).With("component", identity))
	if err := l.room.JoinWithToken(s.URL, token, lksdk.WithLogger(sdkLog)); err != nil {
		return nil, err
	}
	t.Cleanup(l.room.Disconnect)
	return l, nil
}

func (l *listener) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) < 10 {
		l.bad = append(l.bad, fmt.Sprintf(format, args...))
	}
}

// state returns how many participants sent audio, whether a final and a partial
// transcript arrived whose track ID belongs to the sender, and the packets by sender.
func (l *listener) state() (senders int, final, partial bool, packets map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	packets = map[string]int{}
	for id, n := range l.packets {
		packets[id] = n
		if n > 0 {
			senders++
		}
	}
	for _, s := range l.texts {
		if s.trackOfOwner && s.text != "" && s.segment != "" {
			final, partial = final || s.final, partial || !s.final
		}
	}
	return senders, final, partial, packets
}

// TestPublishThroughRestart runs the demo room through a real LiveKit server: a
// subscriber hears every speaker as Opus from its own participant and gets partial and
// final transcripts tied to the speakers' tracks; then the server is killed and
// restarted, and the publisher is back on its own.
func TestPublishThroughRestart(t *testing.T) {
	t0 := time.Now()
	const room = "demo"
	srv := StartT(t, Options{})
	t.Logf("server ready in %v at %s", time.Since(t0).Round(time.Millisecond), srv.URL)

	speakers, err := server.DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := StartPublisher(context.Background(), PublishOptions{
		URL: srv.URL, APIKey: srv.APIKey, APISecret: srv.APISecret, Room: room,
		Speakers: speakers, Logger: testLogger(t), SDKLogger: testLogger(t), MaxParticipants: len(speakers) + 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pub.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("all speakers in the room %v after start", time.Since(t0).Round(time.Millisecond))

	l, err := listen(t, srv, room, "listener-1")
	if err != nil {
		t.Fatal(err)
	}
	ok := WaitFor(25*time.Second, func() bool {
		senders, final, partial, _ := l.state()
		return senders == len(speakers) && final && partial
	})
	senders, final, partial, packets := l.state()
	if !ok {
		t.Fatalf("after 25 s: audio from %d participants %v, final transcript %v, partial %v; problems %q",
			senders, packets, final, partial, l.bad)
	}
	t.Logf("audio from %v and both kinds of transcript %v after start", packets, time.Since(t0).Round(time.Millisecond))

	// The pacing: about 50 packets a second from each speaker, silence included.
	_, _, _, before := l.state()
	time.Sleep(2 * time.Second)
	_, _, _, after := l.state()
	for id := range after {
		if n := after[id] - before[id]; n < 80 || n > 120 {
			t.Errorf("%s: %d packets in 2 s, want about 100", id, n)
		}
	}

	// MaxParticipants: the room is full with the speakers and one listener.
	if extra, err := listen(t, srv, room, "one-too-many"); err == nil {
		extra.room.Disconnect()
		t.Error("a participant past MaxParticipants got in")
	}

	l.room.Disconnect()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // an outage, not a blip
	restart := time.Now()
	if err := srv.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("server restarted in %v", time.Since(restart).Round(time.Millisecond))
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pub.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("all speakers back in the room %v after the restart", time.Since(restart).Round(time.Millisecond))

	l2, err := listen(t, srv, room, "listener-2")
	if err != nil {
		t.Fatal(err)
	}
	ok = WaitFor(20*time.Second, func() bool {
		senders, final, partial, _ := l2.state()
		return senders == len(speakers) && (final || partial)
	})
	senders, final, partial, packets = l2.state()
	if !ok {
		t.Fatalf("20 s after the restart: audio from %d participants %v, transcripts final %v partial %v; problems %q",
			senders, packets, final, partial, l2.bad)
	}
	t.Logf("publisher back %v after the restart: audio from %v and a transcript on the new tracks",
		time.Since(restart).Round(time.Millisecond), packets)
	for _, ls := range []*listener{l, l2} {
		if len(ls.bad) > 0 {
			t.Errorf("problems: %q", ls.bad)
		}
	}

	pub.Close()
	if leaked := goroutines("lktest.(*Publisher)"); leaked != "" {
		t.Errorf("publisher goroutines left after Close:\n%s", leaked)
	}
	t.Logf("whole test %v", time.Since(t0).Round(time.Millisecond))
}

// goroutines returns the stacks of the goroutines that have a frame matching fn.
func goroutines(fn string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func TestSchedule(t *testing.T) {
	tracks := []server.SpeakerTrack{
		{ID: "a", Cues: []server.Cue{
			{ID: "c1", Start: 100 * time.Millisecond, End: 700 * time.Millisecond, Text: "one two three four five six"},
			{ID: "c2", Start: time.Second, End: 1100 * time.Millisecond, Text: "solo"},
		}},
		{ID: "b", Cues: []server.Cue{{ID: "c3", Start: 1200 * time.Millisecond, End: 5 * time.Second, Text: "two words"}}},
	}
	events := schedule(tracks, 100) // 2 s: c3 ends past the file
	type at struct {
		tick int
		e    captionEvent
	}
	var got []at
	for n, es := range events {
		for _, e := range es {
			got = append(got, at{n, e})
		}
	}
	want := []at{
		{15, captionEvent{speaker: 0, cue: 0, words: 2}},    // a third in: 300 ms
		{25, captionEvent{speaker: 0, cue: 0, words: 4}},    // two thirds: 500 ms
		{35, captionEvent{speaker: 0, cue: 0, final: true}}, // 700 ms
		{55, captionEvent{speaker: 0, cue: 1, final: true}}, // one word: no partial
		{99, captionEvent{speaker: 1, cue: 0, words: 1}},    // halfway is past the end: last tick
		{99, captionEvent{speaker: 1, cue: 0, final: true}},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
