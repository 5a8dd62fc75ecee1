package audio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testPackets returns a mix of valid Opus packets: silence, mid-sized frames, and one
// 120 ms code 3 packet of 61 kB that cannot share a page and spans lacing boundaries.
func testPackets() [][]byte {
	var pkts [][]byte
	for i := 0; i < 120; i++ {
		switch {
		case i == 60:
			big := []byte{16<<3 | 3, 48} // CELT 2.5 ms, code 3 CBR, 48 frames
			big = append(big, bytes.Repeat([]byte{byte(i)}, 48*1275)...)
			pkts = append(pkts, big)
		case i%3 == 0:
			pkts = append(pkts, SilencePacket())
		default:
			p := make([]byte, 1+(i*37)%600)
			p[0] = 31 << 3 // CELT FB 20 ms, one frame
			for j := 1; j < len(p); j++ {
				p[j] = byte(i + j)
			}
			pkts = append(pkts, p)
		}
	}
	return pkts
}

func writeOgg(t testing.TB, pkts [][]byte, opts OggOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewOggWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// page is one Ogg page as the tests see it.
type page struct {
	flags   byte
	granule uint64
	seq     uint32
	segs    int
}

// pages splits an Ogg file into pages without the reader under test.
func pages(t *testing.T, b []byte) []page {
	t.Helper()
	var ps []page
	for len(b) > 0 {
		if len(b) < oggHeaderLen || string(b[:4]) != "OggS" {
			t.Fatalf("no page at %d bytes from the end", len(b))
		}
		n := int(b[26])
		size := oggHeaderLen + n
		for _, s := range b[oggHeaderLen : oggHeaderLen+n] {
			size += int(s)
		}
		ps = append(ps, page{flags: b[5], granule: binary.LittleEndian.Uint64(b[6:]), seq: binary.LittleEndian.Uint32(b[18:]), segs: n})
		b = b[size:]
	}
	return ps
}

func TestOggRoundTrip(t *testing.T) {
	pkts := testPackets()
	comments := []string{"TITLE=Keeping rooms alive", "ARTIST=Ada", "DATE=2026-11-27"}
	data := writeOgg(t, pkts, OggOptions{Comments: comments, Serial: 42})

	r, err := NewOggReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Head(); h.Channels != 1 || h.PreSkip != DefaultPreSkip || h.InputRate != SampleRate || h.Version != 1 {
		t.Errorf("head = %+v", h)
	}
	if r.Vendor() != OggVendor || strings.Join(r.Comments(), "|") != strings.Join(comments, "|") {
		t.Errorf("tags = %q %q", r.Vendor(), r.Comments())
	}
	var total uint64
	for i := 0; ; i++ {
		p, err := r.ReadPacket()
		if err == io.EOF {
			if i != len(pkts) {
				t.Fatalf("read %d packets, wrote %d", i, len(pkts))
			}
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(p, pkts[i]) {
			t.Fatalf("packet %d differs: %d bytes, want %d", i, len(p), len(pkts[i]))
		}
		n, _ := PacketSamples(p)
		total += uint64(n)
	}
	if r.Granule() != total {
		t.Errorf("final granule %d, want %d", r.Granule(), total)
	}

	ps := pages(t, data)
	if ps[0].flags != oggFlagBOS || ps[0].granule != 0 || ps[1].granule != 0 {
		t.Errorf("header pages = %+v %+v", ps[0], ps[1])
	}
	if last := ps[len(ps)-1]; last.flags&oggFlagEOS == 0 || (last.granule != total && last.segs > 0) {
		t.Errorf("last page = %+v, want EOS with granule %d", last, total)
	}
	prev := uint64(0)
	sawCont := false
	for i, p := range ps[2:] {
		if p.seq != uint32(i+2) {
			t.Errorf("page %d has sequence %d", i+2, p.seq)
		}
		sawCont = sawCont || p.flags&oggFlagCont != 0
		if p.granule == granuleNone {
			continue
		}
		if p.granule-prev > oggPageAudio+5760 {
			t.Errorf("page %d holds %d samples, want a page every 500 ms", i+2, p.granule-prev)
		}
		prev = p.granule
	}
	if !sawCont {
		t.Error("the 61 kB packet did not continue onto a second page")
	}
}

func TestOggWriterFlushAndClose(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewOggWriter(&buf, OggOptions{PreSkip: 120, Channels: 2})
	if err != nil {
		t.Fatal(err)
	}
	headers := buf.Len()
	if err := w.WritePacket(SilencePacket()); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != headers {
		t.Fatal("a page was written before 500 ms of audio or a Flush")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() == headers {
		t.Fatal("Flush wrote nothing")
	}
	if d := w.Duration(); d != 17500*time.Microsecond { // 960 samples minus 120 of pre-skip
		t.Errorf("Duration = %v, want 17.5ms", d)
	}
	if err := w.WritePacket([]byte{}); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("empty packet: %v, want ErrInvalidPacket", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WritePacket(SilencePacket()); !errors.Is(err, ErrClosed) {
		t.Errorf("WritePacket after Close: %v, want ErrClosed", err)
	}
	r, err := NewOggReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Head(); h.PreSkip != 120 || h.Channels != 2 {
		t.Errorf("head = %+v", h)
	}
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("after the last packet: %v, want io.EOF", err)
	}
}

func TestOggWriterRejectsBadTags(t *testing.T) {
	for _, c := range []string{"no equals sign", "=value", "K\x01EY=v", "KEY~=v"} {
		if _, err := NewOggWriter(io.Discard, OggOptions{Comments: []string{c}}); !errors.Is(err, ErrBadTag) {
			t.Errorf("comment %q: %v, want ErrBadTag", c, err)
		}
	}
}

func TestOggReaderDamage(t *testing.T) {
	data := writeOgg(t, testPackets(), OggOptions{})
	t.Run("truncated mid-page", func(t *testing.T) {
		r, err := NewOggReader(bytes.NewReader(data[:len(data)-100]))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			if _, err = r.ReadPacket(); err != nil {
				break
			}
		}
		if err != io.ErrUnexpectedEOF || n == 0 {
			t.Errorf("after %d packets: %v, want io.ErrUnexpectedEOF", n, err)
		}
	})
	t.Run("checksum", func(t *testing.T) {
		bad := bytes.Clone(data)
		bad[len(bad)-5] ^= 0xff
		r, err := NewOggReader(bytes.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = r.ReadPacket()
		}
		if !errors.Is(err, ErrBadPage) {
			t.Errorf("corrupt page: %v, want ErrBadPage", err)
		}
	})
	t.Run("not opus", func(t *testing.T) {
		bad := bytes.Clone(data)
		copy(bad[oggHeaderLen+1:], "OpusHeaX")
		if _, err := NewOggReader(bytes.NewReader(bad)); !errors.Is(err, ErrNotOpus) {
			t.Errorf("got %v, want ErrNotOpus", err)
		}
		if _, err := NewOggReader(strings.NewReader("RIFF....WAVEfmt ")); !errors.Is(err, ErrNotOpus) {
			t.Errorf("WAV: got %v, want ErrNotOpus", err)
		}
	})
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (it comes with opus-tools / ffmpeg); CI installs it", name)
	}
}

// TestOggWriterOutputValidates checks the writer's output with opusinfo and ffprobe, for
// a stream whose last page Close writes empty (3 s is six full pages) and one whose last
// page holds packets.
func TestOggWriterOutputValidates(t *testing.T) {
	for _, n := range []int{150, 140} {
		t.Run(strconv.Itoa(n)+" packets", func(t *testing.T) { validate(t, n) })
	}
}

func validate(t *testing.T, n int) {
	var pkts [][]byte
	for i := 0; i < n; i++ {
		pkts = append(pkts, SilencePacket())
	}
	secs := float64(n*FrameSamples-DefaultPreSkip) / SampleRate
	path := filepath.Join(t.TempDir(), "room.ogg")
	data := writeOgg(t, pkts, OggOptions{Comments: []string{"TITLE=Keeping rooms alive", "ARTIST=Ada"}})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("opusinfo", func(t *testing.T) {
		needTool(t, "opusinfo")
		out, err := exec.Command("opusinfo", path).CombinedOutput()
		if err != nil {
			t.Fatalf("opusinfo: %v\n%s", err, out)
		}
		s := string(out)
		for _, bad := range []string{"WARNING", "ERROR", "Warning", "Error"} {
			if strings.Contains(s, bad) {
				t.Errorf("opusinfo complains:\n%s", s)
			}
		}
		if want := fmt.Sprintf("Playback length: 0m:%06.3fs", math.Floor(secs*1000)/1000); !strings.Contains(s, want) {
			t.Errorf("opusinfo does not say %q:\n%s", want, s)
		}
		if !strings.Contains(s, "TITLE=Keeping rooms alive") || !strings.Contains(s, "Encoded with "+OggVendor) {
			t.Errorf("opusinfo does not show the tags:\n%s", s)
		}
	})
	t.Run("ffprobe", func(t *testing.T) {
		needTool(t, "ffprobe")
		out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe: %v\n%s", err, out)
		}
		var probe struct {
			Streams []struct {
				CodecName  string            `json:"codec_name"`
				SampleRate string            `json:"sample_rate"`
				Channels   int               `json:"channels"`
				Tags       map[string]string `json:"tags"`
			} `json:"streams"`
			Format struct {
				Duration string `json:"duration"`
			} `json:"format"`
		}
		if err := json.Unmarshal(out, &probe); err != nil {
			t.Fatalf("ffprobe output: %v\n%s", err, out)
		}
		if len(probe.Streams) != 1 || probe.Streams[0].CodecName != "opus" || probe.Streams[0].Channels != 1 {
			t.Fatalf("ffprobe streams = %+v", probe.Streams)
		}
		d, _ := strconv.ParseFloat(probe.Format.Duration, 64)
		if math.Abs(d-secs) > 0.01 {
			t.Errorf("ffprobe duration %v, want %.3f", d, secs)
		}
		if title := probe.Streams[0].Tags["TITLE"]; title != "Keeping rooms alive" {
			t.Errorf("ffprobe TITLE = %q", title)
		}
	})
}

// TestOggReaderReadsOpusenc reads a file made by opusenc, the reference muxer.
func TestOggReaderReadsOpusenc(t *testing.T) {
	needTool(t, "opusenc")
	needTool(t, "sox")
	dir := t.TempDir()
	wav, ogg := filepath.Join(dir, "tone.wav"), filepath.Join(dir, "tone.opus")
	if out, err := exec.Command("sox", "-n", "-r", "48000", "-c", "1", "-b", "16", wav, "synth", "1", "sine", "440").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	if out, err := exec.Command("opusenc", "--quiet", "--framesize", "20", "--title", "tone", wav, ogg).CombinedOutput(); err != nil {
		t.Fatalf("opusenc: %v\n%s", err, out)
	}
	f, err := os.Open(ogg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewOggReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Head().Channels != 1 || r.Head().PreSkip == 0 {
		t.Errorf("head = %+v", r.Head())
	}
	n := 0
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if s, err := PacketSamples(p); err != nil || s != FrameSamples {
			t.Fatalf("packet %d: %d samples, %v", n, s, err)
		}
		n++
	}
	if n < 50 || n > 52 {
		t.Errorf("%d packets in 1 s of 20 ms frames", n)
	}
}

func FuzzOggReader(f *testing.F) {
	f.Add(writeOgg(f, testPackets()[:8], OggOptions{Comments: []string{"A=b"}}))
	f.Add(writeOgg(f, nil, OggOptions{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewOggReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			p, err := r.ReadPacket()
			if err != nil {
				return
			}
			if len(p) > maxOggAudioPacket {
				t.Fatalf("packet of %d bytes", len(p))
			}
		}
	})
}

func BenchmarkOggWriter(b *testing.B) {
	pkt := make([]byte, 80)
	pkt[0] = 31 << 3
	w, err := NewOggWriter(io.Discard, OggOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WritePacket(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
