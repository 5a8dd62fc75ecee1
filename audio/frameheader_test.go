package audio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// The stream files in testdata are a 440 Hz sine of one second (the last of 0.2 s), made
// with FFmpeg 5.1:
//
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100 -t 1 -ac 2 -c:a aac -b:a 64k -f adts sine440-44k-stereo.aac
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000 -t 1 -ac 1 -c:a aac -b:a 48k -f adts sine440-48k-mono.aac
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100 -t 1 -ac 2 -c:a libmp3lame -b:a 64k -write_xing 0 -id3v2_version 0 -f mp3 sine440-44k-stereo.mp3
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=24000 -t 1 -ac 1 -c:a libmp3lame -b:a 32k -write_xing 0 -id3v2_version 0 -f mp3 sine440-24k-mono.mp3
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=22050 -t 0.2 -ac 1 -c:a libmp3lame -b:a 32k -write_xing 0 -id3v2_version 0 -f mp3 sine440-22k-mono-32k.mp3

// adtsFrames splits an ADTS file of testdata into its frames, as a transport delivers
// them.
func adtsFrames(t testing.TB, name string) [][]byte {
	return splitFrames(t, name, ParseADTS)
}

// mpegFrames splits an MPEG audio file of testdata into its frames.
func mpegFrames(t testing.TB, name string) [][]byte {
	return splitFrames(t, name, ParseMPEG)
}

func splitFrames(t testing.TB, name string, parse func([]byte) (FrameHeader, error)) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(data) > 0 {
		h, err := parse(data)
		n := h.Length
		if err != nil || n == 0 || n > len(data) {
			t.Fatalf("%s: frame %d of length %d in %d bytes left: %v", name, len(frames), n, len(data), err)
		}
		frames = append(frames, data[:n:n])
		data = data[n:]
	}
	return frames
}

// headerCase is a header and what its parser makes of it.
type headerCase struct {
	name string
	hdr  []byte
	want FrameHeader
	err  error
}

// testParser runs parse over the cases.
func testParser(t *testing.T, parse func([]byte) (FrameHeader, error), cases []headerCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parse(tc.hdr)
			if h != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("% x: %+v, %v\nwant %+v, %v", tc.hdr, h, err, tc.want, tc.err)
			}
		})
	}
}

// with returns h changed by f.
func with(h FrameHeader, f func(*FrameHeader)) FrameHeader { f(&h); return h }

// The parser tests hold the cases of the three parsers this one replaced (the
// decoders', the recorder's and httpstream's), and the headers each caller refuses by
// its own policy parse here: AAC Main, channel configuration 0, a frame of header only,
// Layers I and II, MPEG-2.5.
func TestParseADTS(t *testing.T) {
	// lc is the header of an AAC-LC frame: 44.1 kHz (index 4), stereo, 371 bytes, no
	// CRC, one raw data block.
	lc := FrameHeader{Codec: transport.CodecAAC, Length: 371, HeaderLength: 7, Rate: 44100, Channels: 2, Samples: 1024,
		Fixed: 0xf15080, ObjectType: AACObjectLC, Blocks: 1}
	testParser(t, ParseADTS, []headerCase{
		{"lc", []byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, lc, nil},
		// With a CRC: 9 bytes of header at least; here, nothing but the header.
		{"crc", []byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x3f, 0xfc}, with(lc, func(h *FrameHeader) {
			h.Length, h.HeaderLength, h.CRC, h.Rate, h.Channels, h.Fixed = 9, 9, true, 48000, 1, 0xf04c40
		}), nil},
		{"crc too short", []byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x1f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		// A frame of header only parses: httpstream and the recorder refuse it.
		{"header only", []byte{0xff, 0xf1, 0x50, 0x80, 0x00, 0xff, 0xfc}, with(lc, func(h *FrameHeader) { h.Length = 7 }), nil},
		{"four blocks", []byte{0xff, 0xf1, 0x4c, 0x40, 0x20, 0x1f, 0xff}, with(lc, func(h *FrameHeader) {
			h.Length, h.Rate, h.Channels, h.Samples, h.Blocks, h.Fixed = 256, 48000, 1, 4096, 4, 0xf14c40
		}), nil},
		// The profile field is the object type less one: 0 is AAC Main.
		{"main", []byte{0xff, 0xf1, 0x10, 0x80, 0x2e, 0x7f, 0xfc}, with(lc, func(h *FrameHeader) { h.ObjectType, h.Fixed = 1, 0xf11080 }), nil},
		// Channel configuration 0 (a program config element) and 7 (7.1, its high bit
		// in byte 2).
		{"channels 0", []byte{0xff, 0xf1, 0x50, 0x00, 0x2e, 0x7f, 0xfc}, with(lc, func(h *FrameHeader) { h.Channels, h.Fixed = 0, 0xf15000 }), nil},
		{"channels 7", []byte{0xff, 0xf1, 0x51, 0xc0, 0x2e, 0x7f, 0xfc}, with(lc, func(h *FrameHeader) { h.Channels, h.Fixed = 7, 0xf151c0 }), nil},
		// ID 1 (MPEG-2 AAC) parses the same; only Fixed tells it apart.
		{"mpeg-2 id", []byte{0xff, 0xf9, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, with(lc, func(h *FrameHeader) { h.Fixed = 0xf95080 }), nil},
		// The longest frame, at the lowest rate (index 12).
		{"7350 Hz", []byte{0xff, 0xf1, 0x70, 0x83, 0xff, 0xff, 0xfc}, with(lc, func(h *FrameHeader) { h.Rate, h.Length, h.Fixed = 7350, 8191, 0xf17080 }), nil},
		{"reserved rate", []byte{0xff, 0xf1, 0x74, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"rate 15", []byte{0xff, 0xf1, 0x7c, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"no sync", []byte{0xff, 0xe1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"no sync first byte", []byte{0xfe, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"layer set", []byte{0xff, 0xf3, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"mpeg audio", []byte{0xff, 0xfb, 0x90, 0x64, 0x00, 0x00, 0x00}, FrameHeader{}, ErrCorruptFrame},
		{"length 0", []byte{0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"short", []byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f}, FrameHeader{}, ErrCorruptFrame},
		{"empty", nil, FrameHeader{}, ErrCorruptFrame},
	})
}

func TestParseMPEG(t *testing.T) {
	// mpeg1 is the header of an MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, no
	// padding, joint stereo: 417 bytes.
	mpeg1 := FrameHeader{Codec: transport.CodecMP3, Length: 417, HeaderLength: 4, Rate: 44100, Channels: 2, Samples: 1152,
		Fixed: 0xfa00, Version: 1, Layer: 3, Bitrate: 128}
	testParser(t, ParseMPEG, []headerCase{
		{"mpeg1", []byte{0xff, 0xfb, 0x90, 0x64}, mpeg1, nil},
		// The same padded, with a CRC: the CRC is not part of Fixed.
		{"padded crc", []byte{0xff, 0xfa, 0x92, 0x64}, with(mpeg1, func(h *FrameHeader) {
			h.Length, h.HeaderLength, h.CRC, h.Padding = 418, 6, true, true
		}), nil},
		// Mono: the channel mode is not part of Fixed either.
		{"mpeg1 mono 320k 48k", []byte{0xff, 0xfb, 0xe4, 0xc4}, with(mpeg1, func(h *FrameHeader) {
			h.Length, h.Rate, h.Bitrate, h.Channels, h.Fixed = 960, 48000, 320, 1, 0xfa04
		}), nil},
		// MPEG-2 Layer III, 32 kbit/s, 22.05 kHz, mono: 104 bytes of 576 samples.
		{"mpeg2 mono", []byte{0xff, 0xf3, 0x40, 0xc4}, FrameHeader{Codec: transport.CodecMP3, Length: 104, HeaderLength: 4,
			Rate: 22050, Channels: 1, Samples: 576, Fixed: 0xf200, Version: 2, Layer: 3, Bitrate: 32}, nil},
		// MPEG-2.5, 8 kbit/s, 8 kHz.
		{"mpeg2.5", []byte{0xff, 0xe3, 0x18, 0xc4}, FrameHeader{Codec: transport.CodecMP3, Length: 72, HeaderLength: 4,
			Rate: 8000, Channels: 1, Samples: 576, Fixed: 0xe208, Version: 25, Layer: 3, Bitrate: 8}, nil},
		// Layer II: 160 kbit/s at 44.1 kHz, 522 bytes (FFmpeg's mp2 encoder writes
		// this header); MPEG-2 Layer II, 80 kbit/s at 22.05 kHz, likewise.
		{"layer 2", []byte{0xff, 0xfd, 0x90, 0x64}, with(mpeg1, func(h *FrameHeader) {
			h.Layer, h.Bitrate, h.Length, h.Fixed = 2, 160, 522, 0xfc00
		}), nil},
		{"mpeg2 layer 2", []byte{0xff, 0xf5, 0x90, 0xc4}, FrameHeader{Codec: transport.CodecMP3, Length: 522, HeaderLength: 4,
			Rate: 22050, Channels: 1, Samples: 1152, Fixed: 0xf400, Version: 2, Layer: 2, Bitrate: 80}, nil},
		// Layer I counts in slots of 4 bytes: 288 kbit/s at 44.1 kHz is 78 slots, 79
		// padded.
		{"layer 1", []byte{0xff, 0xff, 0x90, 0x64}, with(mpeg1, func(h *FrameHeader) {
			h.Layer, h.Bitrate, h.Samples, h.Length, h.Fixed = 1, 288, 384, 312, 0xfe00
		}), nil},
		{"layer 1 padded", []byte{0xff, 0xff, 0x92, 0x64}, with(mpeg1, func(h *FrameHeader) {
			h.Layer, h.Bitrate, h.Samples, h.Length, h.Fixed, h.Padding = 1, 288, 384, 316, 0xfe00, true
		}), nil},
		{"free format", []byte{0xff, 0xfb, 0x00, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"bad bit rate", []byte{0xff, 0xfb, 0xf0, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"reserved rate", []byte{0xff, 0xfb, 0x9c, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"reserved version", []byte{0xff, 0xeb, 0x90, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"reserved layer", []byte{0xff, 0xf9, 0x90, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"adts", []byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, FrameHeader{}, ErrCorruptFrame},
		{"no sync", []byte{0xff, 0x7b, 0x90, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"no sync first byte", []byte{0x7f, 0xfb, 0x90, 0x64}, FrameHeader{}, ErrCorruptFrame},
		{"short", []byte{0xff, 0xfb, 0x90}, FrameHeader{}, ErrCorruptFrame},
		{"empty", nil, FrameHeader{}, ErrCorruptFrame},
	})
}

func TestAACSampleRate(t *testing.T) {
	for i, want := range map[int]int{-1: 0, 0: 96000, 3: 48000, 4: 44100, 12: 7350, 13: 0, 15: 0} {
		if got, ok := AACSampleRate(i); got != want || ok != (want != 0) {
			t.Errorf("AACSampleRate(%d) = %d, %v; want %d", i, got, ok, want)
		}
	}
}

// TestADTSFormatRoundTrip: every frame ADTSFormat.AppendFrame writes, of every object
// type, rate and channel configuration ADTS carries and of raw data blocks from empty
// to the longest a frame holds, ParseADTS reads back as written, after what dst held;
// a frame too long or a format ADTS cannot carry is refused, dst left as it was.
func TestADTSFormatRoundTrip(t *testing.T) {
	prefix := []byte("before")
	for object := 1; object <= 4; object++ {
		for ri := range 13 {
			rate, _ := AACSampleRate(ri)
			if got, ok := AACRateIndex(rate); !ok || got != ri {
				t.Errorf("AACRateIndex(%d) = %d, %v; want %d", rate, got, ok, ri)
			}
			for ch := range 8 {
				f := ADTSFormat{ObjectType: object, RateIndex: ri, Channels: ch}
				for _, n := range []int{0, 1, 371, MaxADTSFrame - ADTSHeaderLen} {
					raw := make([]byte, n)
					for i := range raw {
						raw[i] = byte(i*7 + n)
					}
					b, ok := f.AppendFrame(append([]byte(nil), prefix...), raw)
					if !ok || string(b[:len(prefix)]) != string(prefix) {
						t.Fatalf("%+v, %d bytes: ok %v, %q", f, n, ok, b[:min(len(b), len(prefix))])
					}
					frame := b[len(prefix):]
					h, err := ParseADTS(frame)
					want := FrameHeader{Codec: transport.CodecAAC, Length: ADTSHeaderLen + n, HeaderLength: ADTSHeaderLen,
						Rate: rate, Channels: ch, ObjectType: object, Blocks: 1, Samples: 1024, Fixed: h.Fixed}
					if err != nil || h != want || string(frame[ADTSHeaderLen:]) != string(raw) {
						t.Fatalf("%+v, %d bytes: read back %+v, %v; want %+v and the raw data block after the header", f, n, h, err, want)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		f    ADTSFormat
		n    int
	}{
		{"too long", ADTSFormat{ObjectType: AACObjectLC, RateIndex: 3, Channels: 2}, MaxADTSFrame - ADTSHeaderLen + 1},
		{"rate index 13", ADTSFormat{ObjectType: AACObjectLC, RateIndex: 13, Channels: 2}, 10},
		{"rate index 15", ADTSFormat{ObjectType: AACObjectLC, RateIndex: 15, Channels: 2}, 10},
		{"8 channels", ADTSFormat{ObjectType: AACObjectLC, RateIndex: 3, Channels: 8}, 10},
		{"object type 0", ADTSFormat{RateIndex: 3, Channels: 2}, 10},
		{"object type 5 (SBR)", ADTSFormat{ObjectType: 5, RateIndex: 3, Channels: 2}, 10},
	} {
		if b, ok := tc.f.AppendFrame(prefix, make([]byte, tc.n)); ok || string(b) != string(prefix) {
			t.Errorf("%s: ok %v, %d bytes; want refused, dst as it was", tc.name, ok, len(b))
		}
	}
	if i, ok := AACRateIndex(22000); ok {
		t.Errorf("AACRateIndex(22000) = %d, want none", i)
	}
}

func TestMainDataBegin(t *testing.T) {
	for _, tc := range []struct {
		name        string
		frame       []byte
		begin, size int
	}{
		// MPEG-1 stereo: 9 bits after the header; 32 bytes of side information.
		{"mpeg1", append([]byte{0xff, 0xfb, 0x90, 0x64, 0xab, 0x80}, make([]byte, 411)...), 0x157, 417 - 4 - 32},
		// With a CRC, the side information starts 2 bytes later.
		{"mpeg1 crc", append([]byte{0xff, 0xfa, 0x90, 0x64, 0xff, 0xff, 0x01, 0x00}, make([]byte, 409)...), 2, 417 - 6 - 32},
		// MPEG-2 mono: 8 bits; 9 bytes of side information.
		{"mpeg2 mono", append([]byte{0xff, 0xf3, 0x40, 0xc4, 0x2a}, make([]byte, 99)...), 0x2a, 104 - 4 - 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseMPEG(tc.frame)
			if err != nil || h.Length != len(tc.frame) {
				t.Fatalf("ParseMPEG = %+v, %v; frame of %d bytes", h, err, len(tc.frame))
			}
			if begin, size := h.mainDataBegin(tc.frame); begin != tc.begin || size != tc.size {
				t.Errorf("mainDataBegin = %d, %d; want %d, %d", begin, size, tc.begin, tc.size)
			}
		})
	}
}

// The test streams split into whole frames of the format they claim, every frame with
// the first one's Fixed.
func TestSplitTestStreams(t *testing.T) {
	for _, f := range streamFiles {
		parse := ParseMPEG
		if f.codec == transport.CodecAAC {
			parse = ParseADTS
		}
		var first FrameHeader
		for i, fr := range f.frames(t) {
			h, _ := parse(fr)
			if i == 0 {
				first = h
			}
			if h.Codec != f.codec || h.Rate != f.rate || h.Samples != f.samples || h.Fixed != first.Fixed ||
				f.codec == transport.CodecAAC && (h.Blocks != 1 || h.ObjectType != AACObjectLC) ||
				f.codec == transport.CodecMP3 && h.Layer != 3 {
				t.Fatalf("%s frame %d: %+v", f.name, i, h)
			}
		}
	}
	for i, fr := range mpegFrames(t, "sine440-22k-mono-32k.mp3") {
		if h, _ := ParseMPEG(fr); h.Rate != 22050 || h.Layer != 3 || h.Version != 2 {
			t.Fatalf("sine440-22k-mono-32k.mp3 frame %d: %+v", i, h)
		}
	}
}

// parsed parses b and says whether parse took it; a header it refuses must be refused
// with ErrCorruptFrame and no fields.
func parsed(t *testing.T, parse func([]byte) (FrameHeader, error), b []byte) (FrameHeader, bool) {
	t.Helper()
	h, err := parse(b)
	if err != nil && (!errors.Is(err, ErrCorruptFrame) || h != (FrameHeader{})) {
		t.Fatalf("% x: %+v, %v", b, h, err)
	}
	return h, err == nil
}

// FuzzParseADTS: whatever the bytes, the parser does not panic; a header it takes is
// at least as long as itself, describes some audio, reads nothing past its first 7
// bytes, and is no MPEG audio header too.
func FuzzParseADTS(f *testing.F) {
	f.Add([]byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc})
	f.Add([]byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x3f, 0xfc, 0x00, 0x00})
	f.Add([]byte{0xff, 0xf1, 0x4c, 0x40, 0x20, 0x1f, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parsed(t, ParseADTS, b)
		if !ok {
			return
		}
		if h.Length < h.HeaderLength || h.HeaderLength != 7 && h.HeaderLength != 9 || h.Length > 1<<13-1 ||
			h.Rate <= 0 || h.Samples != 1024*h.Blocks || h.Blocks < 1 || h.Blocks > 4 || h.Codec != transport.CodecAAC {
			t.Fatalf("% x: %+v", b, h)
		}
		if again, _ := ParseADTS(b[:7]); again != h {
			t.Fatalf("% x: %+v from the header alone, %+v from more", b, again, h)
		}
		if _, err := ParseMPEG(b); err == nil {
			t.Fatalf("% x parses as ADTS and as MPEG audio", b)
		}
	})
}

// FuzzParseMPEG: whatever the bytes, the parser does not panic; a header it takes is
// at least as long as itself, describes some audio, and reads nothing past its first 4
// bytes.
func FuzzParseMPEG(f *testing.F) {
	f.Add([]byte{0xff, 0xfb, 0x90, 0x64})
	f.Add([]byte{0xff, 0xfa, 0x92, 0x64, 0x00, 0x00})
	f.Add([]byte{0xff, 0xe3, 0x18, 0xc4})
	f.Add([]byte{0xff, 0xff, 0x92, 0x64})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parsed(t, ParseMPEG, b)
		if !ok {
			return
		}
		if h.Length < h.HeaderLength || h.HeaderLength != 4 && h.HeaderLength != 6 || h.Rate <= 0 || h.Bitrate <= 0 ||
			h.Samples <= 0 || h.Channels < 1 || h.Channels > 2 || h.Codec != transport.CodecMP3 {
			t.Fatalf("% x: %+v", b, h)
		}
		if again, _ := ParseMPEG(b[:4]); again != h {
			t.Fatalf("% x: %+v from the header alone, %+v from more", b, again, h)
		}
	})
}
