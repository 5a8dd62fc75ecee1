package httpstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// The fMP4 Opus test data: FFmpeg's HLS output of the demo room's first 2 s
// (ffmpeg -t 4 -i server/demo/demo.ogg -c:a copy -f hls -hls_segment_type fmp4
// -hls_time 2 ...): the init section and the first segment, 100 packets of 20 ms.
func readTestdata(t testing.TB) (init, seg []byte) {
	t.Helper()
	init, err := os.ReadFile("testdata/opus-init.mp4")
	if err != nil {
		t.Fatal(err)
	}
	seg, err = os.ReadFile("testdata/opus-seg.m4s")
	if err != nil {
		t.Fatal(err)
	}
	return init, seg
}

func TestFMP4(t *testing.T) {
	init, seg := readTestdata(t)
	tr, err := parseInit(init)
	if err != nil || tr.codec != "Opus" || tr.timescale != 48000 {
		t.Fatalf("init: %+v, %v; want an Opus track at 48 kHz", tr, err)
	}
	ss, err := parseSegment(seg, tr)
	if err != nil || len(ss) != 100 {
		t.Fatalf("segment: %d samples, %v; want 100", len(ss), err)
	}
	for i, s := range ss {
		if s.duration != 960 || s.time != uint64(i)*960 || len(s.data) == 0 {
			t.Fatalf("sample %d: time %d, duration %d, %d bytes", i, s.time, s.duration, len(s.data))
		}
	}
}

// TestFMP4AAC: FFmpeg's fMP4 AAC at 44.1 kHz (-c:a aac -ar 44100 -ac 2 -b:a 64k -f hls
// -hls_segment_type fmp4 -hls_time 1: aac-init.mp4 and its first segment, 44 frames):
// the esds gives the AudioSpecificConfig, each sample goes on as an ADTS frame, placed
// by its decode time.
func TestFMP4AAC(t *testing.T) {
	init, seg := readES(t, "aac-init.mp4"), readES(t, "aac-seg.m4s")
	tr, err := parseInit(init)
	if err != nil || tr.format != transport.CodecAAC || tr.timescale != 44100 || tr.aac != (audio.ADTSFormat{ObjectType: audio.AACObjectLC, RateIndex: 4, Channels: 2}) {
		t.Fatalf("init: %+v, %v; want AAC-LC, 44.1 kHz stereo", tr, err)
	}
	ps, err := tr.packets(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The segment's first decode time is 0 (FFmpeg's priming is an edit list).
	checkFrames(t, ps, 44, transport.CodecAAC, 44100, 1024)
	ss, _ := parseSegment(seg, tr)
	if !bytes.Equal(ps[3].data[audio.ADTSHeaderLen:], ss[3].data) {
		t.Error("the ADTS frame does not hold the sample")
	}
	// An esds of HE-AAC, or a sample entry of another codec, is refused.
	he := bytes.Clone(init)
	i := bytes.Index(he, []byte{0x05, 0x80, 0x80, 0x80, 0x05, 0x12, 0x10})
	he[i+5] = 0x2b // audio object type 5
	ac3 := bytes.ReplaceAll(bytes.Clone(init), []byte("mp4a"), []byte("ac-3"))
	for name, b := range map[string][]byte{"HE-AAC": he, "AC-3": ac3} {
		if _, err := parseInit(b); !errors.Is(err, transport.ErrProtocol) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
}

func TestParsePlaylist(t *testing.T) {
	pl, err := parsePlaylist([]byte("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:41\n" +
		"#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"756@0\"\n#EXTINF:3.008,\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T17:27:18.051+0000\na.m4s\n" +
		"#EXT-X-DISCONTINUITY\n#EXTINF:4,title\nhttps://cdn.example/b.m4s?token=x\n#EXT-X-ENDLIST\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range pl.segments {
		pl.segments[i].date = pl.segments[i].date.UTC()
	}
	want := []segment{
		{seq: 41, uri: "a.m4s", duration: 3008 * time.Millisecond, date: time.Date(2026, 11, 29, 17, 27, 18, 51e6, time.UTC), initURI: "init.mp4"},
		{seq: 42, uri: "https://cdn.example/b.m4s?token=x", duration: 4 * time.Second, initURI: "init.mp4", discont: true},
	}
	if pl.target != 4*time.Second || !pl.ended || fmt.Sprint(pl.segments) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant target 4s, ended, %+v", pl, want)
	}
	for name, bad := range map[string]string{
		"no header":     "#EXT-X-TARGETDURATION:4\n",
		"no target":     "#EXTM3U\n#EXTINF:4,\na.ts\n",
		"no EXTINF":     "#EXTM3U\n#EXT-X-TARGETDURATION:4\na.ts\n",
		"bad EXTINF":    "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:-1,\na.ts\n",
		"huge target":   "#EXTM3U\n#EXT-X-TARGETDURATION:99999999999\n",
		"bad date":      "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n",
		"master":        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n",
		"late sequence": "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n",
	} {
		if _, err := parsePlaylist([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestChooseRendition: of a master playlist, the default audio rendition of a group,
// else the audio-only variant of the lowest bandwidth, else the first variant; and the
// subtitles the variant names (the one chosen, or the one that names the chosen audio
// group): the default of its SUBTITLES group, else the group's first.
func TestChooseRendition(t *testing.T) {
	for _, tc := range []struct {
		name, master, uri, says, subs string
	}{
		{"audio group", "#EXTM3U\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",URI="en/index.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Deutsch",DEFAULT=YES,URI="de/index.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="sub",NAME="English",DEFAULT=YES,URI="subs.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401f,mp4a.40.2",AUDIO="aud"` + "\nvideo.m3u8\n",
			"de/index.m3u8", `audio rendition "Deutsch" of group "aud"`, ""},
		{"audio group, subtitles of its variant", "#EXTM3U\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="other",NAME="Other",DEFAULT=YES,URI="other.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,URI="main.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",URI="de.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=YES,URI="en.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=900000,AUDIO="none",SUBTITLES="other"` + "\nv1.m3u8\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO="aud",SUBTITLES="subs"` + "\nv2.m3u8\n",
			"main.m3u8", `audio rendition "main" of group "aud"`, `subtitles rendition "English" of group "subs"`},
		{"audio group without a default", "#EXTM3U\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",URI="main.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO="aud"` + "\nvideo.m3u8\n",
			"main.m3u8", `audio rendition "main" of group "aud"`, ""},
		{"audio-only variants", "#EXTM3U\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2"` + "\nvideo.m3u8\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"` + "\nhigh.m3u8\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"` + "\nlow.m3u8\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=32000` + "\nunknown.m3u8\n",
			"low.m3u8", "variant of 64 kbit/s (mp4a.40.2)", ""},
		{"variant with subtitles, no default", "#EXTM3U\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",URI="en.m3u8"` + "\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",URI="de.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2",SUBTITLES="subs"` + "\naudio.m3u8\n",
			"audio.m3u8", "variant of 64 kbit/s (mp4a.40.2)", `subtitles rendition "English" of group "subs"`},
		{"subtitles no variant names", "#EXTM3U\n" +
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=YES,URI="en.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"` + "\naudio.m3u8\n",
			"audio.m3u8", "variant of 64 kbit/s (mp4a.40.2)", ""},
		{"an X Space's", "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=101000,CODECS="mp4a.40.2"` + "\ndynamic_playlist.m3u8?type=live\n",
			"dynamic_playlist.m3u8?type=live", "variant of 101 kbit/s (mp4a.40.2)", ""},
		{"no codecs said", "#EXTM3U\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=900000` + "\nfirst.m3u8\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=100000` + "\nsecond.m3u8\n",
			"first.m3u8", "variant of 900 kbit/s", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, subs, err := chooseRendition([]byte(tc.master))
			if err != nil || r.uri != tc.uri || r.describe() != tc.says {
				t.Errorf("chose %q (%s), %v; want %q (%s)", r.uri, r.describe(), err, tc.uri, tc.says)
			}
			if got := subs.describe(); subs.uri == "" && tc.subs != "" || subs.uri != "" && got != tc.subs {
				t.Errorf("subtitles %q (%s), want %s", subs.uri, got, cmp(tc.subs, "none"))
			}
		})
	}
	if _, _, err := chooseRendition([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n")); err == nil {
		t.Error("a master playlist of nothing: chose something")
	}
}

// TestHLSResume: a reconnect goes on from the first segment not yet played: the room
// clock, the track and the sequence numbers carry over, and nothing is lost.
func TestHLSResume(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	win := &streamtest.Window{Size: 6, Source: streamtest.Playlist{Target: 2, Map: "opus-init.mp4",
		Segments: []streamtest.Segment{{URI: "opus-seg.m4s", Duration: 2 * time.Second}}}}
	o := &streamtest.Origin{Dir: dir, Window: win}
	u, _ := url.Parse(streamtest.OriginT(t, o) + "/live/index.m3u8")
	prev := kept{origin: time.Unix(1_700_000_000, 0), played: true, seq: 500, end: 48000 * 60,
		hls: hlsKept{played: true, next: 2}}
	c, _, err := dialFake(t, u, transport.DialOptions{Resume: &transport.Resume{Private: prev}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.(transport.Resumable).Resumed() {
		t.Error("not resumed, though the next segment is listed")
	}
	evs, err := drain(t, c, 250)
	if err == nil || len(frames(evs)) < 200 {
		t.Fatalf("%d frames, %v", len(frames(evs)), err)
	}
	if f := frames(evs)[0]; f.Seq != 501 || f.Timestamp < 48000*60 {
		t.Errorf("first frame seq %d ts %d, want 501 at or after the previous end", f.Seq, f.Timestamp)
	}
	if o.Requests(win.SegmentURI(0))+o.Requests(win.SegmentURI(1)) != 0 || o.Requests(win.SegmentURI(2)) != 1 {
		t.Errorf("segments 0, 1, 2 fetched %d, %d, %d times, want segment 2 on", o.Requests(win.SegmentURI(0)),
			o.Requests(win.SegmentURI(1)), o.Requests(win.SegmentURI(2)))
	}
}

// TestHLSRefusals: what spacetui cannot play yet is refused with one line.
func TestHLSRefusals(t *testing.T) {
	for name, body := range map[string]string{
		"empty master": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000\n",
	} {
		t.Run(name, func(t *testing.T) {
			u := serve(t, stream{body: []byte(body), headers: map[string]string{"Content-Type": "application/vnd.apple.mpegurl"}})
			_, _, err := dialFake(t, u, transport.DialOptions{})
			if classOf(err) != "permanent" {
				t.Errorf("err %v, want a permanent refusal", err)
			}
		})
	}
}

// TestHLSContract: FFmpeg's live HLS output (fMP4 Opus, PROGRAM-DATE-TIME, a moving
// window of six 2 s segments) keeps the contract every protocol keeps.
func TestHLSContract(t *testing.T) {
	u := streamtest.HLST(t, streamtest.HLSOptions{})
	transporttest.Run(t, transporttest.Room{URL: u, Speakers: 1, Within: 30 * time.Second, NoTranscript: true})
}

// TestHLSFFmpegReloads plays FFmpeg's live HLS output for 10 s, through five reloads of
// the playlist: every packet once, in order, none lost, and the room clock moving by
// the packets' own lengths across the segments' seams (their PROGRAM-DATE-TIMEs agree).
func TestHLSFFmpegReloads(t *testing.T) {
	u := streamtest.HLST(t, streamtest.HLSOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var fs []transport.AudioFrame
	for {
		ev, err := c.Recv(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.Fatal(err)
			}
			break
		}
		switch e := ev.(type) {
		case transport.AudioFrame:
			fs = append(fs, e)
		case transport.Gap, transport.Ended:
			t.Fatalf("%#v in a healthy stream", e)
		}
	}
	if len(fs) < 450 {
		t.Fatalf("%d frames in 10 s, want about 500", len(fs))
	}
	jumps := 0
	for i := 1; i < len(fs); i++ {
		if fs[i].Seq != fs[i-1].Seq+1 {
			t.Fatalf("frame %d: seq %d after %d", i, fs[i].Seq, fs[i-1].Seq)
		}
		if fs[i].Timestamp-fs[i-1].Timestamp != 960 {
			jumps++
		}
	}
	if jumps > 0 {
		t.Errorf("%d of %d frames were not 960 samples after the previous one", jumps, len(fs))
	}
	t.Logf("%d frames in 10 s", len(fs))
}

// TestHLSStart: where a join starts in a playlist of six 2 s segments (target 2 s):
// three target durations behind its end (RFC 8216 section 6.3.3), at its newest
// segment with --live-edge, and from its start once it has ended, either way.
func TestHLSStart(t *testing.T) {
	live := &playlist{target: 2 * time.Second, firstSeq: 40}
	for i := range 6 {
		live.segments = append(live.segments, segment{seq: 40 + uint64(i), duration: 2 * time.Second})
	}
	short := &playlist{target: 2 * time.Second, segments: live.segments[:1]}
	ended := &playlist{target: 2 * time.Second, firstSeq: 40, segments: live.segments, ended: true}
	for _, tc := range []struct {
		name     string
		pl       *playlist
		liveEdge bool
		first    uint64
	}{
		{"three target durations", live, false, 43},
		{"live edge", live, true, 45},
		{"fewer than three", short, false, 40},
		{"live edge of one", short, true, 40},
		{"ended", ended, false, 40},
		{"ended, live edge", ended, true, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &hlsConn{liveEdge: tc.liveEdge}
			q, _ := c.start(tc.pl)
			if len(q) == 0 || q[0].seq != tc.first {
				t.Errorf("starts at %v, want segment %d", q, tc.first)
			}
		})
	}
}

// TestHLSLiveEdge: --live-edge, as cmd passes it, has a join fetch the newest segment
// first and none before it; a value that is not a boolean is refused before the first
// attempt.
func TestHLSLiveEdge(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	win := &streamtest.Window{Size: 6, End: 8, Source: streamtest.Playlist{Target: 2, Map: "opus-init.mp4",
		Segments: []streamtest.Segment{{URI: "opus-seg.m4s", Duration: 2 * time.Second}}}}
	o := &streamtest.Origin{Dir: dir, Window: win}
	u, _ := url.Parse(streamtest.OriginT(t, o) + "/live/index.m3u8")
	opts := transport.DialOptions{Params: map[string]string{OptLiveEdge: "true"}}
	if err := transport.Check(u.String(), opts); err != nil {
		t.Fatal(err)
	}
	c, _, err := dialFake(t, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(t, c, 2000); err != nil {
		t.Fatal(err)
	}
	for n := range 8 {
		if got, want := o.Requests(win.SegmentURI(n)), btoi(n >= 5); got != want {
			t.Errorf("segment %d fetched %d times, want %d (the newest of the first playlist on)", n, got, want)
		}
	}
	bad := transport.DialOptions{Params: map[string]string{OptLiveEdge: "soon"}}
	if err := transport.Check(u.String(), bad); err == nil || !strings.Contains(err.Error(), "--live-edge=soon") {
		t.Errorf("--live-edge=soon: %v, want a usage error naming it", err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestHLSBehindLive: the room says how far behind the live edge its stream plays: at
// the join, and again whenever that changes by a second. The window moves on by step
// segments at each reload, and playback reloads once it has played what it had: three
// segments (6 s) from the RFC's start, one with --live-edge, its first frame held back
// half a second (holdFor: one segment covers the target duration, and the margin). A
// window that moves on as fast as playback keeps the figure; one slower than playback
// (one segment in the first 6 s) lets it catch up to one segment behind, as --live-edge
// does once the window has moved on by one at the first reload, the hold's time spent.
// The playlist's end (EXT-X-ENDLIST) leaves no live edge to be behind.
func TestHLSBehindLive(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		step     int
		liveEdge bool
		want     []time.Duration
	}{
		{"as fast as playback", 3, false, []time.Duration{6 * time.Second, 0}},
		{"slower than playback", 1, false, []time.Duration{6 * time.Second, 2 * time.Second, 0}},
		{"live edge, as fast as playback", 1, true, []time.Duration{3 * time.Second, 2 * time.Second, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			win := &streamtest.Window{Size: 6, End: 14, Step: func(int) int { return tc.step },
				Source: streamtest.Playlist{Target: 2, Map: "opus-init.mp4",
					Segments: []streamtest.Segment{{URI: "opus-seg.m4s", Duration: 2 * time.Second}}}}
			u, _ := url.Parse(streamtest.OriginT(t, &streamtest.Origin{Dir: dir, Window: win}) + "/live/index.m3u8")
			c, _, err := dialFake(t, u, transport.DialOptions{Params: map[string]string{OptLiveEdge: strconv.FormatBool(tc.liveEdge)}})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := drain(t, c, 5000)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for _, ev := range evs {
				if e, ok := ev.(transport.RoomInfo); ok {
					got = append(got, e.BehindLive)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("behind live %v, want %v", got, tc.want)
			}
		})
	}
}
