package httpstream

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// frames returns the audio frames among evs.
func frames(evs []transport.Event) []transport.AudioFrame {
	var fs []transport.AudioFrame
	for _, ev := range evs {
		if f, ok := ev.(transport.AudioFrame); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// titles returns the titles of the RoomInfo events among evs.
func titles(evs []transport.Event) []string {
	var ts []string
	for _, ev := range evs {
		if r, ok := ev.(transport.RoomInfo); ok {
			ts = append(ts, r.Title)
		}
	}
	return ts
}

// checkTrack wants n frames of one speaker, one after another on the room clock.
func checkTrack(t *testing.T, fs []transport.AudioFrame, n int, speaker string) {
	t.Helper()
	if len(fs) != n {
		t.Fatalf("%d frames, want %d", len(fs), n)
	}
	for i, f := range fs {
		if f.Speaker != speaker || f.Codec != transport.CodecOpus || f.Duration != 20*time.Millisecond {
			t.Fatalf("frame %d: %q %s %s, want %q opus 20ms", i, f.Speaker, f.Codec, f.Duration, speaker)
		}
		if i > 0 && (f.Seq != fs[i-1].Seq+1 || f.Timestamp-fs[i-1].Timestamp != 960) {
			t.Fatalf("frame %d: seq %d ts %d after seq %d ts %d: want the next frame 960 samples on",
				i, f.Seq, f.Timestamp, fs[i-1].Seq, fs[i-1].Timestamp)
		}
	}
}

// TestOggFile: a finite Ogg Opus body is a room whose title comes from icy-name and the
// tags, with one speaker, every packet a 20 ms frame in order, paced at its own rate,
// and an end.
func TestOggFile(t *testing.T) {
	u := serve(t, stream{finite: true, body: oggStream(t, 1, 150, "ARTIST=Ada", "TITLE=Rooms"),
		headers: map[string]string{"Content-Type": "audio/ogg", "icy-name": "Radio One", "icy-description": "talk"}})
	c, clk, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ri, ok := evs[0].(transport.RoomInfo)
	if !ok || ri.ID != "live.ogg" || ri.Title != "Radio One — Ada - Rooms" || ri.Listeners != 1 {
		t.Errorf("first event %#v, want the room live.ogg titled from icy-name and the tags", evs[0])
	}
	if r, ok := evs[1].(transport.Roster); !ok || len(r.Speakers) != 1 || r.Speakers[0].ID != "Radio One" {
		t.Errorf("second event %#v, want a roster of the stream", evs[1])
	}
	checkTrack(t, frames(evs), 150, "Radio One")
	if e, ok := evs[len(evs)-1].(transport.Ended); !ok || e.Reason == "" {
		t.Errorf("last event %#v, want the end", evs[len(evs)-1])
	}
	var paced time.Duration
	for _, w := range clk.Waits() {
		paced += w
	}
	if want := 149 * 20 * time.Millisecond; paced != want {
		t.Errorf("paced %s, want %s (the stream's length after its first frame)", paced, want)
	}
}

// TestMP3File: a finite MP3 body cut inside its last frame is a room of its whole
// frames, in order by the running total at 44.1 kHz, named by icy-name, and an end.
func TestMP3File(t *testing.T) {
	mp3 := readES(t, "mp3-44k.mp3")
	u := serve(t, stream{finite: true, body: mp3[:len(mp3)-100], headers: map[string]string{"Content-Type": "audio/mpeg", "icy-name": "Radio One"}})
	c, _, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := evs[1].(transport.Roster); !ok || len(r.Speakers) != 1 || r.Speakers[0].ID != "Radio One" {
		t.Errorf("second event %#v, want a roster of the stream", evs[1])
	}
	checkLive(t, frames(evs), 39, transport.CodecMP3, 44100, 1152)
	if len(frames(evs)) != 39 {
		t.Errorf("%d frames, want the 39 whole ones", len(frames(evs)))
	}
	if e, ok := evs[len(evs)-1].(transport.Ended); !ok || e.Reason == "" {
		t.Errorf("last event %#v, want the end", evs[len(evs)-1])
	}
}

// TestLiveEndIsADrop: a live stream (no length) that ends is a drop, retried.
func TestLiveEndIsADrop(t *testing.T) {
	u := serve(t, stream{body: oggStream(t, 1, 20), headers: map[string]string{"Content-Type": "application/ogg"}})
	c, _, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err == nil || errors.Is(err, transport.ErrRoomEnded) || errors.Is(err, transport.ErrNotFound) {
		t.Fatalf("err %v, want a plain error (a drop)", err)
	}
	checkTrack(t, frames(evs), 20, "127.0.0.1") // "live" names no stream: the host does
}

// TestChainedStream: a chained Ogg stream's next link, with new tags, changes the room's
// title between its frames, and the track goes on without a step back on the clock.
func TestChainedStream(t *testing.T) {
	body := append(oggStream(t, 1, 60, "TITLE=First"), oggStream(t, 2, 60, "TITLE=Second")...)
	u := serve(t, stream{finite: true, body: body, headers: map[string]string{"Content-Type": "application/ogg"}})
	c, _, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := titles(evs); len(got) != 2 || got[0] != "First" || got[1] != "Second" {
		t.Errorf("titles %q, want First then Second", got)
	}
	checkTrack(t, frames(evs), 120, "127.0.0.1")
}

// TestICYMetadata: ICY metadata interleaved with the audio is stripped from it (every
// packet survives intact) and its StreamTitle changes the room's title.
func TestICYMetadata(t *testing.T) {
	song := func(i int) string {
		switch {
		case i == 0:
			return "Ada - Opening"
		case i == 1:
			return "Grace's Theme" // an apostrophe inside the value
		}
		return ""
	}
	body := withICY(oggStream(t, 1, 200, "TITLE=Tagged"), 400, song)
	u := serve(t, stream{finite: true, body: body, headers: map[string]string{"Content-Type": "audio/ogg", "icy-metaint": "400", "icy-name": "Radio"}})
	c, _, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkTrack(t, frames(evs), 200, "Radio")
	want := []string{"Radio — Tagged", "Radio — Ada - Opening", "Radio — Grace's Theme"}
	if got := titles(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("titles %q, want %q", got, want)
	}
}

// TestRefusals: what the server answers instead of a stream is classified for the
// reconnect policy.
func TestRefusals(t *testing.T) {
	played := transport.DialOptions{Resume: &transport.Resume{Private: kept{played: true}}}
	for _, tc := range []struct {
		name  string
		s     stream
		opts  transport.DialOptions
		check func(error) bool
		want  string
	}{
		{"503", stream{status: 503, headers: map[string]string{"Retry-After": "7"}}, transport.DialOptions{}, func(err error) bool {
			var oe *transport.OverloadError
			return errors.As(err, &oe) && oe.RetryAfter == 7*time.Second
		}, "overload, retry after 7s"},
		{"429", stream{status: 429}, transport.DialOptions{}, func(err error) bool {
			var oe *transport.OverloadError
			return errors.As(err, &oe)
		}, "overload"},
		{"401", stream{status: 401}, transport.DialOptions{}, is(transport.ErrUnauthorized), "unauthorized"},
		{"403", stream{status: 403}, transport.DialOptions{}, is(transport.ErrUnauthorized), "unauthorized"},
		{"404", stream{status: 404}, transport.DialOptions{}, is(transport.ErrNotFound), "not found"},
		{"404 once heard", stream{status: 404}, played, func(err error) bool { return classOf(err) == "drop" }, "a drop"},
		{"410", stream{status: 410}, transport.DialOptions{}, is(transport.ErrRoomEnded), "ended"},
		{"502", stream{status: 502, body: []byte("bad gateway")}, transport.DialOptions{}, func(err error) bool {
			return classOf(err) == "drop" && strings.Contains(err.Error(), "bad gateway")
		}, "a drop quoting the server"},
		{"bad playlist", stream{body: []byte("#EXTM3U\n#EXT-X-VERSION:3\n"), headers: map[string]string{"Content-Type": "application/vnd.apple.mpegurl"}}, transport.DialOptions{},
			func(err error) bool {
				return errors.Is(err, transport.ErrProtocol) && strings.Contains(err.Error(), "EXT-X-TARGETDURATION")
			}, "a refusal naming what is wrong"},
		{"mp3 without frames", stream{body: bytes.Repeat([]byte("\xff\xfb not audio"), 10000), headers: map[string]string{"Content-Type": "audio/mpeg"}}, transport.DialOptions{},
			func(err error) bool {
				return errors.Is(err, transport.ErrProtocol) && strings.Contains(err.Error(), "no ADTS or MPEG audio frame")
			}, "a refusal: no frames"},
		// Ogg Vorbis is joined (TestOggVorbis); Ogg of another codec is refused.
		{"ogg flac", stream{body: append([]byte("OggS\x00\x02"), "\x7fFLAC"...), headers: map[string]string{"Content-Type": "audio/ogg"}}, transport.DialOptions{},
			func(err error) bool {
				return errors.Is(err, transport.ErrProtocol) && strings.Contains(err.Error(), "without Opus or Vorbis")
			}, "an Ogg FLAC refusal"},
		{"html", stream{body: []byte("<html>hello</html>"), headers: map[string]string{"Content-Type": "text/html"}}, transport.DialOptions{},
			func(err error) bool {
				return errors.Is(err, transport.ErrProtocol) && strings.Contains(err.Error(), "web page")
			}, "a web page refusal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := dialFake(t, serve(t, tc.s), tc.opts)
			if err == nil || !tc.check(err) {
				t.Errorf("err %v, want %s", err, tc.want)
			}
		})
	}
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

// classOf tells a permanent refusal, an overload and a drop apart as the reconnect
// policy does.
func classOf(err error) string {
	var oe *transport.OverloadError
	switch {
	case errors.As(err, &oe):
		return "overload"
	case errors.Is(err, transport.ErrUnauthorized), errors.Is(err, transport.ErrNotFound),
		errors.Is(err, transport.ErrRoomEnded), errors.Is(err, transport.ErrProtocol):
		return "permanent"
	}
	return "drop"
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		ctype string
		head  string
		want  format
	}{
		{"application/ogg", "OggS\x00", formatOgg},
		{"audio/mpeg", "OggS\x00", formatOgg}, // the bytes win over a wrong label
		{"", "#EXTM3U\n", formatHLS},
		{"text/plain", "\xef\xbb\xbf#EXTM3U\n", formatHLS},
		{"application/vnd.apple.mpegurl; charset=utf-8", "", formatHLS},
		{"audio/mpeg", "\xff\xfb", formatMP3},
		{"", "\xff\xfb\x90", formatMP3},
		{"audio/aacp", "", formatAAC},
		{"", "ID3\x04", formatAAC},
		{"", "\xff\xf1\x50", formatAAC},
		{"text/html", "<html>", formatHTML},
		{"", "hello", formatUnknown},
	} {
		if got := sniff(tc.ctype, []byte(tc.head)); got != tc.want {
			t.Errorf("sniff(%q, %q) = %s, want %s", tc.ctype, tc.head, got, tc.want)
		}
	}
}

// TestHostile: the names, descriptions and titles a stream sends are cleaned before
// they leave Recv.
func TestHostile(t *testing.T) {
	// Go's HTTP client refuses a header with C0 controls, so the headers carry the rest:
	// C1 controls, bidirectional overrides, too many runes.
	h := func(tag string) string {
		return "\u009b2J" + tag + "\u009b31m\u202eevil\u202c\t" + strings.Repeat(" long", transport.MaxNameRunes)
	}
	body := withICY(oggStream(t, 1, 100, "TITLE="+strings.ReplaceAll(transporttest.Hostile("tag"), "\x00", "")), 500,
		func(int) string { return strings.ReplaceAll(h("icy"), "'", "") })
	u := serve(t, stream{body: body, headers: map[string]string{"Content-Type": "audio/ogg", "icy-metaint": "500",
		"icy-name": h("name"), "icy-description": h("description")}})
	transporttest.RunHostile(t, transporttest.HostileRoom{URL: u.String(), Want: []string{"RoomInfo", "Roster"}, Within: 10 * time.Second})
}

// TestStreamName: a stream without an icy-name is named after its URL: the file, else
// its directory, unless every stream has that name or it may be a token; else the host.
func TestStreamName(t *testing.T) {
	for raw, want := range map[string]string{
		"http://radio.example.org:8000/demo.ogg":                                                             "demo",
		"https://radio.example.org/morning-show/playlist.m3u8":                                               "morning-show",
		"https://cdn.example.org/live/index.m3u8":                                                            "cdn.example.org",
		"http://radio.example.org:8000/stream":                                                               "radio.example.org",
		"https://cdn.example.org/hls/4f3a9c2e1b7d6a5f0123/index.m3u8":                                        "cdn.example.org",
		"https://cdn.example.org/shows/4f3a9c2e1b7d6a5f0123.m3u8":                                            "shows",
		"https://cdn.example.org/":                                                                           "cdn.example.org",
		"https://prod-fastly-us-east-1.video.pscp.tv" + streamtest.XPath + "dynamic_playlist.m3u8?type=live": "prod-fastly-us-east-1.video.pscp.tv",
	} {
		u, _ := url.Parse(raw)
		if got := speakerID("", u); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}

// TestSchemes: http and https are this package's.
func TestSchemes(t *testing.T) {
	for _, s := range []string{"http://example.com/live", "https://example.com/live"} {
		if _, d, err := transport.Lookup(s); err != nil || fmt.Sprintf("%T", d) != "*httpstream.dialer" {
			t.Errorf("Lookup(%s) = %T, %v", s, d, err)
		}
	}
}
