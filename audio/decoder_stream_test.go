package audio

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// streamFile is one of the test streams (see frameheader_test.go for how they were
// made): a second of a 440 Hz sine.
type streamFile struct {
	name    string
	codec   transport.Codec
	rate    int // Hz
	samples int // per frame, at rate
}

var streamFiles = []streamFile{
	{"sine440-44k-stereo.aac", transport.CodecAAC, 44100, 1024},
	{"sine440-48k-mono.aac", transport.CodecAAC, 48000, 1024},
	{"sine440-44k-stereo.mp3", transport.CodecMP3, 44100, 1152},
	{"sine440-24k-mono.mp3", transport.CodecMP3, 24000, 576},
}

func (f streamFile) frames(t testing.TB) [][]byte {
	if f.codec == transport.CodecAAC {
		return adtsFrames(t, f.name)
	}
	return mpegFrames(t, f.name)
}

// at48k is how many 48 kHz samples n samples of the stream last.
func (f streamFile) at48k(n int) float64 { return float64(n) * SampleRate / float64(f.rate) }

func newFrameDecoder(t testing.TB, codec transport.Codec) FrameDecoder {
	t.Helper()
	d, err := NewFrameDecoder(codec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tone measures a decoded test tone: its length from the first sample above the noise
// to the last, its frequency from the zero crossings in between, its level, and the
// largest step between neighbouring samples, which a seam between packets would show.
type tone struct {
	length  int
	freq    float64
	level   float64
	maxStep int
}

func measureTone(pcm []int16) tone {
	const floor = 1000 // the test tone peaks at 4096
	first := slices.IndexFunc(pcm, func(v int16) bool { return v > floor || v < -floor })
	if first < 0 {
		return tone{}
	}
	last := len(pcm) - 1
	for pcm[last] <= floor && pcm[last] >= -floor {
		last--
	}
	var tn tone
	crossings := 0
	for i := first + 1; i <= last; i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
		tn.maxStep = max(tn.maxStep, int(math.Abs(float64(pcm[i])-float64(pcm[i-1]))))
	}
	tn.length = last - first + 1
	tn.freq = float64(crossings) / 2 / (float64(last-first) / SampleRate)
	tn.level = Level(pcm[first : last+1])
	return tn
}

// checkTone fails t unless pcm is the test tone at 48 kHz, about want samples long.
func checkTone(t *testing.T, pcm []int16, want, slack int) {
	t.Helper()
	tn := measureTone(pcm)
	// A 440 Hz sine that peaks at 4096 moves at most 2π·440/48000·4096 = 236 a sample.
	if math.Abs(tn.freq-440) > 1 || tn.level < 0.5 || tn.maxStep > 300 || tn.length < want-slack || tn.length > want+slack {
		t.Errorf("tone %+v; want 440 Hz, level above 0.5, steps up to 300, %d±%d samples long", tn, want, slack)
	}
}

// The test streams decode, frame by frame as a transport delivers them, to their tone
// at 48 kHz mono: the right pitch, length and level, every frame as long as its
// samples last at 48 kHz, and no seams.
func TestStreamDecodersPlayATone(t *testing.T) {
	for _, f := range streamFiles {
		t.Run(f.name, func(t *testing.T) {
			frames := f.frames(t)
			d := newFrameDecoder(t, f.codec)
			pcm := make([]int16, decodeSamples)
			var out []int16
			for i, fr := range frames {
				n, err := d.Decode(fr, pcm)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if want := f.at48k(f.samples); math.Abs(float64(n)-want) >= 1 {
					t.Fatalf("frame %d: %d samples, want %.1f", i, n, want)
				}
				out = append(out, pcm[:n]...)
			}
			if want := math.Ceil(f.at48k(len(frames) * f.samples)); float64(len(out)) != want {
				t.Errorf("%d samples from %d frames, want %.0f", len(out), len(frames), want)
			}
			// The tone is a second long; the encoder's delay and padding lie outside it.
			checkTone(t, out, SampleRate, int(f.at48k(f.samples)))
		})
	}
}

// A corrupt frame in the middle is an error for that frame only: the audio after it is
// the tone again. (An MP3 frame after a gap may lean on the missing one's bytes; those
// frames are silent, and the tone is back within 4 frames.) The corruption is one the
// decoder can notice: AAC's syntax catches most, while MP3 has nothing to check its
// audio data against but bounds, here a side information of all ones. Garbage may read
// as a feature the decoder does not take, so either error will do.
func TestStreamDecodersSurviveACorruptFrame(t *testing.T) {
	for _, f := range streamFiles {
		t.Run(f.name, func(t *testing.T) {
			frames := f.frames(t)
			const bad = 20
			frames[bad] = slices.Clone(frames[bad])
			if f.codec == transport.CodecAAC {
				for i := 7; i < len(frames[bad]); i++ {
					frames[bad][i] ^= 0x5a
				}
			} else {
				h, _ := ParseMPEG(frames[bad])
				start, size := h.sideInfo()
				for i := start; i < start+size; i++ {
					frames[bad][i] = 0xff
				}
			}
			d := newFrameDecoder(t, f.codec)
			pcm := make([]int16, decodeSamples)
			var after []int16
			for i, fr := range frames {
				n, err := d.Decode(fr, pcm)
				switch {
				case i == bad:
					if !errors.Is(err, ErrCorruptFrame) && !errors.Is(err, ErrUnsupportedCodec) {
						t.Fatalf("corrupt frame %d: %d samples, %v; want an error", i, n, err)
					}
					if err := d.Conceal(nil, pcm[:n]); err != nil {
						t.Fatal(err)
					}
				case err != nil:
					t.Fatalf("frame %d: %v", i, err)
				case i > bad+4 && i < len(frames)-2:
					after = append(after, pcm[:n]...)
				}
			}
			checkTone(t, after, len(after), 0)
		})
	}
}

// heAACFrame is an ADTS frame of HE-AAC as go-aac sees it: LC at 24 kHz whose raw data
// block is a fill element carrying SBR data (extension type 13).
var heAACFrame = []byte{0xff, 0xf1, 0x58, 0x40, 0x01, 0x7f, 0xfc, 0xc5, 0xa0, 0x01, 0xc0}

// A well-formed stream the decoder does not take is ErrUnsupportedCodec, not corrupt,
// and a good frame after it decodes.
func TestStreamDecodersRefuseWhatTheyDoNotDecode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec transport.Codec
		pkt   []byte
		good  string
	}{
		{"HE-AAC", transport.CodecAAC, heAACFrame, "sine440-48k-mono.aac"},
		// 5.1 (channel configuration 6) and four raw data blocks in one frame.
		{"AAC 5.1", transport.CodecAAC, []byte{0xff, 0xf1, 0x4d, 0x80, 0x01, 0x7f, 0xfc, 0, 0, 0, 0}, "sine440-48k-mono.aac"},
		{"AAC blocks", transport.CodecAAC, []byte{0xff, 0xf1, 0x4c, 0x40, 0x01, 0x7f, 0xff, 0, 0, 0, 0}, "sine440-48k-mono.aac"},
		{"MP3 Layer II", transport.CodecMP3, append([]byte{0xff, 0xfd, 0x90, 0x64}, make([]byte, 413)...), "sine440-44k-stereo.mp3"},
		{"MPEG-2.5", transport.CodecMP3, append([]byte{0xff, 0xe3, 0x18, 0xc4}, make([]byte, 68)...), "sine440-44k-stereo.mp3"},
		{"MPEG-2 go-mp3 garbles", transport.CodecMP3, mpegFrames(t, "sine440-22k-mono-32k.mp3")[3], "sine440-44k-stereo.mp3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFrameDecoder(t, tc.codec)
			pcm := make([]int16, decodeSamples)
			if n, err := d.Decode(tc.pkt, pcm); !errors.Is(err, ErrUnsupportedCodec) {
				t.Errorf("Decode = %d, %v; want ErrUnsupportedCodec", n, err)
			}
			f := streamFile{name: tc.good, codec: tc.codec}
			if n, err := d.Decode(f.frames(t)[10], pcm); err != nil || n == 0 {
				t.Errorf("a good frame after it: %d, %v", n, err)
			}
		})
	}
}

// Every frame of an MPEG-2 stream that go-mp3 would garble is refused, not only the
// padded ones it reads short.
func TestMP3RefusesAStreamGoMP3Garbles(t *testing.T) {
	d := newFrameDecoder(t, transport.CodecMP3)
	pcm := make([]int16, decodeSamples)
	for i, fr := range mpegFrames(t, "sine440-22k-mono-32k.mp3") {
		if n, err := d.Decode(fr, pcm); !errors.Is(err, ErrUnsupportedCodec) {
			t.Fatalf("frame %d: %d samples, %v; want ErrUnsupportedCodec", i, n, err)
		}
	}
}

// goMP3PanicFrame is a frame of sine440-24k-mono.mp3 with three bits flipped in its side
// information, on which go-mp3 v0.3.4 panics (an index out of range in its MPEG-2 scale
// factors).
var goMP3PanicFrame = []byte{0xff, 0xf3, 0x44, 0xc4, 0x9, 0x14, 0xe9, 0x3e, 0x84, 0x57, 0xbb, 0x68, 0x0, 0xc5, 0x9e, 0xdd,
	0x4f, 0xba, 0x61, 0x6a, 0x47, 0x6c, 0x54, 0x30, 0x5a, 0x78, 0x60, 0xc0, 0xd2, 0xa3, 0xbe, 0x2b, 0x32, 0x50, 0xc2, 0xdb,
	0x3d, 0xbd, 0x7c, 0xf8, 0x13, 0x50, 0x5a, 0xc2, 0x7b, 0xf8, 0xee, 0x18, 0x61, 0x86, 0x24, 0xff, 0x8e, 0x51, 0xc2, 0x64,
	0x3d, 0x87, 0xb7, 0xfe, 0x62, 0x5d, 0x2e, 0x99, 0x17, 0x8b, 0xdf, 0xfe, 0x62, 0x5d, 0x2e, 0xa4, 0x91, 0x92, 0x3f, 0xc1,
	0x51, 0x10, 0x54, 0x15, 0xff, 0x96, 0xa, 0x82, 0xa2, 0x23, 0xc0, 0xad, 0x60, 0x4e, 0x33, 0xbe, 0x60, 0x1, 0x0, 0x22}

// A frame that makes go-mp3 panic is a corrupt frame like any other, and the stream
// decodes on after it.
func TestMP3SurvivesAPanicOfGoMP3(t *testing.T) {
	f := streamFiles[3]
	frames := f.frames(t)
	d := newFrameDecoder(t, f.codec)
	pcm := make([]int16, decodeSamples)
	for _, fr := range frames[:10] {
		if _, err := d.Decode(fr, pcm); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.Decode(goMP3PanicFrame, pcm); !errors.Is(err, ErrCorruptFrame) {
		t.Fatalf("Decode = %d, %v; want ErrCorruptFrame", n, err)
	}
	for i, fr := range frames[10:] {
		if _, err := d.Decode(fr, pcm); err != nil {
			t.Fatalf("frame %d after: %v", i, err)
		}
	}
}

// After a break in an MP3 stream (joining it mid-way, as every Icecast listener does, or
// a frame that failed), the first frames take part of their audio from frames the
// decoder never had: they play as silence, not noise, and the tone follows.
func TestMP3SilencesFramesAfterABreak(t *testing.T) {
	f := streamFiles[2]
	frames := f.frames(t)
	const brk = 10
	corrupt := slices.Clone(frames[brk])
	h, _ := ParseMPEG(corrupt)
	start, size := h.sideInfo()
	for i := start; i < start+size; i++ {
		corrupt[i] = 0xff
	}
	for _, tc := range []struct {
		name   string
		before [][]byte // decoded before the break
	}{
		{"join", nil},
		{"corrupt frame", append(slices.Clone(frames[:brk]), corrupt)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFrameDecoder(t, f.codec)
			pcm := make([]int16, decodeSamples)
			for _, fr := range tc.before {
				d.Decode(fr, pcm) // the corrupt one fails; nothing is concealed
			}
			silent := 0
			var after []int16
			for i, fr := range frames[brk+1 : len(frames)-2] {
				n, err := d.Decode(fr, pcm)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case !slices.ContainsFunc(pcm[2:n], func(v int16) bool { return v != 0 }): // past the step down from the sound before the break
					if silent != i {
						t.Fatalf("frame %d after the break is silent, after sound", i)
					}
					silent++
				case i > silent: // the first frame with sound starts from the state the silent ones left
					after = append(after, pcm[:n]...)
				}
			}
			// The test stream's frames reach about 500 bytes back, three frames of 173.
			if silent != 3 {
				t.Errorf("%d silent frames after the break, want 3", silent)
			}
			checkTone(t, after, len(after), 0)
		})
	}
}

// A stream that changes its rate or channels (an HLS variant switch) goes on decoding:
// go-aac, which refuses a change mid-stream, is reset for it.
func TestAACFollowsAChangeOfFormat(t *testing.T) {
	d := newFrameDecoder(t, transport.CodecAAC)
	pcm := make([]int16, decodeSamples)
	var out []int16
	for _, f := range []streamFile{streamFiles[0], streamFiles[1], streamFiles[0]} {
		for i, fr := range f.frames(t)[5:40] {
			n, err := d.Decode(fr, pcm)
			if err != nil {
				t.Fatalf("%s frame %d: %v", f.name, i, err)
			}
			out = append(out, pcm[:n]...)
		}
	}
	if tn := measureTone(out); tn.level < 0.5 || tn.freq < 439 || tn.freq > 441 {
		t.Errorf("tone %+v", tn)
	}
}

// A packet is one frame: bytes after it (the start of the next, from a sloppy
// splitter) are ignored and do not leak into the next frame.
func TestStreamDecodersIgnoreBytesAfterTheFrame(t *testing.T) {
	for _, f := range streamFiles {
		t.Run(f.name, func(t *testing.T) {
			frames := f.frames(t)
			clean, sloppy := newFrameDecoder(t, f.codec), newFrameDecoder(t, f.codec)
			want, got := make([]int16, decodeSamples), make([]int16, decodeSamples)
			for i, fr := range frames[:len(frames)-1] {
				n, err := clean.Decode(fr, want)
				if err != nil {
					t.Fatal(err)
				}
				next := frames[i+1]
				m, err := sloppy.Decode(append(slices.Clone(fr), next[:min(50, len(next))]...), got)
				if err != nil || !slices.Equal(got[:m], want[:n]) {
					t.Fatalf("frame %d with 50 bytes more: %d samples, %v; differs from the frame alone", i, m, err)
				}
			}
		})
	}
}

// Reset starts a new stream: the same frames decode as from a new decoder.
func TestStreamDecodersReset(t *testing.T) {
	for _, f := range streamFiles {
		t.Run(f.name, func(t *testing.T) {
			frames := f.frames(t)
			decode := func(d FrameDecoder) []int16 {
				var out []int16
				pcm := make([]int16, decodeSamples)
				for _, fr := range frames {
					n, err := d.Decode(fr, pcm)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, pcm[:n]...)
				}
				return out
			}
			d := newFrameDecoder(t, f.codec)
			first := decode(d)
			if err := d.Reset(); err != nil {
				t.Fatal(err)
			}
			if again := decode(d); !slices.Equal(again, first) {
				t.Error("after Reset the stream decodes differently")
			}
		})
	}
}

// fuzzStreamDecoder feeds arbitrary packets to one decoder of codec, seeded with real
// frames: it must never panic or hang, must class every error, and must decode a good
// frame again at most one frame later.
func fuzzStreamDecoder(f *testing.F, file streamFile, seeds ...[]byte) {
	frames := file.frames(f)
	for _, fr := range frames[:3] {
		f.Add(fr)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	d := newFrameDecoder(f, file.codec)
	pcm := make([]int16, decodeSamples)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		n, err := d.Decode(pkt, pcm)
		switch {
		case err == nil && (n <= 0 || n > len(pcm)):
			t.Fatalf("decoded %d samples", n)
		case err != nil && !errors.Is(err, ErrCorruptFrame) && !errors.Is(err, ErrUnsupportedCodec):
			t.Fatalf("unclassed error %v", err)
		case err != nil:
			if err := d.Conceal(nil, pcm[:FrameSamples]); err != nil {
				t.Fatal(err)
			}
		}
		d.Decode(frames[10], pcm) // may fail: its predecessor was the fuzzer's
		if _, err := d.Decode(frames[11], pcm); err != nil {
			t.Fatalf("a good frame after %x: %v", pkt, err)
		}
	})
}

func FuzzAACDecoder(f *testing.F) {
	fuzzStreamDecoder(f, streamFiles[0], heAACFrame, []byte{0xff, 0xf1, 0x4c, 0x40, 0x01, 0x7f, 0xfc, 0x21, 0x10, 0x05})
}

func FuzzMP3Decoder(f *testing.F) {
	fuzzStreamDecoder(f, streamFiles[2], mpegFrames(f, "sine440-24k-mono.mp3")[5], goMP3PanicFrame, append([]byte{0xff, 0xfb, 0x10, 0xc4}, make([]byte, 100)...))
}

// benchmarkDecode decodes the frames of file round and round, one frame per op.
func benchmarkDecode(b *testing.B, file streamFile) {
	frames := file.frames(b)
	d := newFrameDecoder(b, file.codec)
	pcm := make([]int16, decodeSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(frames[i%len(frames)], pcm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAAC decodes one frame of 44.1 kHz stereo AAC-LC at 64 kbit/s (23.2 ms)
// to 48 kHz mono.
func BenchmarkDecodeAAC(b *testing.B) { benchmarkDecode(b, streamFiles[0]) }

// BenchmarkDecodeMP3 decodes one frame of 44.1 kHz stereo MP3 at 64 kbit/s (26.1 ms) to
// 48 kHz mono.
func BenchmarkDecodeMP3(b *testing.B) { benchmarkDecode(b, streamFiles[2]) }
