package audio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
	return splitFrames(t, name, func(b []byte) (int, error) {
		h, err := parseADTS(b)
		return h.length, err
	})
}

// mpegFrames splits an MPEG audio file of testdata into its frames.
func mpegFrames(t testing.TB, name string) [][]byte {
	return splitFrames(t, name, func(b []byte) (int, error) {
		h, err := parseMPEG(b)
		return h.length, err
	})
}

func splitFrames(t testing.TB, name string, frameLength func([]byte) (int, error)) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(data) > 0 {
		n, err := frameLength(data)
		if err != nil || n == 0 || n > len(data) {
			t.Fatalf("%s: frame %d of length %d in %d bytes left: %v", name, len(frames), n, len(data), err)
		}
		frames = append(frames, data[:n:n])
		data = data[n:]
	}
	return frames
}

func TestParseADTS(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  []byte
		want adtsHeader
		err  error
	}{
		// LC, 44.1 kHz (index 4), stereo, 371 bytes, no CRC, one block.
		{"lc", []byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, adtsHeader{rate: 44100, channels: 2, length: 371, blocks: 1}, nil},
		// The same with a CRC: 9 bytes of header at least.
		{"crc", []byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x3f, 0xfc}, adtsHeader{rate: 48000, channels: 1, length: 9, blocks: 1}, nil},
		{"crc too short", []byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x1f, 0xfc}, adtsHeader{}, ErrCorruptFrame},
		{"four blocks", []byte{0xff, 0xf1, 0x4c, 0x40, 0x20, 0x1f, 0xff}, adtsHeader{rate: 48000, channels: 1, length: 256, blocks: 4}, nil},
		{"reserved rate", []byte{0xff, 0xf1, 0x74, 0x80, 0x2e, 0x7f, 0xfc}, adtsHeader{}, ErrCorruptFrame},
		{"no sync", []byte{0xff, 0xe1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, adtsHeader{}, ErrCorruptFrame},
		{"layer set", []byte{0xff, 0xf3, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, adtsHeader{}, ErrCorruptFrame},
		{"short", []byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f}, adtsHeader{}, ErrCorruptFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseADTS(tc.hdr)
			if h != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("parseADTS = %+v, %v; want %+v, %v", h, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseMPEG(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  []byte
		want mpegHeader
		err  error
	}{
		// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding, joint stereo: 417 bytes.
		{"mpeg1", []byte{0xff, 0xfb, 0x90, 0x64}, mpegHeader{version: 1, layer: 3, rate: 44100, bitrate: 128, channels: 2, samples: 1152, length: 417}, nil},
		// The same padded, with a CRC.
		{"padded crc", []byte{0xff, 0xfa, 0x92, 0x64}, mpegHeader{version: 1, layer: 3, rate: 44100, bitrate: 128, channels: 2, samples: 1152, length: 418, crc: true}, nil},
		// MPEG-2 Layer III, 32 kbit/s, 22.05 kHz, mono: 104 bytes of 576 samples.
		{"mpeg2 mono", []byte{0xff, 0xf3, 0x40, 0xc4}, mpegHeader{version: 2, layer: 3, rate: 22050, bitrate: 32, channels: 1, samples: 576, length: 104}, nil},
		// MPEG-2.5, 8 kbit/s, 8 kHz.
		{"mpeg2.5", []byte{0xff, 0xe3, 0x18, 0xc4}, mpegHeader{version: 25, layer: 3, rate: 8000, bitrate: 8, channels: 1, samples: 576, length: 72}, nil},
		{"layer 2", []byte{0xff, 0xfd, 0x90, 0x64}, mpegHeader{version: 1, layer: 2, channels: 2}, nil},
		{"free format", []byte{0xff, 0xfb, 0x00, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"bad bit rate", []byte{0xff, 0xfb, 0xf0, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"reserved rate", []byte{0xff, 0xfb, 0x9c, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"reserved version", []byte{0xff, 0xeb, 0x90, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"reserved layer", []byte{0xff, 0xf9, 0x90, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"no sync", []byte{0xff, 0x7b, 0x90, 0x64}, mpegHeader{}, ErrCorruptFrame},
		{"short", []byte{0xff, 0xfb, 0x90}, mpegHeader{}, ErrCorruptFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseMPEG(tc.hdr)
			if h != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("parseMPEG = %+v, %v; want %+v, %v", h, err, tc.want, tc.err)
			}
		})
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
			h, err := parseMPEG(tc.frame)
			if err != nil || h.length != len(tc.frame) {
				t.Fatalf("parseMPEG = %+v, %v; frame of %d bytes", h, err, len(tc.frame))
			}
			if begin, size := h.mainDataBegin(tc.frame); begin != tc.begin || size != tc.size {
				t.Errorf("mainDataBegin = %d, %d; want %d, %d", begin, size, tc.begin, tc.size)
			}
		})
	}
}

// The test streams split into whole frames of the format they claim.
func TestSplitTestStreams(t *testing.T) {
	for name, want := range map[string]int{
		"sine440-44k-stereo.aac": 44100, "sine440-48k-mono.aac": 48000,
	} {
		for i, f := range adtsFrames(t, name) {
			if h, _ := parseADTS(f); h.rate != want || h.blocks != 1 {
				t.Fatalf("%s frame %d: %+v", name, i, h)
			}
		}
	}
	for name, want := range map[string]int{
		"sine440-44k-stereo.mp3": 44100, "sine440-24k-mono.mp3": 24000, "sine440-22k-mono-32k.mp3": 22050,
	} {
		for i, f := range mpegFrames(t, name) {
			if h, _ := parseMPEG(f); h.rate != want || h.layer != 3 {
				t.Fatalf("%s frame %d: %+v", name, i, h)
			}
		}
	}
}
