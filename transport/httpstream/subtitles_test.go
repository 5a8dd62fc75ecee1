package httpstream

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// subtitledStream is a live HLS stream with a WebVTT subtitle rendition, written by
// hand (FFmpeg 5.1 writes neither EXT-X-MEDIA TYPE=SUBTITLES nor X-TIMESTAMP-MAP): a
// master playlist, a media playlist of 2 s fMP4 Opus segments and a subtitle playlist
// of 2 s WebVTT segments, both listing the same six segments, moving on by one at each
// request for the audio playlist, until segment end-1. Subtitle segment n holds one
// cue, "line n", 0.5 s to 1.5 s into its segment on a media timeline that starts at
// 10 s (X-TIMESTAMP-MAP), spoken by Ada Lovelace when n is even; with repeat, the cue
// of segment n-1 too, as a cue that spans two segments is listed in both. fault may
// answer a request for subtitle segment n (-1 for the subtitle playlist) in its place.
type subtitledStream struct {
	init, seg []byte
	end       int
	repeat    bool
	text      func(n int) string // the cue's text; nil means "line n"
	fault     func(w http.ResponseWriter, r *http.Request, n int) bool

	mu    sync.Mutex
	first int // the first segment the playlists list
	loads int
}

func (s *subtitledStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.URL.Path[1:]
	switch {
	case name == "master.m3u8":
		fmt.Fprint(w, "#EXTM3U\n"+
			`#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=YES,AUTOSELECT=YES,LANGUAGE="en",URI="subs/index.m3u8"`+"\n"+
			`#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="opus",SUBTITLES="subs"`+"\naudio/index.m3u8\n")
	case name == "audio/index.m3u8", name == "subs/index.m3u8":
		ext := "m4s"
		if name == "audio/index.m3u8" {
			s.first = min(s.loads, s.end-6)
			s.loads++
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n")
		} else {
			if s.fault != nil && s.fault(w, r, -1) {
				return
			}
			ext = "vtt"
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
		}
		fmt.Fprintf(w, "#EXT-X-MEDIA-SEQUENCE:%d\n", s.first)
		for n := s.first; n < s.first+6; n++ {
			fmt.Fprintf(w, "#EXTINF:2.0,\n%d.%s\n", n, ext)
		}
		if s.first+6 == s.end {
			fmt.Fprint(w, "#EXT-X-ENDLIST\n")
		}
	case name == "audio/init.mp4":
		_, _ = w.Write(s.init)
	case strings.HasPrefix(name, "audio/") && strings.HasSuffix(name, ".m4s"):
		_, _ = w.Write(s.seg)
	case strings.HasPrefix(name, "subs/") && strings.HasSuffix(name, ".vtt"):
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "subs/"), ".vtt"))
		if s.fault != nil && s.fault(w, r, n) {
			return
		}
		fmt.Fprint(w, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n")
		if s.repeat && n > 0 {
			s.cue(w, n-1)
		}
		s.cue(w, n)
	default:
		http.NotFound(w, r)
	}
}

// cue writes the cue of subtitle segment n.
func (s *subtitledStream) cue(w http.ResponseWriter, n int) {
	voice := ""
	if n%2 == 0 {
		voice = "<v Ada Lovelace>"
	}
	text := fmt.Sprintf("line %d", n)
	if s.text != nil {
		text = s.text(n)
	}
	fmt.Fprintf(w, "\n%02d:%02d.500 --> %02d:%02d.500\n%s%s\n", 2*n/60, 2*n%60, (2*n+1)/60, (2*n+1)%60, voice, text)
}

// subtitleRun joins s, plays it to its end and returns its events and logs.
func subtitleRun(t *testing.T, s *subtitledStream) ([]transport.Event, string) {
	t.Helper()
	var err error
	if s.init, err = os.ReadFile(filepath.Join("testdata", "opus-init.mp4")); err != nil {
		t.Fatal(err)
	}
	if s.seg, err = os.ReadFile(filepath.Join("testdata", "opus-seg.m4s")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/master.m3u8")
	var logs bytes.Buffer
	c, _, err := dialFake(t, u, transport.DialOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs, logs.String()
}

// TestHLSSubtitles: the cues of a live stream's subtitle rendition arrive once each, in
// order, as final transcript segments with the cue's voice (else the stream) as the
// speaker, each placed on the room clock within a segment of the audio it arrives
// with; from the first segment played (three target durations behind the join's end)
// to the last; text cleaned as every text is. A subtitle segment that is missing,
// too big, not WebVTT or that never comes (the audio waits a second for it, no more)
// loses its cue and nothing else, and a subtitle playlist that is
// missing loses the cues: either way the audio plays on, whole, and the failure is
// logged once. A cue listed in two segments arrives once (and one listed in the first
// segment read arrives, though it began in the segment before).
func TestHLSSubtitles(t *testing.T) {
	const end = 10
	huge := "WEBVTT\n\n" + strings.Repeat("NOTE padding\n\n", maxSubtitleBytes/14+1)
	for _, tc := range []struct {
		name    string
		repeat  bool
		fault   func(w http.ResponseWriter, r *http.Request, n int) bool
		missing int // the segment whose cue is lost, -1 for none, end for all
	}{
		{"whole", false, nil, -1},
		{"cues listed twice", true, nil, -1},
		{"playlist 404", false, func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n == -1 {
				w.WriteHeader(http.StatusNotFound)
			}
			return n == -1
		}, end},
		{"segment 404", false, func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n == 5 {
				w.WriteHeader(http.StatusNotFound)
			}
			return n == 5
		}, 5},
		{"segment too big", false, func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n == 6 {
				fmt.Fprint(w, huge)
			}
			return n == 6
		}, 6},
		{"segment not WebVTT", false, func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n == 7 {
				fmt.Fprint(w, "<html>oops</html>")
			}
			return n == 7
		}, 7},
		{"segment hangs", false, func(_ http.ResponseWriter, r *http.Request, n int) bool {
			if n == 8 {
				<-r.Context().Done()
			}
			return n == 8
		}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			evs, logs := subtitleRun(t, &subtitledStream{end: end, repeat: tc.repeat, fault: tc.fault,
				text: func(n int) string {
					if n == 4 {
						return "line \x1b[31m4\a"
					}
					return fmt.Sprintf("line %d", n)
				}})
			var stream string
			var want []int
			if tc.repeat {
				want = append(want, 2)
			}
			for n := 3; n < end; n++ {
				if n != tc.missing && tc.missing != end {
					want = append(want, n)
				}
			}
			var got []int
			var fs int
			var last time.Duration // the room time of the last frame
			ids := map[string]bool{}
			for i, ev := range evs {
				f, _ := ev.(transport.AudioFrame)
				switch e := ev.(type) {
				case transport.Roster:
					stream = e.Speakers[0].ID
				case transport.AudioFrame:
					fs++
					last = samples(uint64(f.Timestamp))
				case transport.Gap:
					t.Errorf("a gap: %+v", e)
				case transport.TranscriptSegment:
					var n int
					if _, err := fmt.Sscanf(e.Text, "line %d", &n); err != nil {
						t.Fatalf("segment %+v", e)
					}
					got = append(got, n)
					if ids[e.ID] || !e.Final || e.End-e.Start != time.Second {
						t.Errorf("segment %+v: a repeated ID, not final, or not 1 s long", e)
					}
					ids[e.ID] = true
					if speaker := map[bool]string{true: "Ada Lovelace", false: stream}[n%2 == 0]; e.Speaker != speaker {
						t.Errorf("line %d by %q, want %q", n, e.Speaker, speaker)
					}
					if n == 4 && e.Text != "line 4" {
						t.Errorf("line 4 is %q, not cleaned", e.Text)
					}
					at := nextFrame(evs[i:])
					if at < 0 {
						at = last // the end of the stream
					}
					if e.Start < at-2*time.Second || e.Start > at+2*time.Second {
						t.Errorf("line %d at %v, with the audio at %v: more than a segment apart", n, e.Start, at)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cues %v, want %v", got, want)
			}
			if d := time.Since(began); d > 3*subtitleTimeout {
				t.Errorf("the stream took %v", d)
			}
			if fs != (end-3)*100 {
				t.Errorf("%d frames, want %d: the audio of %d 2 s segments", fs, (end-3)*100, end-3)
			}
			if tc.missing >= 0 && strings.Count(logs, "subtitles left out") != 1 {
				t.Errorf("the subtitle failure logged %d times, want once:\n%s", strings.Count(logs, "subtitles left out"), logs)
			}
		})
	}
}

// nextFrame is the room time of the first frame among evs, -1 if there is none.
func nextFrame(evs []transport.Event) time.Duration {
	for _, ev := range evs {
		if f, ok := ev.(transport.AudioFrame); ok {
			return samples(uint64(f.Timestamp))
		}
	}
	return -1
}

// TestTimeline: both playlists' segments on one axis. A live playlist's first load ends
// at its edge (an ended one starts at 0); later loads go on by sequence number (a
// segment that left the window unseen counts a target duration); dates, where used,
// place a segment by themselves.
func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	list := func(first uint64, n int, ended, dated bool) *playlist {
		pl := &playlist{target: 2 * time.Second, firstSeq: first, ended: ended}
		for i := range n {
			s := segment{seq: first + uint64(i), duration: 2 * time.Second}
			if dated {
				s.date = t0.Add(time.Duration(s.seq) * 2 * time.Second)
			}
			pl.segments = append(pl.segments, s)
		}
		return pl
	}
	late := func(pl *playlist) *playlist { // dated a second later than its EXTINFs say
		for i := range pl.segments {
			pl.segments[i].date = pl.segments[i].date.Add(time.Second)
		}
		return pl
	}
	s := time.Second
	for _, tc := range []struct {
		name  string
		edge  time.Duration
		loads []*playlist
		want  map[uint64]time.Duration // of the last load
	}{
		{"live", 0, []*playlist{list(10, 3, false, false)}, map[uint64]time.Duration{10: -6 * s, 11: -4 * s, 12: -2 * s}},
		{"live, edge later", 4 * s, []*playlist{list(10, 2, false, false)}, map[uint64]time.Duration{10: 0, 11: 2 * s}},
		{"ended", 4 * s, []*playlist{list(10, 2, true, false)}, map[uint64]time.Duration{10: 0, 11: 2 * s}},
		{"reloads", 0, []*playlist{list(10, 3, false, false), list(11, 3, false, false)},
			map[uint64]time.Duration{11: -4 * s, 12: -2 * s, 13: 0}},
		{"segments missed", 0, []*playlist{list(10, 3, false, false), list(15, 2, false, false)},
			map[uint64]time.Duration{15: 4 * s, 16: 6 * s}},
		{"dated", 0, []*playlist{list(10, 3, false, true), late(list(15, 2, false, true))},
			map[uint64]time.Duration{15: 5 * s, 16: 7 * s}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(tc.loads[0], tc.edge)
			for _, pl := range tc.loads {
				tl.load(pl)
			}
			if fmt.Sprint(tl.at) != fmt.Sprint(tc.want) {
				t.Errorf("at %v, want %v", tl.at, tc.want)
			}
		})
	}
}

// TestSubtitleCueBound: no more than maxSubtitleCues cues wait for their audio: of a
// segment of more, the first are kept and the rest reported; a later segment's too.
func TestSubtitleCueBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for i := range maxSubtitleCues + 1 {
		fmt.Fprintf(&b, "\n00:00.000 --> 00:01.000\ncue %d\n", i)
	}
	s := &subtitles{}
	if err := s.read(segment{seq: 1, duration: 2 * time.Second}, 0, []byte(b.String())); err == nil || len(s.pending) != maxSubtitleCues {
		t.Errorf("%d cues kept, %v; want %d and an error", len(s.pending), err, maxSubtitleCues)
	}
	if err := s.read(segment{seq: 2, duration: 2 * time.Second}, 0, []byte("WEBVTT\n\n00:05.000 --> 00:06.000\nmore\n")); err == nil || len(s.pending) != maxSubtitleCues {
		t.Errorf("%d cues waiting, %v; want %d and an error", len(s.pending), err, maxSubtitleCues)
	}
}
