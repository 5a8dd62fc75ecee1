package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// testdata/sine-44k-mono.ogg, made by FFmpeg 5.1 and libvorbis 1.3.7:
//
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100 -t 2 -c:a libvorbis -q:a 0 -fflags +bitexact -flags:a +bitexact sine-44k-mono.ogg
//	ffmpeg -f lavfi -i sine=frequency=440:sample_rate=44100 -t 1 -ac 2 -c:a libvorbis -q:a 0 -fflags +bitexact -flags:a +bitexact sine-44k-stereo.ogg

// vorbisStream is a Vorbis file's audio packets as a transport hands them on: each
// with its Setup, timestamp (48 kHz, from the running total) and length.
type vorbisStream struct {
	setup []byte
	h     *audio.VorbisHeaders
	pkts  [][]byte
	ts    []int64 // 48 kHz samples from the first packet
	n     []int   // samples at the stream's rate
}

func loadVorbis(t testing.TB, name string) vorbisStream {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	links := readVorbisLinks(t, f)
	if len(links) != 1 {
		t.Fatalf("%s: %d links", name, len(links))
	}
	s := links[0]
	total, prev := 0, false
	for i, p := range s.pkts {
		long, err := s.h.PacketLong(p)
		if err != nil {
			t.Fatal(err)
		}
		n := s.h.Samples(prev, long)
		if i == 0 {
			n = 0
		}
		prev = long
		s.ts = append(s.ts, int64(total)*sampleRate/int64(s.h.Rate))
		s.n = append(s.n, n)
		total += n
	}
	return s
}

// readVorbisLinks reads every link of a chained Ogg Vorbis file, its packets and
// headers; a file cut off inside a page ends where it is cut.
func readVorbisLinks(t testing.TB, r io.Reader) []vorbisStream {
	t.Helper()
	br := bufio.NewReaderSize(r, 1<<16)
	var links []vorbisStream
	for {
		if _, err := br.Peek(1); err != nil {
			return links
		}
		or, err := audio.NewOggAudioReader(br)
		if err != nil || or.Vorbis() == nil {
			t.Fatalf("link %d: %v", len(links), err)
		}
		s := vorbisStream{setup: or.VorbisSetup(), h: or.Vorbis()}
		for {
			p, err := or.ReadPacket()
			if err != nil {
				break
			}
			s.pkts = append(s.pkts, p)
		}
		links = append(links, s)
	}
}

// TestVorbisTrack records a Vorbis stream as the transport hands it on: starting 0.1 s
// after the join, 20 packets lost in the middle; then the same stream under a new
// Setup whose comments differ (Icecast's new link for a new title); then, after 0.25 s
// of nothing, another stream (stereo: other headers). The track is an Ogg Vorbis file of two links
// (the new title goes on in the first) that ffprobe reads and FFmpeg decodes to the
// recording's length, silent (zeros) where the timeline had no audio and the tone
// elsewhere; it holds every packet received, byte for byte and in order, but the
// first of a stream that begins with silence or goes on in a link. A copy taken
// mid-way, as kill -9 would leave it, plays to where it was taken.
func TestVorbisTrack(t *testing.T) {
	needTool(t, "ffmpeg")
	s := loadVorbis(t, "sine-44k-mono.ogg")
	retitled := s
	id, _, setup, err := audio.SplitVorbisSetup(s.setup)
	if err != nil {
		t.Fatal(err)
	}
	w := &lsbComment{}
	retitled.setup = audio.PackVorbisSetup(id, w.comment("spacetui test", "TITLE=Second"), setup)
	other := loadVorbis(t, "sine-44k-stereo.ogg")
	clock := newClock()
	r, err := Open(Options{Dir: t.TempDir(), Force: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Event(transport.State{State: transport.StateLive})
	start := clock.Now()
	var seq uint32
	var sent [][]byte
	send := func(s vorbisStream, i int, base int64) {
		at := start.Add(samplesTime(base + s.ts[i]))
		if at.After(clock.Now()) {
			clock.Advance(at.Sub(clock.Now()))
		}
		seq++
		r.Event(transport.AudioFrame{Speaker: "radio", Codec: transport.CodecVorbis, Seq: seq, Timestamp: uint32(base + s.ts[i]),
			Duration: time.Duration(s.n[i]) * time.Second / time.Duration(s.h.Rate), Payload: s.pkts[i], Setup: s.setup})
		sent = append(sent, s.pkts[i])
	}
	end := func(s vorbisStream, base int64) int64 {
		last := len(s.pkts) - 1
		return base + s.ts[last] + int64(s.n[last])*sampleRate/int64(s.h.Rate)
	}
	const lost0, lost1 = 40, 60
	baseA := int64(sampleRate / 10)
	for i := range s.pkts {
		if i < lost0 || i >= lost1 {
			send(s, i, baseA)
		}
	}
	endA := end(s, baseA)
	r.sync()
	time.Sleep(3 * flushEvery) // real time: the flusher runs on wall time
	r.sync()
	killed := filepath.Join(t.TempDir(), "killed.ogg")
	b, err := os.ReadFile(filepath.Join(r.Dir(), "tracks/radio.ogg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(killed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	left := len(sent) // the retitled stream's first packet is left out
	baseB := endA
	for i := range retitled.pkts {
		send(retitled, i, baseB)
	}
	endB := end(retitled, baseB)
	baseC := endB + sampleRate/4
	for i := range other.pkts {
		send(other, i, baseC)
	}
	endC := end(other, baseC)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Dir(), "tracks/radio.ogg")

	// A packet of 2048 samples at 44.1 kHz is 2229 at 48 kHz: the slack of silence
	// written to the nearest packet, of the last packet's second half, and of a packet
	// left out.
	const slack = 2229
	for _, tc := range []struct {
		name string
		path string
		end  int64
	}{{"killed after the first stream", killed, endA}, {"closed", path, endC}} {
		d := ffprobeDuration(t, tc.path)
		n := len(ffmpegAt48(t, tc.path))
		t.Logf("%s: ffprobe %.3f s, decoded %d samples; want %.3f s", tc.name, d, n, float64(tc.end)/sampleRate)
		if math.Abs(d*sampleRate-float64(tc.end)) > 2*slack || math.Abs(float64(int64(n)-tc.end)) > 2*slack {
			t.Errorf("%s: ffprobe says %.3f s, FFmpeg decodes %d samples; want %.3f s", tc.name, d, n, float64(tc.end)/sampleRate)
		}
	}
	pcm := ffmpegAt48(t, path)
	for _, span := range []struct {
		name     string
		from, to int64 // 48 kHz
		silent   bool
	}{
		{"before the stream", 0, baseA, true},
		{"the first part", baseA + s.ts[2], baseA + s.ts[lost0-1], false},
		{"the loss", baseA + s.ts[lost0], baseA + s.ts[lost1], true},
		{"after the loss", baseA + s.ts[lost1+2], endA, false},
		{"the new title", baseB + s.ts[2], baseB + s.ts[len(s.ts)-2], false},
		{"between the streams", endB, baseC, true},
		{"the other stream", baseC + other.ts[2], baseC + other.ts[len(other.ts)-2], false},
	} {
		// Leave out, at each end, half a long block (the overlap with the neighbour) and
		// half a silent packet (silence is written to the nearest packet): 1672 samples
		// at 48 kHz, and a little more.
		const margin = 2000
		from, to := span.from+margin, span.to-margin
		peak, rms := levels(pcm[from:to])
		if span.silent && peak != 0 || !span.silent && rms < 2000 {
			t.Errorf("%s (%d to %d): peak %d, rms %.0f; want %s", span.name, from, to, peak, rms, map[bool]string{true: "zeros", false: "the tone"}[span.silent])
		}
	}

	// The packets received are in the file as they were, in order, among silent ones,
	// but the first stream's first (it began with silence) and the retitled stream's
	// first (it went on in the link).
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	links := readVorbisLinks(t, f)
	if len(links) != 2 || !bytes.Equal(links[0].setup, s.setup) || !bytes.Equal(links[1].setup, other.setup) {
		t.Fatalf("%d links, want 2: the first stream's headers, then the other's", len(links))
	}
	var silent [][]byte
	for _, l := range links {
		silent = append(silent, l.h.SilentPacket(false), l.h.SilentPacket(true))
	}
	var audioPkts [][]byte
	for _, l := range links {
		for _, p := range l.pkts {
			if !slices.ContainsFunc(silent, func(q []byte) bool { return bytes.Equal(p, q) }) {
				audioPkts = append(audioPkts, p)
			}
		}
	}
	want := slices.Concat(sent[1:left], sent[left+1:])
	if !slices.EqualFunc(audioPkts, want, bytes.Equal) {
		t.Errorf("%d audio packets in the file, want the %d received less two, byte for byte", len(audioPkts), len(want))
	}
}

// lsbComment builds a Vorbis comment header.
type lsbComment struct{}

func (lsbComment) comment(vendor string, comments ...string) []byte {
	b := []byte("\x03vorbis")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vendor)))
	b = append(b, vendor...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(comments)))
	for _, c := range comments {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return append(b, 1)
}

// ffmpegAt48 decodes path with FFmpeg to 48 kHz mono, as the recording's timeline counts.
func ffmpegAt48(t testing.TB, path string) []int16 {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-ar", "48000", "-ac", "1", "-f", "s16le", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, stderr.String())
	}
	pcm := make([]int16, len(out)/2)
	if err := binary.Read(bytes.NewReader(out), binary.LittleEndian, pcm); err != nil {
		t.Fatal(err)
	}
	return pcm
}
