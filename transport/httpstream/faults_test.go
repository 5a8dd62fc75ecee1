package httpstream

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
)

// faultStream is one segment format of the fault table: FFmpeg's finished output of
// 12 s of the demo room, which a Window plays as a live stream of faultEnd segments.
type faultStream struct {
	format streamtest.HLSFormat
	codec  transport.Codec
	xStyle bool
}

var faultStreams = []faultStream{
	{streamtest.FMP4Opus, transport.CodecOpus, false},
	{streamtest.ADTS, transport.CodecAAC, true},
	{streamtest.TSAAC, transport.CodecAAC, false},
	{streamtest.TSMP3, transport.CodecMP3, false},
	{streamtest.FMP4AAC, transport.CodecAAC, false},
}

// faultEnd is how many segments a fault test's stream has; the playlist lists four.
const faultEnd = 10

// faultRun is what one run of the fault table saw.
type faultRun struct {
	o      *streamtest.Origin
	clk    *fakeclock.Clock
	frames []transport.AudioFrame
	gaps   []transport.Gap
	states []transport.State // reconnecting ones
	ended  string            // the room's end, as the last event said
	err    error
	// inSegment is how many frames each of the stream's segments holds.
	inSegment func(n int) int

	mu      sync.Mutex
	faultAt time.Time // when the fault began, on the test's clock
}

// played is the stream's segments fetched at least once, by number.
func (r *faultRun) played() []int {
	var ns []int
	for n := range faultEnd {
		if r.o.Requests(r.o.Window.SegmentURI(n)) > 0 {
			ns = append(ns, n)
		}
	}
	return ns
}

// framesOf is how many frames the segments ns hold, save those of skip.
func (r *faultRun) framesOf(ns []int, skip ...int) int {
	total := 0
	for _, n := range ns {
		if !slices.Contains(skip, n) {
			total += r.inSegment(n)
		}
	}
	return total
}

// began notes the time the fault began, once.
func (r *faultRun) began() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.faultAt.IsZero() {
		r.faultAt = r.clk.Now()
	}
}

// fault is one row of the fault table: how the window moves and what the origin does
// wrong, and what the listener must make of it.
type fault struct {
	name   string
	window func(w *streamtest.Window)
	fault  func(r *faultRun) func(w http.ResponseWriter, req *http.Request, n int) bool
	check  func(t *testing.T, r *faultRun)
}

// playlistFault answers playlist requests for which when(n) holds with status.
func playlistFault(status int, retryAfter string, when func(n int) bool) func(r *faultRun) func(http.ResponseWriter, *http.Request, int) bool {
	return func(r *faultRun) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, req *http.Request, n int) bool {
			if !strings.HasSuffix(req.URL.Path, ".m3u8") || !when(n) {
				return false
			}
			r.began()
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, "fault", status)
			return true
		}
	}
}

// segmentFault answers the requests for segment seg for which when(k) holds, k
// counting them from 1, with 404.
func segmentFault(seg int, when func(k int) bool) func(r *faultRun) func(http.ResponseWriter, *http.Request, int) bool {
	return func(r *faultRun) func(http.ResponseWriter, *http.Request, int) bool {
		return func(w http.ResponseWriter, req *http.Request, _ int) bool {
			uri := r.o.Window.SegmentURI(seg)
			if !strings.HasSuffix(req.URL.Path, "/"+uri) || !when(r.o.Requests(uri)) {
				return false
			}
			http.NotFound(w, req)
			return true
		}
	}
}

// onceEach wants every segment from the first played to the last fetched exactly
// once, but those of except, fetched as many times as except says.
func onceEach(t *testing.T, r *faultRun, except map[int]int) {
	t.Helper()
	ns := r.played()
	if len(ns) == 0 || ns[len(ns)-1] != faultEnd-1 {
		t.Fatalf("played %v, want through segment %d", ns, faultEnd-1)
	}
	for n := ns[0]; n < faultEnd; n++ {
		want, ok := except[n]
		if !ok {
			want = 1
		}
		if got := r.o.Requests(r.o.Window.SegmentURI(n)); got != want {
			t.Errorf("segment %d fetched %d times, want %d (played %v)", n, got, want, ns)
		}
	}
}

// wantFrames wants exactly n frames.
func wantFrames(t *testing.T, r *faultRun, n int) {
	t.Helper()
	if len(r.frames) != n {
		t.Errorf("%d frames, want %d", len(r.frames), n)
	}
}

var faults = []fault{
	{name: "healthy, then EXT-X-ENDLIST", check: func(t *testing.T, r *faultRun) {
		// Joined three target durations behind the end of the first playlist (RFC 8216
		// section 6.3.3), which lists the first four segments.
		src := r.o.Window.Source
		first, behind := 4, time.Duration(0)
		for first > 0 && behind < 3*time.Duration(src.Target)*time.Second {
			first--
			behind += src.Segments[first%len(src.Segments)].Duration
		}
		if ns := r.played(); ns[0] != first {
			t.Errorf("played %v, want from segment %d on", ns, first)
		}
		onceEach(t, r, nil)
		wantFrames(t, r, r.framesOf(r.played()))
		if len(r.gaps) > 0 || len(r.states) > 0 || !strings.Contains(r.ended, "ENDLIST") {
			t.Errorf("gaps %v, states %v, end %q: want none and the end", r.gaps, r.states, r.ended)
		}
	}},
	{name: "playlist 503 with Retry-After", fault: playlistFault(http.StatusServiceUnavailable, "5", func(n int) bool { return n == 2 || n == 3 }),
		check: func(t *testing.T, r *faultRun) {
			onceEach(t, r, nil)
			wantFrames(t, r, r.framesOf(r.played()))
			if len(r.states) != 2 || r.states[0].Reason != transport.ReasonOverloaded || r.states[1].RetryIn < 5*time.Second || len(r.gaps) > 0 {
				t.Errorf("states %+v, gaps %v: want two overloaded waits of 5 s or more, no gap", r.states, r.gaps)
			}
		}},
	{name: "segment 404 once", fault: segmentFault(5, func(k int) bool { return k == 1 }), check: func(t *testing.T, r *faultRun) {
		onceEach(t, r, map[int]int{5: 2})
		wantFrames(t, r, r.framesOf(r.played()))
		if len(r.gaps) > 0 || len(r.states) > 0 {
			t.Errorf("gaps %v, states %v: want the segment asked for again, nothing lost", r.gaps, r.states)
		}
	}},
	{name: "segment 404 for good", fault: segmentFault(5, func(int) bool { return true }), check: func(t *testing.T, r *faultRun) {
		if k := r.o.Requests(r.o.Window.SegmentURI(5)); k < 2 || k > 4 {
			t.Errorf("the missing segment asked for %d times, want a few", k)
		}
		onceEach(t, r, map[int]int{5: r.o.Requests(r.o.Window.SegmentURI(5))})
		wantFrames(t, r, r.framesOf(r.played(), 5))
		if len(r.gaps) != 1 || !strings.Contains(r.gaps[0].Why, "missing") || len(r.states) > 0 {
			t.Errorf("gaps %v, states %v: want one gap for the missing segment", r.gaps, r.states)
		}
	}},
	{name: "playlist stops advancing", window: func(w *streamtest.Window) {
		w.Step = func(k int) int {
			if k >= 2 && k < 12 {
				return 0
			}
			return 1
		}
	}, check: func(t *testing.T, r *faultRun) {
		onceEach(t, r, nil)
		wantFrames(t, r, r.framesOf(r.played()))
		if len(r.states) == 0 || r.states[0].Reason != transport.ReasonStalled || len(r.gaps) > 0 {
			t.Errorf("states %+v, gaps %v: want a stall, then the stream resumed with nothing lost", r.states, r.gaps)
		}
	}},
	{name: "playlist 404 for a while", fault: playlistFault(http.StatusNotFound, "", func(n int) bool { return n >= 3 && n < 8 }),
		check: func(t *testing.T, r *faultRun) {
			// The window moved on meanwhile: what left it is a gap, the rest played once.
			ns := r.played()
			for _, n := range ns {
				if k := r.o.Requests(r.o.Window.SegmentURI(n)); k != 1 {
					t.Errorf("segment %d fetched %d times", n, k)
				}
			}
			wantFrames(t, r, r.framesOf(ns))
			if len(r.gaps) != 1 || !strings.Contains(r.gaps[0].Why, "left the playlist") || len(r.states) > 0 {
				t.Errorf("gaps %v, states %+v: want one gap for the segments that left", r.gaps, r.states)
			}
		}},
	{name: "playlist 404 for good", fault: playlistFault(http.StatusNotFound, "", func(n int) bool { return n >= 3 }),
		check: func(t *testing.T, r *faultRun) {
			target := time.Duration(r.o.Window.Source.Target) * time.Second
			if d := r.clk.Now().Sub(r.faultAt); !strings.Contains(r.ended, "gone") || d < 10*target || d > 12*target {
				t.Errorf("ended %q %s after the first 404, want the playlist gone after ten target durations (%s)", r.ended, d, 10*target)
			}
		}},
	{name: "a segment listed twice", window: func(w *streamtest.Window) {
		w.Order = func(n int) int {
			if n == 5 {
				return 4
			}
			return n
		}
	}, check: func(t *testing.T, r *faultRun) {
		onceEach(t, r, map[int]int{5: 1}) // segment 5 is 4 again, fetched once in all
		wantFrames(t, r, r.framesOf(r.played(), 5))
		if len(r.gaps) > 0 || len(r.states) > 0 {
			t.Errorf("gaps %v, states %v", r.gaps, r.states)
		}
	}},
	{name: "segments out of order", window: func(w *streamtest.Window) {
		w.Order = func(n int) int {
			switch n {
			case 4:
				return 5
			case 5:
				return 4
			}
			return n
		}
	}, check: func(t *testing.T, r *faultRun) {
		onceEach(t, r, nil)
		wantFrames(t, r, r.framesOf(r.played()))
		if len(r.gaps) > 0 || len(r.states) > 0 {
			t.Errorf("gaps %v, states %v", r.gaps, r.states)
		}
	}},
}

// TestHLSFaults: every fault of the table, in every segment format, through the
// Reconnector and its policy against the test origin (FFmpeg's segments, a window
// moving on by one per playlist request): the listener rides it out or ends as it
// should, never hangs, and its frames stay in order on the room clock.
func TestHLSFaults(t *testing.T) {
	for _, fs := range faultStreams {
		t.Run(string(fs.format), func(t *testing.T) {
			dir, pl := streamtest.SegmentsT(t, streamtest.HLSOptions{Format: fs.format}, 12)
			if len(pl.Segments) < 3 {
				t.Fatalf("FFmpeg wrote %d segments", len(pl.Segments))
			}
			counts := segmentFrames(t, dir, pl)
			for _, f := range faults {
				t.Run(f.name, func(t *testing.T) {
					win := streamtest.Window{Source: pl, End: faultEnd}
					if f.window != nil {
						f.window(&win)
					}
					r := &faultRun{o: &streamtest.Origin{Dir: dir, XStyle: fs.xStyle, Window: &win},
						clk: fakeclock.New(time.Unix(1_700_000_000, 0)),
						inSegment: func(n int) int {
							if win.Order != nil {
								n = win.Order(n)
							}
							return counts[n%len(counts)]
						}}
					if f.fault != nil {
						r.o.Fault = f.fault(r)
					}
					r.run(t, streamtest.OriginT(t, r.o)+"/live/"+streamtest.XMedia+"?type=live", fs.codec)
					f.check(t, r)
				})
			}
		})
	}
}

// run joins u through a Reconnector on the run's clock until the room ends, and
// checks what holds whatever the fault: the end comes, and the frames are of codec,
// numbered one after another, each at or after the end of the one before.
func (r *faultRun) run(t *testing.T, u string, codec transport.Codec) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rc := &transport.Reconnector{URL: u, Policy: transport.DefaultPolicy(), Clock: r.clk, Dialer: &dialer{clock: r.clk}}
	r.err = rc.Run(ctx, func(ev transport.Event) {
		switch e := ev.(type) {
		case transport.AudioFrame:
			r.frames = append(r.frames, e)
		case transport.Gap:
			r.gaps = append(r.gaps, e)
		case transport.State:
			if e.State == transport.StateReconnecting {
				r.states = append(r.states, e)
			}
		case transport.Ended:
			r.ended = e.Reason
		}
	})
	if r.err != nil || ctx.Err() != nil || r.ended == "" {
		t.Fatalf("Run: %v (%v), end %q, after %d frames: want the room to end", r.err, ctx.Err(), r.ended, len(r.frames))
	}
	for i, f := range r.frames {
		if f.Codec != codec {
			t.Fatalf("frame %d: %s, want %s", i, f.Codec, codec)
		}
		if i == 0 {
			continue
		}
		prev := r.frames[i-1]
		if f.Seq != prev.Seq+1 || int32(f.Timestamp-prev.Timestamp) < int32(prev.Duration*sampleRate/time.Second)-1 {
			t.Fatalf("frame %d: seq %d ts %d after seq %d ts %d (%s)", i, f.Seq, f.Timestamp, prev.Seq, prev.Timestamp, prev.Duration)
		}
	}
}

// segmentFrames counts the frames of each segment of pl, read as the transport reads
// them.
func segmentFrames(t *testing.T, dir string, pl streamtest.Playlist) []int {
	t.Helper()
	c := &hlsConn{}
	var seg segment
	if pl.Map != "" {
		b, err := os.ReadFile(filepath.Join(dir, pl.Map))
		if err != nil {
			t.Fatal(err)
		}
		if c.track, err = parseInit(b); err != nil {
			t.Fatal(err)
		}
		seg.initURI = pl.Map
	}
	var counts []int
	for _, s := range pl.Segments {
		b, err := os.ReadFile(filepath.Join(dir, s.URI))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := c.segmentPackets(seg, b)
		if err != nil || len(ps) == 0 {
			t.Fatalf("%s: %d frames, %v", s.URI, len(ps), err)
		}
		counts = append(counts, len(ps))
	}
	return counts
}
