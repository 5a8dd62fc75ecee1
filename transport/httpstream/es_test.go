package httpstream

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/transporttest"
)

// The elementary stream test data: the demo room's first second, by FFmpeg.
//
//	aac-48k.aac: -c:a aac -ar 48000 -ac 2 -b:a 96k -f adts (48 frames)
//	mp3-44k.mp3: -c:a libmp3lame -ar 44100 -ac 2 -b:a 64k -id3v2_version 0 -write_xing 0 (40 frames)
func readES(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// esFrames reads every frame of b; it fails the test on anything but the end.
func esFrames(t *testing.T, b []byte) ([]packet, *esReader) {
	t.Helper()
	r := newESReader(bytes.NewReader(b))
	var ps []packet
	for {
		p, err := r.readPacket()
		if errors.Is(err, io.EOF) {
			return ps, r
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(ps), err)
		}
		ps = append(ps, p)
	}
}

// parseFrame parses the header of a frame of codec (AAC or MP3) and says whether it is
// one spacetui hands on.
func parseFrame(codec transport.Codec, b []byte) (audio.FrameHeader, bool) {
	if codec == transport.CodecMP3 {
		return acceptMPA(b)
	}
	return acceptADTS(b)
}

// checkFrames wants n frames of codec, each of per samples at rate and whole, as the
// contract has it (transporttest.CheckFrame), one after another at 48 kHz by the
// running total of rate's samples.
func checkFrames(t *testing.T, ps []packet, n int, codec transport.Codec, rate, per int) {
	t.Helper()
	if len(ps) != n {
		t.Fatalf("%d frames, want %d", len(ps), n)
	}
	for i, p := range ps {
		samples, r, err := transporttest.CheckFrame(transport.AudioFrame{Codec: p.codec, Duration: p.duration, Payload: p.data})
		if p.codec != codec || err != nil || r != rate || samples != per {
			t.Fatalf("frame %d: %s, %d bytes: %d samples at %d Hz, %v", i, p.codec, len(p.data), samples, r, err)
		}
		if want := uint64(i) * uint64(per) * sampleRate / uint64(rate); p.pos != want || p.end != uint64(i+1)*uint64(per)*sampleRate/uint64(rate) {
			t.Fatalf("frame %d at %d-%d, want %d (the running total)", i, p.pos, p.end, want)
		}
		if want := time.Duration(per) * time.Second / time.Duration(rate); p.duration != want {
			t.Fatalf("frame %d: duration %s, want %s", i, p.duration, want)
		}
	}
}

// TestADTSWithID3: an X Space's chunk (ID3 tags, one holding a fake ADTS header, then
// ADTS frames) gives exactly the chunk's frames: the tags are skipped by their size.
func TestADTSWithID3(t *testing.T) {
	aac := readES(t, "aac-48k.aac")
	tags := streamtest.ID3Tags(time.Unix(1_700_000_000, 0))
	if !bytes.Contains(tags, []byte{0xff, 0xf1}) {
		t.Fatal("the tags hold no fake sync word: the test proves nothing")
	}
	footer := []byte("ID3\x04\x00\x10\x00\x00\x00\x04\xff\xf1\x4c\x80" + "3DI\x04\x00\x10\x00\x00\x00\x04")
	// A frame boundary near the middle, for tags between frames.
	cut := 0
	for h, _ := audio.ParseADTS(aac); cut+h.Length < len(aac)/2; h, _ = audio.ParseADTS(aac[cut:]) {
		cut += h.Length
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, in := range map[string][]byte{
		"plain":                 aac,
		"X chunk":               cat(tags, aac),
		"a tag with a footer":   cat(footer, aac),
		"tags between frames":   cat(aac[:cut], tags, aac[cut:]),
		"trailing junk ignored": cat(aac, []byte{0x00, 0x01}),
	} {
		t.Run(name, func(t *testing.T) {
			ps, r := esFrames(t, in)
			checkFrames(t, ps, 48, transport.CodecAAC, 48000, 1024)
			junk := 0
			if name == "trailing junk ignored" {
				junk = 2
			}
			// Not a byte of the tags was searched: they were skipped by their size.
			if !bytes.Equal(ps[0].data, aac[:len(ps[0].data)]) || r.junk != junk {
				t.Errorf("first frame not the stream's first, or %d bytes skipped as junk, want %d", r.junk, junk)
			}
		})
	}
}

// TestESResync: a damaged header costs its frame and nothing more: the reader finds
// the next frame and goes on; junk before the first frame is skipped.
func TestESResync(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		codec     transport.Codec
		rate, per int
		n         int
	}{
		{"aac", "aac-48k.aac", transport.CodecAAC, 48000, 1024, 48},
		{"mp3", "mp3-44k.mp3", transport.CodecMP3, 44100, 1152, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := readES(t, tc.file)
			ps, _ := esFrames(t, in)
			checkFrames(t, ps, tc.n, tc.codec, tc.rate, tc.per)

			// Break the sync word of frame 10.
			off := 0
			for _, p := range ps[:10] {
				off += len(p.data)
			}
			bad := bytes.Clone(in)
			bad[off+1] = 0x00
			got, r := esFrames(t, bad)
			if len(got) != tc.n-1 || r.resyncs != 1 || !bytes.Equal(got[10].data, ps[11].data) {
				t.Errorf("damaged: %d frames, %d resyncs, want %d and 1, frame 11 found again", len(got), r.resyncs, tc.n-1)
			}

			// Start in the middle of a frame, as an Icecast listener does.
			got, _ = esFrames(t, in[len(ps[0].data)/2:])
			if len(got) != tc.n-1 || !bytes.Equal(got[0].data, ps[1].data) {
				t.Errorf("joined mid-frame: %d frames, want %d from the second", len(got), tc.n-1)
			}
		})
	}
	// A header before the first frame that no frame follows is junk.
	aac := readES(t, "aac-48k.aac")
	ps, r := esFrames(t, append(append([]byte{0xff, 0xf1, 0x4c, 0x80, 0x1a, 0x5f, 0xfc}, make([]byte, 300)...), aac...))
	checkFrames(t, ps, 48, transport.CodecAAC, 48000, 1024)
	if r.junk != 307 {
		t.Errorf("%d bytes skipped as junk, want the 307 before the first frame", r.junk)
	}
	r = newESReader(bytes.NewReader(bytes.Repeat([]byte("\xff\xf1 not audio "), 10000)))
	if _, err := r.readPacket(); !errors.Is(err, errNoFrames) {
		t.Errorf("junk: %v, want %v", err, errNoFrames)
	}
}

// TestSampleClock: 44.1 kHz frames land on the 48 kHz clock by the running total, with
// no drift however long the stream; a change of rate goes on from where it was.
func TestSampleClock(t *testing.T) {
	var s sampleClock
	var end uint64
	for i := range 100_000 {
		start, e := s.add(44100, 1152)
		if start != end || e-start < 1253 || e-start > 1254 {
			t.Fatalf("frame %d: %d-%d after %d", i, start, e, end)
		}
		end = e
	}
	if want := uint64(100_000) * 1152 * 48000 / 44100; end != want {
		t.Fatalf("after 100000 frames at %d, want %d", end, want)
	}
	if start, e := s.add(48000, 1024); start != end || e != end+1024 {
		t.Errorf("after a change of rate: %d-%d, want %d-%d", start, e, end, end+1024)
	}
}

// TestAudioConfig: an AudioSpecificConfig of AAC-LC gives ADTS headers the parser
// reads back; HE-AAC and others are refused.
func TestAudioConfig(t *testing.T) {
	c, err := parseAudioConfig([]byte{0x12, 0x10, 0x56, 0xe5, 0x00}) // LC, 44.1 kHz, stereo, as FFmpeg writes it
	if err != nil || c != (audio.ADTSFormat{ObjectType: audio.AACObjectLC, RateIndex: 4, Channels: 2}) {
		t.Fatalf("config %+v, %v", c, err)
	}
	f, ok := c.AppendFrame(nil, []byte{1, 2, 3})
	h, hok := acceptADTS(f)
	if !ok || !hok || h.Length != 10 || h.Rate != 44100 || h.Channels != 2 || !bytes.Equal(f[7:], []byte{1, 2, 3}) {
		t.Fatalf("frame % x: %+v %v", f, h, hok)
	}
	if _, ok := c.AppendFrame(nil, make([]byte, audio.MaxADTSFrame)); ok {
		t.Error("an access unit too long for ADTS was framed")
	}
	for name, asc := range map[string][]byte{
		"HE-AAC":        {0x2b, 0x92, 0x08, 0x00},
		"main":          {0x0a, 0x10},
		"explicit rate": {0x17, 0x80, 0x00, 0x00, 0x10},
		"short":         {0x12},
	} {
		if _, err := parseAudioConfig(asc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
