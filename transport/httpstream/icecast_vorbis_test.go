package httpstream

import (
	"context"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
)

// TestIcecastVorbis: a real Icecast fed Ogg Vorbis (44.1 kHz stereo) by FFmpeg is
// joined: Vorbis frames with the stream's headers, each keeping the convention, their
// timestamps the running total of samples at 48 kHz to the sample. Icecast applies a metadata update to an Ogg Vorbis mount by
// starting a new link whose comment header carries the new title (it does not for
// Opus): the frames bring a new Setup, and the room's title follows.
func TestIcecastVorbis(t *testing.T) {
	ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
	src := streamtest.SourceT(t, ice, "/live.ogg", streamtest.SourceOptions{Codec: streamtest.Vorbis, Name: "Demo Radio"})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, ice.URL("/live.ogg"), transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const want = "Demo Radio — spacetui demo - Ada - Opening" // the demo file's ARTIST, the new TITLE
	var (
		fs       []transport.AudioFrame
		titles   []string
		set      int // frames before the title was set
		retitled int // and before it changed
	)
	const perSecond = 44100 / 1024 // long blocks of 2048 samples, mostly
	for len(titles) == 0 || titles[len(titles)-1] != want || len(fs) < retitled+perSecond {
		ev, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d frames, titles %q: %v", len(fs), titles, err)
		}
		switch e := ev.(type) {
		case transport.AudioFrame:
			fs = append(fs, e)
		case transport.RoomInfo:
			titles = append(titles, e.Title)
			retitled = len(fs)
		}
		if len(fs) == 2*perSecond && set == 0 {
			set = len(fs)
			if err := src.SetTitle(ctx, "Ada - Opening"); err != nil {
				t.Fatal(err)
			}
		}
	}
	links := vorbisLinks(t, fs)
	if len(links) != 2 {
		t.Fatalf("%d links, want the first and the one the new title started", len(links))
	}
	for i, l := range links {
		if l.rate != 44100 {
			t.Errorf("link %d at %d Hz, want 44100", i, l.rate)
		}
		total := 0
		for j, f := range l.frames {
			if got, want := f.Timestamp-l.frames[0].Timestamp, uint32(total*sampleRate/l.rate); got != want {
				t.Fatalf("link %d frame %d: %d samples on from the link's first, want %d, the running total", i, j, got, want)
			}
			total += l.samples[j]
		}
	}
	// The new link goes on after the last frame of the first, not before it.
	a, b := links[0], links[1]
	if end := a.frames[0].Timestamp + uint32(a.span()); int32(b.frames[0].Timestamp-end) < 0 {
		t.Errorf("the second link starts at %d, before the first ends (%d)", b.frames[0].Timestamp, end)
	}
	if titles[0] != "Demo Radio — spacetui demo - Keeping rooms alive under load" {
		t.Errorf("first title %q, want the stream's name and the demo file's tags", titles[0])
	}
	t.Logf("%d frames in links of %d and %d, titles %q", len(fs), len(a.frames), len(b.frames), titles)
}
