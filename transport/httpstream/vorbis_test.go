package httpstream

import (
	"bytes"
	"testing"
	"time"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// The Ogg Vorbis files in testdata were made with FFmpeg 5.1 and libvorbis 1.3.7, the
// first in pages of 100 ms:
//
//	vorbis-44k-first.ogg: -f lavfi -i sine=frequency=440:sample_rate=44100 -t 1 -c:a libvorbis -q:a 0 -page_duration 100000 -metadata artist=Ada -metadata title=First
//	vorbis-22k-second.ogg: -f lavfi -i sine=frequency=880:sample_rate=22050 -t 0.5 -c:a libvorbis -q:a 0 -metadata artist=Ada -metadata title=Second

// oggPages splits an Ogg file into its pages.
func oggPages(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var pages [][]byte
	for len(b) > 0 {
		if len(b) < 27 || len(b) < 27+int(b[26]) {
			t.Fatal("a page cut short")
		}
		size := 27 + int(b[26])
		for _, n := range b[27 : 27+int(b[26])] {
			size += int(n)
		}
		pages = append(pages, b[:size])
		b = b[size:]
	}
	return pages
}

// vorbisLink is what a test reads of one link's frames.
type vorbisLink struct {
	frames  []transport.AudioFrame
	samples []int // each frame's, at rate
	rate    int
}

// span is how far the link reaches on the room clock: from its first frame's timestamp
// to the end of its last.
func (l vorbisLink) span() int {
	last := l.frames[len(l.frames)-1]
	return int(last.Timestamp-l.frames[0].Timestamp) + l.samples[len(l.samples)-1]*sampleRate/l.rate
}

// vorbisLinks checks a track of Vorbis frames and splits it into its links by Setup:
// every frame keeps the convention (transporttest.CheckFrame), a link's frames share
// one Setup slice and its first lasts nothing.
func vorbisLinks(t *testing.T, fs []transport.AudioFrame) []vorbisLink {
	t.Helper()
	var links []vorbisLink
	for i, f := range fs {
		n, rate, err := transporttest.CheckFrame(f)
		if err != nil || f.Codec != transport.CodecVorbis {
			t.Fatalf("frame %d: %s: %v", i, f.Codec, err)
		}
		if i > 0 && f.Seq != fs[i-1].Seq+1 {
			t.Fatalf("frame %d: seq %d after %d", i, f.Seq, fs[i-1].Seq)
		}
		if i == 0 || &f.Setup[0] != &fs[i-1].Setup[0] {
			if n != 0 {
				t.Fatalf("frame %d, a link's first, lasts %d samples; want none", i, n)
			}
			links = append(links, vorbisLink{rate: rate})
		}
		l := &links[len(links)-1]
		l.frames, l.samples = append(l.frames, f), append(l.samples, n)
	}
	return links
}

// TestOggVorbis: a chained Ogg Vorbis file (44.1 kHz, then 22.05 kHz) is one track of
// Vorbis frames, each with its link's headers, each lasting what its blocks say; the
// timestamps move by the running total of samples at 48 kHz, within a link to the
// sample; the room's title follows each link's comments, and the frames are paced at
// the stream's rate.
func TestOggVorbis(t *testing.T) {
	first, second := readES(t, "vorbis-44k-first.ogg"), readES(t, "vorbis-22k-second.ogg")
	u := serve(t, stream{finite: true, body: append(bytes.Clone(first), second...), headers: map[string]string{"Content-Type": "audio/ogg"}})
	c, clk, err := dialFake(t, u, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := drain(t, c, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := titles(evs); len(got) != 2 || got[0] != "Ada - First" || got[1] != "Ada - Second" {
		t.Errorf("titles %q, want Ada - First, then Ada - Second", got)
	}
	links := vorbisLinks(t, frames(evs))
	if len(links) != 2 || links[0].rate != 44100 || links[1].rate != 22050 {
		t.Fatalf("%d links; want one of 44.1 kHz and one of 22.05 kHz", len(links))
	}
	for i, l := range links {
		total := 0
		for j, f := range l.frames {
			if want := uint32(total * sampleRate / l.rate); f.Timestamp-l.frames[0].Timestamp != want {
				t.Fatalf("link %d frame %d: %d samples on from the link's first; want %d, the running total", i, j, f.Timestamp-l.frames[0].Timestamp, want)
			}
			total += l.samples[j]
		}
	}
	// Each link's audio: its length, and up to one long block of padding at its end.
	for i, secs := range []float64{1, 0.5} {
		if span := links[i].span(); span < int(secs*sampleRate) || span > int(secs*sampleRate)+2048*sampleRate/links[i].rate {
			t.Errorf("link %d spans %d samples; want %.1f s", i, span, secs)
		}
	}
	var paced time.Duration
	for _, w := range clk.Waits() {
		paced += w
	}
	fs := frames(evs)
	if want := samples(uint64(fs[len(fs)-1].Timestamp - fs[0].Timestamp)); paced < want-time.Millisecond || paced > want+time.Millisecond {
		t.Errorf("paced %s, want %s", paced, want)
	}
}

// TestOggVorbisGap: pages of a Vorbis stream that never arrive (the server skipped
// them) show as a jump of the timestamps by the audio missing, read from the granule
// positions: the track spans as long as the whole stream.
func TestOggVorbisGap(t *testing.T) {
	pages := oggPages(t, readES(t, "vorbis-44k-first.ogg"))
	whole := func(pages [][]byte) []byte { return bytes.Join(pages, nil) }
	spans := map[string]int{}
	for _, tc := range []struct {
		name  string
		pages [][]byte
	}{
		{"whole", pages},
		{"three pages skipped", append(append([][]byte{}, pages[:4]...), pages[7:]...)},
	} {
		u := serve(t, stream{finite: true, body: whole(tc.pages), headers: map[string]string{"Content-Type": "audio/ogg"}})
		c, _, err := dialFake(t, u, transport.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := drain(t, c, 1000)
		if err != nil {
			t.Fatal(err)
		}
		links := vorbisLinks(t, frames(evs))
		if len(links) != 1 {
			t.Fatalf("%s: %d links", tc.name, len(links))
		}
		spans[tc.name] = links[0].span()
	}
	// 15360 samples (at 44.1 kHz, 16718 at 48 kHz) are missing; the timeline is off at
	// most by a packet's length, since the packet after the gap lasts by the block before it.
	if d := spans["three pages skipped"] - spans["whole"]; d < -1115 || d > 1115 {
		t.Errorf("with three pages skipped the track spans %d samples, whole %d: want the same", spans["three pages skipped"], spans["whole"])
	}
}
