package streamtest

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Origin serves an HLS stream over HTTP as a CDN in front of a packager does: the media
// playlist and the segments FFmpeg writes into Dir, each under any path that ends in
// its name, so that a test can give the stream the shape of a real service's URL (an X
// Space's carries its token in the path). It can dress the stream as an X Space's
// (XStyle) and let a test answer any request in its place (Fault). It counts the
// requests for each segment.
type Origin struct {
	// Dir holds the playlist and the segments.
	Dir string
	// Playlist is the media playlist's name in Dir; empty means index.m3u8. Any request
	// for a name ending in .m3u8 is answered with it.
	Playlist string
	// XStyle serves the stream as an X Space serves its own: the playlist in HLS
	// version 6 with a PROGRAM-DATE-TIME on every segment, each raw AAC segment (.aac)
	// after ID3 tags (ID3Tags), one of which holds a fake ADTS sync word, and beside it
	// master_playlist.m3u8, a master playlist of one variant, the media playlist
	// dynamic_playlist.m3u8?type=live.
	XStyle bool
	// Window, if set, has the origin make up its live playlist instead of reading
	// FFmpeg's.
	Window *Window
	// Fault, if set, sees every request first; it answers one itself by writing the
	// response and returning true. n counts the playlist requests before this one.
	Fault func(w http.ResponseWriter, r *http.Request, n int) bool

	mu       sync.Mutex
	reloads  int
	requests map[string]int
	good     []byte               // the last complete playlist read
	dates    map[uint64]time.Time // each segment's date, by media sequence number
	first    int                  // Window: the stream's segment the window starts at
}

// Window is a live playlist an Origin makes up, over a stream made of the segments of
// a finished playlist in the Origin's Dir (SegmentsT) played in a loop: the stream's
// segment n is file Source.Segments[Order(n) % len], listed as "s<Order(n)>-<file>".
// The window lists Size segments and moves on by Step(k) segments at the k-th playlist
// request, so a test decides when the stream advances, stalls or jumps, with no clock.
type Window struct {
	Source Playlist
	// Size is how many segments the playlist lists; zero means 4.
	Size int
	// End, if set, is how many segments the stream has: the playlist that lists the
	// last one says EXT-X-ENDLIST.
	End int
	// Step, if set, is how far the window moves on at playlist request k; nil means 1.
	Step func(k int) int
	// Order, if set, maps the stream's segment n to the segment it really is: a test
	// repeats or swaps segments with it. nil is the identity.
	Order func(n int) int
	// Written, if set, is how many of the stream's segments the packager has written
	// by playlist request k, counting from the stream's start; the window lists the
	// last Size of them, all of them while there are fewer, as a stream that has just
	// begun does. It replaces Step, so that a test can have segments appear with its
	// clock rather than with the listener's requests.
	Written func(k int) int
}

// SegmentURI is the name a Window lists the stream's segment n under.
func (w *Window) SegmentURI(n int) string {
	if w.Order != nil {
		n = w.Order(n)
	}
	return fmt.Sprintf("s%d-%s", n, w.Source.Segments[n%len(w.Source.Segments)].URI)
}

// step is how far the window moves on at playlist request k.
func (w *Window) step(k int) int {
	if w.Step == nil {
		return 1
	}
	return w.Step(k)
}

// list makes up the playlist of a window that starts at the stream's segment first,
// or, for a window whose segments are Written, the playlist at request k.
func (w *Window) list(first, k int) Playlist {
	size := cmp.Or(w.Size, 4)
	if w.Written != nil {
		written := w.Written(k)
		first, size = max(written-size, 0), min(written, size)
	}
	pl := Playlist{Target: w.Source.Target, FirstSeq: uint64(first), Map: w.Source.Map}
	for n := first; n < first+size; n++ {
		d := w.Source.Segments[n%len(w.Source.Segments)].Duration
		pl.Segments = append(pl.Segments, Segment{URI: w.SegmentURI(n), Duration: d})
		if n+1 == w.End {
			pl.Ended = true
			break
		}
	}
	return pl
}

func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	playlist := strings.HasSuffix(name, ".m3u8")
	o.mu.Lock()
	n := o.reloads
	var listed []byte // a Window's playlist, which moves on whether a fault answers or not
	if playlist {
		o.reloads++
		if win := o.Window; win != nil {
			listed = o.dated(win.list(o.first, n))
			o.first += win.step(n)
		}
	} else {
		if o.requests == nil {
			o.requests = map[string]int{}
		}
		o.requests[name]++
	}
	o.mu.Unlock()
	if o.Fault != nil && o.Fault(w, r, n) {
		return
	}
	if playlist && o.XStyle && name == XMaster {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write([]byte(xMasterPlaylist))
		return
	}
	if listed != nil {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write(listed)
		return
	}
	if playlist {
		b, err := o.playlist()
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		_, _ = w.Write(b)
		return
	}
	if o.Window != nil {
		// "s<n>-<file>": the window's name for a file in Dir.
		if _, file, ok := strings.Cut(name, "-"); ok && strings.HasPrefix(name, "s") {
			name = file
		}
	}
	b, err := os.ReadFile(filepath.Join(o.Dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if o.XStyle && strings.HasSuffix(name, ".aac") {
		b = append(ID3Tags(time.Now()), b...)
	}
	_, _ = w.Write(b)
}

// The names of an X Space's playlists, as the issue found them: the media playlist's
// URL is what a listener's client is given, with ?type=live.
const (
	XMaster = "master_playlist.m3u8"
	XMedia  = "dynamic_playlist.m3u8"
)

// An X Space's playlists are served under a path of this shape, the listener's access
// token (XToken stands for it) one of its elements. An Origin answers under any path,
// so a test asks for XPath+XMedia to join as a listener does; nothing that prints or
// records the URL may show XToken.
const (
	XToken = "AbCdEf0123456789aBcDeF_-9876543210zYxWvUtSrQpOnMlKjIhGfEdCbA0123456789"
	XPath  = "/Transcoding/v1/hls/" + XToken + "/non_transcode/us-east-1/periscope-replay-direct-prod-us-east-1-public/audio-space/"
)

// xMasterPlaylist is what an XStyle Origin answers for XMaster.
const xMasterPlaylist = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
	"#EXT-X-STREAM-INF:BANDWIDTH=101000,AVERAGE-BANDWIDTH=98000,CODECS=\"mp4a.40.2\"\n" + XMedia + "?type=live\n"

// Requests returns how often the segment (or init section) name was asked for.
func (o *Origin) Requests(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests[name]
}

// Reloads returns how often a playlist was asked for.
func (o *Origin) Reloads() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reloads
}

// playlist returns the playlist as it stands, as a CDN has it: FFmpeg rewrites the
// file in place, so one read half-way through a rewrite is answered with the last
// complete one.
func (o *Origin) playlist() ([]byte, error) {
	name := o.Playlist
	if name == "" {
		name = hlsPlaylist
	}
	b, err := os.ReadFile(filepath.Join(o.Dir, name))
	o.mu.Lock()
	defer o.mu.Unlock()
	pl, perr := ParsePlaylist(b)
	if err != nil || perr != nil {
		if o.good == nil {
			return nil, fmt.Errorf("no playlist yet: %v %v", err, perr)
		}
		return o.good, nil
	}
	if o.XStyle {
		b = o.dated(pl)
	}
	o.good = b
	return b, nil
}

// dated writes pl with a date on every segment, in HLS version 6 (7 with a map), as
// an X Space's playlist is. The first segment ever listed is dated so that the
// playlist ends now; each later one follows the one before by its EXTINF.
func (o *Origin) dated(pl Playlist) []byte {
	if o.dates == nil {
		o.dates = map[uint64]time.Time{}
	}
	var b bytes.Buffer
	version := 6
	if pl.Map != "" {
		version = 7
	}
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n", version, pl.Target, pl.FirstSeq)
	if pl.Map != "" {
		fmt.Fprintf(&b, "#EXT-X-MAP:URI=%q\n", pl.Map)
	}
	at := time.Now()
	for _, s := range pl.Segments {
		at = at.Add(-s.Duration)
	}
	for i, s := range pl.Segments {
		seq := pl.FirstSeq + uint64(i)
		d, ok := o.dates[seq]
		if !ok {
			d = at
			if prev, ok := o.dates[seq-1]; ok && i > 0 {
				d = prev.Add(pl.Segments[i-1].Duration)
			}
			o.dates[seq] = d
		}
		at = d.Add(s.Duration)
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:%.3f,\n%s\n", d.UTC().Format("2006-01-02T15:04:05.000Z07:00"), s.Duration.Seconds(), s.URI)
	}
	if pl.Ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.Bytes()
}

// Playlist is what the kit reads of the media playlists FFmpeg writes.
type Playlist struct {
	Target   int // EXT-X-TARGETDURATION, in seconds
	FirstSeq uint64
	Map      string // EXT-X-MAP's URI, if any
	Segments []Segment
	Ended    bool
}

// Segment is one segment of a Playlist.
type Segment struct {
	URI      string
	Duration time.Duration
}

// ParsePlaylist reads a media playlist as FFmpeg writes it; it fails on one that is
// incomplete (a segment without its URI, no final newline), as a read half-way through
// a rewrite is.
func ParsePlaylist(b []byte) (Playlist, error) {
	var pl Playlist
	if !bytes.HasPrefix(b, []byte("#EXTM3U")) || !bytes.HasSuffix(b, []byte("\n")) {
		return pl, fmt.Errorf("not a complete playlist: %q", b)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var dur time.Duration
	inf := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		tag, val, _ := strings.Cut(line, ":")
		switch {
		case tag == "#EXT-X-TARGETDURATION":
			pl.Target, _ = strconv.Atoi(val)
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			pl.FirstSeq, _ = strconv.ParseUint(val, 10, 64)
		case tag == "#EXT-X-MAP":
			_, uri, _ := strings.Cut(val, `URI="`)
			pl.Map, _, _ = strings.Cut(uri, `"`)
		case tag == "#EXT-X-ENDLIST":
			pl.Ended = true
		case tag == "#EXTINF":
			d, _, _ := strings.Cut(val, ",")
			secs, err := strconv.ParseFloat(d, 64)
			if err != nil {
				return pl, fmt.Errorf("EXTINF %q", val)
			}
			dur, inf = time.Duration(secs*float64(time.Second)), true
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if !inf {
				return pl, fmt.Errorf("segment %q without EXTINF", line)
			}
			pl.Segments = append(pl.Segments, Segment{URI: line, Duration: dur})
			inf = false
		}
	}
	if inf || pl.Target == 0 {
		return pl, fmt.Errorf("incomplete playlist: %q", b)
	}
	return pl, nil
}

// ID3Tags returns the ID3v2.4 tags an X Space puts before each chunk, as the issue
// found them: one with the chunk's MPEG-2 timestamp (Apple's transportStreamTimestamp
// PRIV frame, here a value whose bytes hold the ADTS sync word 0xFFF1) and a JSON blob,
// and one more whose PRIV frame holds what looks like a whole ADTS header. A reader
// that searches the tags for a sync word instead of skipping them by their size finds
// a frame that is not there.
func ID3Tags(at time.Time) []byte {
	fake := []byte{0xff, 0xf1, 0x4c, 0x80, 0x1a, 0x5f, 0xfc, 0xde, 0x02, 0x00} // an ADTS header and a little more
	pts := []byte{0, 0, 0, 0x01, 0xff, 0xf1, 0x50, 0x00}
	blob := fmt.Sprintf(`{"hydra":{"audio_level":0.42,"participants":["ada","grace"],"ntp":%d}}`, at.UnixMilli())
	return append(
		id3Tag(id3Frame("PRIV", append([]byte("com.apple.streaming.transportStreamTimestamp\x00"), pts...)),
			id3Frame("TXXX", append([]byte("\x03hydra\x00"), blob...))),
		id3Tag(id3Frame("PRIV", append([]byte("tv.periscope.audio\x00"), fake...)))...)
}

// id3Tag is an ID3v2.4 tag of frames.
func id3Tag(frames ...[]byte) []byte {
	body := bytes.Join(frames, nil)
	return append(append([]byte{'I', 'D', '3', 4, 0, 0}, syncsafe(len(body))...), body...)
}

// id3Frame is an ID3v2.4 frame: its ID, its size (syncsafe), no flags, its body.
func id3Frame(id string, body []byte) []byte {
	return append(append(append([]byte(id), syncsafe(len(body))...), 0, 0), body...)
}

// syncsafe writes n in four bytes of seven bits.
func syncsafe(n int) []byte {
	return []byte{byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}
}
