package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// The Vorbis files in testdata were made with FFmpeg 5.1 and libvorbis 1.3.7:
//
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000 -t 1 -ac 2 -c:a libvorbis -q:a 0 -fflags +bitexact -flags:a +bitexact sine440-48k-stereo.ogg
//	ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=44100 -t 2 -c:a libvorbis -q:a 2 -fflags +bitexact -flags:a +bitexact sine1k-44k-mono.ogg

// vorbisFile is a Vorbis file of testdata as a transport hands it on: its Setup, and its
// audio packets.
type vorbisFile struct {
	setup []byte
	h     *VorbisHeaders
	pkts  [][]byte
}

func readVorbisFile(t testing.TB, name string) vorbisFile {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewOggAudioReader(f)
	if err != nil {
		t.Fatal(err)
	}
	vf := vorbisFile{setup: r.VorbisSetup(), h: r.Vorbis()}
	if vf.h == nil {
		t.Fatalf("%s: not Vorbis", name)
	}
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			return vf
		}
		if err != nil {
			t.Fatal(err)
		}
		vf.pkts = append(vf.pkts, p)
	}
}

// decode decodes pkts with d, each with setup, and returns the output.
func (vf vorbisFile) decode(t testing.TB, d FrameDecoder, pkts [][]byte) []int16 {
	t.Helper()
	pcm := make([]int16, decodeSamples)
	var out []int16
	for i, p := range pkts {
		d.(SetupDecoder).SetSetup(vf.setup)
		n, err := d.Decode(p, pcm)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		out = append(out, pcm[:n]...)
	}
	return out
}

// Each packet decodes to as many 48 kHz samples as its blocks say (the first to none),
// and the whole to the test tone, mixed down from stereo.
func TestVorbisDecoderPlaysATone(t *testing.T) {
	vf := readVorbisFile(t, "sine440-48k-stereo.ogg")
	d := newFrameDecoder(t, transport.CodecVorbis)
	pcm := make([]int16, decodeSamples)
	var out []int16
	prev := false
	for i, p := range vf.pkts {
		long, err := vf.h.PacketLong(p)
		if err != nil {
			t.Fatal(err)
		}
		want := vf.h.Samples(prev, long)
		if i == 0 {
			want = 0
		}
		prev = long
		d.(SetupDecoder).SetSetup(vf.setup)
		n, err := d.Decode(p, pcm)
		if err != nil || n != want {
			t.Fatalf("packet %d: %d samples, %v; want %d", i, n, err, want)
		}
		out = append(out, pcm[:n]...)
	}
	checkTone(t, out, SampleRate, 1024)
}

// The decoder's output at 48 kHz follows FFmpeg's decode of the same 44.1 kHz file,
// resampled by FFmpeg: a correlation of at least 0.99 at the best lag within 2 ms, and a
// signal-to-noise ratio, the difference taken for noise, of at least 20 dB.
func TestVorbisDecoderMatchesFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed; CI installs it")
	}
	const name = "sine1k-44k-mono.ogg"
	vf := readVorbisFile(t, name)
	got := vf.decode(t, newFrameDecoder(t, transport.CodecVorbis), vf.pkts)
	raw, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", filepath.Join("testdata", name),
		"-ar", "48000", "-ac", "1", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int16, len(raw)/2)
	binary.Read(bytes.NewReader(raw), binary.LittleEndian, want)
	// 2 s less what FFmpeg trims at the end (the last page's granule position).
	if len(got) < 2*SampleRate || len(want) < 2*SampleRate-100 {
		t.Fatalf("%d samples decoded, FFmpeg %d; want 2 s", len(got), len(want))
	}
	best, bestLag := -1.0, 0
	for lag := -96; lag <= 96; lag++ {
		if c := correlate(got, want, lag); c > best {
			best, bestLag = c, lag
		}
	}
	snr := snrAt(got, want, bestLag)
	t.Logf("correlation %.4f at a lag of %d samples, SNR %.1f dB", best, bestLag, snr)
	if best < 0.99 || snr < 20 {
		t.Errorf("correlation %.4f, SNR %.1f dB; want 0.99 and 20 dB", best, snr)
	}
}

// overlap returns the samples of a and b that line up when b is shifted by lag, less a
// margin at each end.
func overlap(a, b []int16, lag int) ([]int16, []int16) {
	const margin = 2400
	n := min(len(a), len(b)) - 2*margin - abs(lag)
	start := margin + max(lag, 0)
	return a[start : start+n], b[start-lag : start-lag+n]
}

func correlate(a, b []int16, lag int) float64 {
	x, y := overlap(a, b, lag)
	var xy, xx, yy float64
	for i := range x {
		xy += float64(x[i]) * float64(y[i])
		xx += float64(x[i]) * float64(x[i])
		yy += float64(y[i]) * float64(y[i])
	}
	return xy / math.Sqrt(xx*yy)
}

func snrAt(a, b []int16, lag int) float64 {
	x, y := overlap(a, b, lag)
	var sig, noise float64
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		sig += float64(y[i]) * float64(y[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

func abs(v int) int { return max(v, -v) }

// A new Setup (the next link of a chained stream) sets the decoder up anew, for a stream
// of another rate and layout too; the same Setup bytes in a new slice are a new stream.
func TestVorbisDecoderFollowsANewSetup(t *testing.T) {
	a, b := readVorbisFile(t, "sine440-48k-stereo.ogg"), readVorbisFile(t, "sine1k-44k-mono.ogg")
	d := newFrameDecoder(t, transport.CodecVorbis)
	a.decode(t, d, a.pkts[:20])
	out := b.decode(t, d, b.pkts[:40])
	if tn := measureTone(out[4800:]); math.Abs(tn.freq-1000) > 2 {
		t.Errorf("after the new Setup: tone %+v, want 1000 Hz", tn)
	}
	again := a
	again.setup = slices.Clone(a.setup)
	pcm := make([]int16, decodeSamples)
	d.(SetupDecoder).SetSetup(again.setup)
	if n, err := d.Decode(a.pkts[20], pcm); n != 0 || err != nil {
		t.Errorf("the first packet after a new Setup slice: %d samples, %v; want 0 (a new stream)", n, err)
	}
}

// A frame without a Setup, or with one that does not parse, is ErrUnsupportedCodec; a
// corrupt packet is ErrCorruptFrame, and the packets after it decode.
func TestVorbisDecoderRefusesWhatItCannotDecode(t *testing.T) {
	vf := readVorbisFile(t, "sine440-48k-stereo.ogg")
	pcm := make([]int16, decodeSamples)
	id, comment, setup, err := SplitVorbisSetup(vf.setup)
	if err != nil {
		t.Fatal(err)
	}
	cut := PackVorbisSetup(id, comment, setup[:len(setup)/2])
	for _, tc := range []struct {
		name  string
		setup []byte
	}{{"no setup", nil}, {"not laced", []byte{1, 2, 3}}, {"setup cut short", cut}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFrameDecoder(t, transport.CodecVorbis)
			d.(SetupDecoder).SetSetup(tc.setup)
			if n, err := d.Decode(vf.pkts[5], pcm); !errors.Is(err, ErrUnsupportedCodec) {
				t.Errorf("Decode = %d, %v; want ErrUnsupportedCodec", n, err)
			}
		})
	}
	t.Run("corrupt packet", func(t *testing.T) {
		d := newFrameDecoder(t, transport.CodecVorbis)
		vf.decode(t, d, vf.pkts[:10])
		for _, bad := range [][]byte{{}, {1, 2, 3}} { // empty, and a header's type
			d.(SetupDecoder).SetSetup(vf.setup)
			if n, err := d.Decode(bad, pcm); !errors.Is(err, ErrCorruptFrame) {
				t.Errorf("Decode(%x) = %d, %v; want ErrCorruptFrame", bad, n, err)
			}
		}
		// Vorbis has nothing to check its audio data against: garbage of a valid mode
		// decodes to noise, and only the packet after it suffers.
		d.(SetupDecoder).SetSetup(vf.setup)
		d.Decode(bytes.Repeat([]byte{0xfe}, 300), pcm)
		out := vf.decode(t, d, vf.pkts[10:40])
		if tn := measureTone(out); math.Abs(tn.freq-440) > 2 || tn.level < 0.5 {
			t.Errorf("after the corrupt packets: tone %+v", tn)
		}
	})
}

// Reset starts a new stream: the same packets decode as from a new decoder.
func TestVorbisDecoderReset(t *testing.T) {
	vf := readVorbisFile(t, "sine1k-44k-mono.ogg")
	d := newFrameDecoder(t, transport.CodecVorbis)
	first := vf.decode(t, d, vf.pkts)
	if err := d.Reset(); err != nil {
		t.Fatal(err)
	}
	if again := vf.decode(t, d, vf.pkts); !slices.Equal(again, first) {
		t.Error("after Reset the stream decodes differently")
	}
}

func FuzzVorbisDecoder(f *testing.F) {
	vf := readVorbisFile(f, "sine440-48k-stereo.ogg")
	for _, p := range vf.pkts[:3] {
		f.Add(p)
	}
	f.Add([]byte{0})
	d := newFrameDecoder(f, transport.CodecVorbis)
	pcm := make([]int16, decodeSamples)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d.(SetupDecoder).SetSetup(vf.setup)
		n, err := d.Decode(pkt, pcm)
		switch {
		case err == nil && (n < 0 || n > len(pcm)):
			t.Fatalf("decoded %d samples", n)
		case err != nil && !errors.Is(err, ErrCorruptFrame):
			t.Fatalf("unclassed error %v", err)
		}
		d.Decode(vf.pkts[10], pcm) // may yield nothing: its predecessor was the fuzzer's
		if n, err := d.Decode(vf.pkts[11], pcm); err != nil || n == 0 {
			t.Fatalf("a good packet after %x: %d, %v", pkt, n, err)
		}
	})
}

// BenchmarkDecodeVorbis decodes one packet of 44.1 kHz mono Vorbis of quality 2 (a
// tone: 26 kbit/s, long blocks of 2048 samples, 23.2 ms a packet) to 48 kHz.
func BenchmarkDecodeVorbis(b *testing.B) {
	vf := readVorbisFile(b, "sine1k-44k-mono.ogg")
	d := newFrameDecoder(b, transport.CodecVorbis)
	pcm := make([]int16, decodeSamples)
	sd := d.(SetupDecoder)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sd.SetSetup(vf.setup)
		if _, err := d.Decode(vf.pkts[i%len(vf.pkts)], pcm); err != nil {
			b.Fatal(err)
		}
	}
}
