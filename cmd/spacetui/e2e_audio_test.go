//go:build cgo

package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"slices"
	"sort"
	"testing"
	"time"

	"gopkg.in/hraban/opus.v2"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/mumbletest"
	"github.com/spacetui/spacetui/internal/streamtest"
	"github.com/spacetui/spacetui/transport"
)

// TestWhatLeavesTheSoundCardIsWhatTheRoomSent plays the demo room through the real
// PortAudio -> ALSA -> PulseAudio path into a null sink, captures the sink's monitor with
// parec, and compares it with the room's frames received and decoded independently.
func TestWhatLeavesTheSoundCardIsWhatTheRoomSent(t *testing.T) {
	url, _ := startServer(t)
	soundCardPlaysTheRoom(t, url)
}

// soundCardPlaysTheRoom joins url with the real binary for 10 s, capturing the sound
// card, while a reference listener in this process records what the room sends; what
// left the sound card must correlate with the room's frames decoded independently.
func soundCardPlaysTheRoom(t *testing.T, url string) {
	t.Helper()
	need(t, haveTool("parec"), "parec (pulseaudio-utils) is not installed")
	need(t, pulseReady(), "no PulseAudio server with a null sink named spk")
	dir := t.TempDir()

	// Capture everything the sound card plays, from before the client starts.
	capPath := dir + "/captured.raw"
	capFile, err := os.Create(capPath)
	if err != nil {
		t.Fatal(err)
	}
	parec := exec.Command("parec", "-d", "spk.monitor", "--format=s16le", "--rate=48000", "--channels=1", "--latency-msec=20", "--raw")
	parec.Stdout = capFile
	if err := parec.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parec.Process.Kill(); _ = parec.Wait() }()

	// An independent listener records what the room sends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, url, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frames := make(chan transport.AudioFrame, 4096)
	go func() {
		defer close(frames)
		for {
			ev, err := conn.Recv(ctx)
			if err != nil {
				return
			}
			if f, ok := ev.(transport.AudioFrame); ok {
				frames <- f
			}
		}
	}()

	client := exec.Command(spacetuiBin(t), "join", url, "--headless", "--for", "10s", "--log", dir+"/client.log")
	client.Env = os.Environ()
	out, err := client.CombinedOutput()
	if err != nil {
		t.Fatalf("spacetui join: %v\n%s", err, out)
	}
	time.Sleep(300 * time.Millisecond) // let the sink drain into the monitor
	_ = parec.Process.Kill()
	_ = parec.Wait()
	conn.Close()
	cancel()

	var got []transport.AudioFrame
	for f := range frames {
		got = append(got, f)
	}
	if len(got) < 100 {
		t.Fatalf("the reference listener got only %d frames", len(got))
	}
	ref := decodeTimeline(t, got)
	raw, err := os.ReadFile(capPath)
	if err != nil {
		t.Fatal(err)
	}
	captured := pcmFloats(raw)
	var peak float64
	for _, v := range captured {
		peak = max(peak, v, -v)
	}
	t.Logf("captured %.1f s from the sink (peak %.2f); reference %.1f s from %d frames",
		float64(len(captured))/48000, peak, float64(len(ref))/48000, len(got))
	if peak < 0.01 {
		t.Fatalf("the sound card played silence")
	}
	// The silence the sink played before the client's first sound stands for no audio
	// of the room: the reference listener, who joined first, may have been sent audio
	// the client never was (an Icecast server's burst on connect starts where the
	// stream is at each join). Only what follows is compared.
	captured = captured[slices.IndexFunc(captured, func(v float64) bool { return math.Abs(v) >= 0.01 }):]
	// The client played ~10 s starting a little after the reference listener joined:
	// compare the reference's first 8 s.
	if len(ref) > 8*48000 {
		ref = ref[:8*48000]
	}
	corr, windows := alignedCorrelation(ref, captured, 24000, 4800)
	t.Logf("correlation after alignment: %.3f over %d speech windows of 0.5 s", corr, windows)
	if windows < 4 {
		t.Fatalf("only %d speech windows to compare", windows)
	}
	if corr < 0.9 {
		t.Fatalf("correlation %.3f < 0.9: what left the sound card is not what the room sent", corr)
	}
}

// decodeTimeline decodes each speaker's frames and places them on the room clock, from
// the first timestamp received. A stream of AAC or MP3 frames (one speaker, frames
// back to back) is decoded by FFmpeg, apart from the decoders spacetui plays with.
func decodeTimeline(t *testing.T, frames []transport.AudioFrame) []float64 {
	t.Helper()
	if frames[0].Codec == transport.CodecVorbis {
		return ffmpegPCM(t, oggVorbis(t, frames), "-f", "ogg", "-i", "-")
	}
	if format, ok := map[transport.Codec]string{transport.CodecAAC: "aac", transport.CodecMP3: "mp3"}[frames[0].Codec]; ok {
		var stream []byte
		for _, f := range frames {
			stream = append(stream, f.Payload...)
		}
		return ffmpegPCM(t, stream, "-f", format, "-i", "-")
	}
	sort.SliceStable(frames, func(i, j int) bool { return int32(frames[i].Timestamp-frames[j].Timestamp) < 0 })
	ts0 := frames[0].Timestamp
	last := frames[len(frames)-1].Timestamp - ts0
	out := make([]float64, int(last)+960)
	decoders := map[string]*opus.Decoder{}
	pcm := make([]int16, 960*6)
	for _, f := range frames {
		d := decoders[f.Speaker]
		if d == nil {
			var err error
			if d, err = opus.NewDecoder(48000, 1); err != nil {
				t.Fatal(err)
			}
			decoders[f.Speaker] = d
		}
		n, err := d.Decode(f.Payload, pcm)
		if err != nil {
			continue
		}
		at := int(f.Timestamp - ts0)
		for i := 0; i < n && at+i < len(out); i++ {
			out[at+i] += float64(pcm[i]) / 32768
		}
	}
	return out
}

// oggVorbis muxes the Vorbis frames of one logical stream into an Ogg Vorbis file, for
// FFmpeg to decode.
func oggVorbis(t *testing.T, frames []transport.AudioFrame) []byte {
	t.Helper()
	id, comment, setup, err := audio.SplitVorbisSetup(frames[0].Setup)
	if err != nil {
		t.Fatal(err)
	}
	h, err := audio.ParseVorbisHeaders(id, comment, setup)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := audio.NewOggPacketWriter(&b, 0, h.Rate)
	if err := w.WriteHeaders(id, comment, setup); err != nil {
		t.Fatal(err)
	}
	var granule uint64
	prev := false
	for i, f := range frames {
		long, err := h.PacketLong(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		n := h.Samples(prev, long)
		if i == 0 {
			n = 0
		}
		granule += uint64(n)
		prev = long
		if err := w.WritePacket(f.Payload, n, granule); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMumbleSoundCard: what leaves the sound card in a Mumble channel is what its
// speakers sent, decoded independently.
func TestMumbleSoundCard(t *testing.T) {
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})
	// The reference listener (in this process) and the binary share the remembered
	// certificate.
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("SPACETUI_TOKEN", "")
	soundCardPlaysTheRoom(t, s.URL("Demo"))
}

// TestStreamSoundCard: what leaves the sound card for an AAC, MP3 or Vorbis stream is
// the stream's frames, decoded independently by FFmpeg: an X Space's HLS (ADTS AAC
// chunks after ID3 tags), and Icecast mounts of MP3 and of Ogg Vorbis at 44.1 kHz.
func TestStreamSoundCard(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"hls-ts-aac", func(t *testing.T) string { return streamtest.HLST(t, streamtest.HLSOptions{Format: streamtest.TSAAC}) }},
		{"icecast-mp3", func(t *testing.T) string {
			ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
			streamtest.SourceT(t, ice, "/live.mp3", streamtest.SourceOptions{Codec: streamtest.MP3, Name: "Demo Radio"})
			return ice.URL("/live.mp3")
		}},
		{"icecast-vorbis", func(t *testing.T) string {
			ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
			streamtest.SourceT(t, ice, "/live.ogg", streamtest.SourceOptions{Codec: streamtest.Vorbis, Name: "Demo Radio"})
			return ice.URL("/live.ogg")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { soundCardPlaysTheRoom(t, tt.url(t)) })
	}
}
