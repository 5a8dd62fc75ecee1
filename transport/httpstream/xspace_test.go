package httpstream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// liveFrames reads what c sends for d and returns the frames; any gap, end or error
// fails the test.
func liveFrames(t *testing.T, c transport.Conn, d time.Duration) []transport.AudioFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var fs []transport.AudioFrame
	for {
		ev, err := c.Recv(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.Fatalf("after %d frames: %v", len(fs), err)
			}
			return fs
		}
		switch e := ev.(type) {
		case transport.AudioFrame:
			fs = append(fs, e)
		case transport.Gap, transport.Ended:
			t.Fatalf("%#v in a healthy stream", e)
		}
	}
}

// checkLive wants frames of codec in order: seq up by one, each a frame of per samples
// at rate that keeps the contract (transporttest.CheckFrame: whole, its duration its
// own), each timestamp exactly where the running total of rate's samples puts it.
func checkLive(t *testing.T, fs []transport.AudioFrame, atLeast int, codec transport.Codec, rate, per int) {
	t.Helper()
	if len(fs) < atLeast {
		t.Fatalf("%d frames, want at least %d", len(fs), atLeast)
	}
	dur := time.Duration(per) * time.Second / time.Duration(rate)
	for i, f := range fs {
		samples, r, err := transporttest.CheckFrame(f)
		if f.Codec != codec || err != nil || r != rate || samples != per || f.Duration != dur {
			t.Fatalf("frame %d: %s, %d bytes, %s: %d samples at %d Hz, %v; want %s frames of %s at %d Hz", i, f.Codec, len(f.Payload), f.Duration, samples, r, err, codec, dur, rate)
		}
		if i == 0 {
			continue
		}
		want := uint32(uint64(i)*uint64(per)*sampleRate/uint64(rate) - uint64(i-1)*uint64(per)*sampleRate/uint64(rate))
		if f.Seq != fs[i-1].Seq+1 || f.Timestamp-fs[i-1].Timestamp != want {
			t.Fatalf("frame %d: seq %d ts %d after seq %d ts %d; want the next, %d samples on",
				i, f.Seq, f.Timestamp, fs[i-1].Seq, fs[i-1].Timestamp, want)
		}
	}
}

// TestHLSXSpace: an X Space's live playlist, as FFmpeg's segment muxer and the test
// origin make it (HLS version 6, ~3 s raw ADTS chunks each after ID3 tags that hold a
// fake sync word, PROGRAM-DATE-TIME on every chunk, the token in the path), joined by
// its media playlist or by its master playlist: every chunk fetched once, its AAC
// frames handed on whole and in order, and the room clock moving by exactly 1024
// samples from frame to frame, across the chunks' seams too.
func TestHLSXSpace(t *testing.T) {
	o := &streamtest.Origin{Dir: streamtest.HLSDirT(t, streamtest.HLSOptions{Format: streamtest.ADTS}), XStyle: true}
	base := streamtest.OriginT(t, o) + streamtest.XPath
	for _, tc := range []struct {
		playlist, title string
		first           bool // the first to fetch the chunks: each is fetched once
	}{
		// The playlist's names (audio-space, dynamic_playlist) are every Space's: the
		// stream is named after the host.
		{streamtest.XMedia + "?type=live", "127.0.0.1", true},
		{streamtest.XMaster, "127.0.0.1 — variant of 101 kbit/s (mp4a.40.2)", false},
	} {
		t.Run(tc.playlist, func(t *testing.T) {
			c, err := transport.Dial(t.Context(), base+tc.playlist, transport.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ri, err := c.Recv(t.Context())
			if r, ok := ri.(transport.RoomInfo); err != nil || !ok || r.Title != tc.title {
				t.Errorf("first event %#v, %v; want the room titled %q", ri, err, tc.title)
			}
			fs := liveFrames(t, c, 10*time.Second)
			// The first join finds FFmpeg's first chunk listed alone and holds it back
			// 3.5 s (holdFor): at least 5 s of audio follow in 10 s.
			checkLive(t, fs, 5*48000/1024, transport.CodecAAC, 48000, 1024)
			// What was handed on is FFmpeg's ADTS stream, byte for byte, from the start of
			// a chunk on: no tag, no frame twice.
			var got, want []byte
			for _, f := range fs {
				got = append(got, f.Payload...)
			}
			for i := 0; len(want) < len(got); i++ {
				name := fmt.Sprintf("chunk%05d.aac", i)
				b, err := os.ReadFile(filepath.Join(o.Dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 && !bytes.HasPrefix(got, b[:64]) {
					continue // played before this connection, or not at all
				}
				if n := o.Requests(name); tc.first && n != 1 {
					t.Errorf("%s fetched %d times, want once", name, n)
				}
				want = append(want, b...)
			}
			if !bytes.Equal(got, want[:len(got)]) {
				t.Error("the frames handed on are not the chunks' ADTS frames")
			}
			t.Logf("%d frames in 10 s, %d playlist requests", len(fs), o.Reloads())
		})
	}
}

// TestHLSFormats: FFmpeg's live HLS output in each segment format the world serves,
// through the test origin: frames of the stream's codec, whole and in order, on the
// room clock by the running total of samples across the segments' seams (their
// PROGRAM-DATE-TIMEs, rounded to the millisecond, agree within dateSlack).
func TestHLSFormats(t *testing.T) {
	for _, tc := range []struct {
		format    streamtest.HLSFormat
		codec     transport.Codec
		rate, per int
	}{
		{streamtest.TSAAC, transport.CodecAAC, 48000, 1024},
		{streamtest.TSMP3, transport.CodecMP3, 44100, 1152},
		{streamtest.FMP4AAC, transport.CodecAAC, 44100, 1024},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			u := streamtest.HLST(t, streamtest.HLSOptions{Format: tc.format})
			c, err := transport.Dial(t.Context(), u, transport.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fs := liveFrames(t, c, 7*time.Second)
			checkLive(t, fs, 5*tc.rate/tc.per, tc.codec, tc.rate, tc.per)
			t.Logf("%d frames in 7 s", len(fs))
		})
	}
}

// xWindow serves a live X-style stream of FFmpeg's ADTS chunks (SegmentsT), a window
// moving on by one chunk per playlist request, and returns its origin and the URL of
// its media playlist, the token in the path.
func xWindow(t *testing.T, win streamtest.Window) (*streamtest.Origin, string) {
	t.Helper()
	dir, pl := streamtest.SegmentsT(t, streamtest.HLSOptions{Format: streamtest.ADTS}, 9)
	win.Source = pl
	o := &streamtest.Origin{Dir: dir, XStyle: true, Window: &win}
	return o, streamtest.OriginT(t, o) + streamtest.XPath + streamtest.XMedia + "?type=live"
}

// TestXSpaceTokenNotShown: an X Space's token is in its URL's path; no log line, error
// or event says it, through a refused first request, a segment that fails and the
// reconnect after it.
func TestXSpaceTokenNotShown(t *testing.T) {
	o, u := xWindow(t, streamtest.Window{End: 5})
	o.Fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, ".m3u8") && n == 0:
			w.Header().Set("Retry-After", "2")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		case strings.HasSuffix(r.URL.Path, o.Window.SegmentURI(3)) && o.Requests(o.Window.SegmentURI(3)) == 1:
			http.Error(w, "oops", http.StatusInternalServerError)
			return true
		}
		return false
	}
	var logs bytes.Buffer
	var said []string
	clk := fakeclock.New(time.Unix(1_700_000_000, 0))
	rc := &transport.Reconnector{URL: u, Policy: transport.DefaultPolicy(), Clock: clk, Dialer: &dialer{clock: clk},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	err := rc.Run(t.Context(), func(ev transport.Event) { said = append(said, fmt.Sprintf("%#v", ev)) })
	if err != nil {
		t.Fatal(err)
	}
	all := logs.String() + strings.Join(said, "\n")
	if strings.Contains(all, streamtest.XToken) || strings.Contains(all, "periscope-replay") {
		t.Errorf("the token is shown:\n%s", logs.String())
	}
	for _, want := range []string{"/…/dynamic_playlist.m3u8?type=live", "overloaded", "HTTP 500"} {
		if !strings.Contains(all, want) {
			t.Errorf("nothing says %q:\n%s", want, logs.String())
		}
	}
}

// TestHLSFreshXSpace: a listener who joins an X Space that has just begun, its
// playlist listing one chunk of 3 s (target duration 4 s) and a chunk more every 3 s,
// hears it without a hole for 20 s, whether the chunk was listed as the join asked or
// seconds before, by default and with --live-edge: every frame is handed on by the
// time the ones before it have played, the room clock moves by exactly 1024 samples
// from frame to frame, and the room's delay behind the live edge counts the wait
// before the first frame.
func TestHLSFreshXSpace(t *testing.T) {
	dir, pl := streamtest.SegmentsT(t, streamtest.HLSOptions{Format: streamtest.ADTS}, 9)
	if pl.Target != 4 || pl.Segments[0].Duration < 3*time.Second {
		t.Fatalf("FFmpeg wrote chunks of %s, target %d s; want an X Space's 3 s and 4 s", pl.Segments[0].Duration, pl.Target)
	}
	for _, tc := range []struct {
		name     string
		age      time.Duration // of the one chunk listed at the join
		liveEdge bool
	}{
		{"listed as the join asks", 0, false},
		{"listed a second before", time.Second, false},
		{"listed two seconds before", 2 * time.Second, false},
		{"live edge", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1_700_000_000, 0)
			clk := fakeclock.New(t0)
			// The packager lists a chunk as its last sample is written: the first at the
			// join less its age, each later one a chunk's length after the one before.
			win := streamtest.Window{Source: pl, Size: 10, Written: func(int) int {
				n, at := 1, t0.Add(-tc.age)
				for ; ; n++ {
					at = at.Add(pl.Segments[n%len(pl.Segments)].Duration)
					if at.After(clk.Now()) {
						return n
					}
				}
			}}
			o := &streamtest.Origin{Dir: dir, XStyle: true, Window: &win}
			u, _ := url.Parse(streamtest.OriginT(t, o) + streamtest.XPath + streamtest.XMedia + "?type=live")
			c, err := (&dialer{clock: clk}).Dial(t.Context(), u,
				transport.DialOptions{Params: map[string]string{OptLiveEdge: strconv.FormatBool(tc.liveEdge)}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The join itself waits, before the room is live: a recording, whose time 0
			// is the join, starts with the stream's first sample.
			joined := clk.Now()
			var (
				fs     []transport.AudioFrame
				handed []time.Time // when each frame was handed on
				behind time.Duration
			)
			for clk.Now().Sub(t0) < 20*time.Second && len(fs) < 2000 {
				ev, err := c.Recv(t.Context())
				if err != nil {
					t.Fatalf("after %d frames: %v", len(fs), err)
				}
				switch e := ev.(type) {
				case transport.AudioFrame:
					fs, handed = append(fs, e), append(handed, clk.Now())
				case transport.RoomInfo:
					if len(fs) == 0 {
						behind = e.BehindLive
					}
				case transport.Gap, transport.Ended:
					t.Fatalf("%#v in a healthy stream", e)
				}
			}
			checkLive(t, fs, 15*48000/1024, transport.CodecAAC, 48000, 1024)
			// A frame handed on after the ones before it have played is a hole: the
			// sound card plays silence (or a stall) until it comes.
			var worst time.Duration
			for i, f := range fs {
				due := handed[0].Add(samples(uint64(f.Timestamp - fs[0].Timestamp)))
				worst = max(worst, handed[i].Sub(due))
			}
			if worst > 0 {
				t.Errorf("frames handed on up to %s after the ones before them had played", worst)
			}
			// The delay the room shows is the chunk listed and the wait before it.
			if want := (handed[0].Sub(t0) + pl.Segments[0].Duration).Round(time.Second); behind != want {
				t.Errorf("behind live %s, want %s (the first frame handed on %s after the join)", behind, want, handed[0].Sub(t0))
			}
			if held := handed[0].Sub(joined); held != 0 {
				t.Errorf("the first frame was handed on %s after the join returned, want at once", held)
			}
			t.Logf("first frame %s after the join began, %d frames in 20 s", handed[0].Sub(t0), len(fs))
		})
	}
}
