//go:build cgo

package audio

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// track is one speaker's packets, of any length, as a transport delivers them.
type track struct {
	codec transport.Codec
	pkts  [][]byte
	ts    func(j int) int // packet j's timestamp in 48 kHz samples; ts(len(pkts)) is the end
	setup []byte          // each packet's Setup (Vorbis)
}

// play pushes the packets of s for speaker id, each as its timestamp comes due on the
// fake clock (the pipeline's clock is in samples: tick k is at k·960), and plays on
// until a second of silence after the last. A nil packet is lost on the way. before, if set, runs in the first tick
// while playout waits on the sink. It returns all the audio played.
func (h *harness) playStream(id string, s track, before func(), each func()) []int16 {
	h.t.Helper()
	var out []int16
	sent, quiet := 0, 0
	for k := 0; sent < len(s.pkts) || quiet < 50; k++ {
		pcm := h.tick(func() {
			if k == 0 && before != nil {
				before()
			}
			for ; sent < len(s.pkts) && s.ts(sent) <= k*FrameSamples; sent++ {
				if s.pkts[sent] == nil {
					continue
				}
				h.p.Push(transport.AudioFrame{Speaker: id, Codec: s.codec, Seq: uint32(sent), Timestamp: uint32(s.ts(sent)),
					Duration: samplesToDuration(int64(s.ts(sent+1) - s.ts(sent))), Payload: s.pkts[sent], Setup: s.setup})
			}
			if each != nil {
				each()
			}
		})
		out = append(out, pcm...)
		if quiet++; slices.ContainsFunc(pcm, func(v int16) bool { return v != 0 }) {
			quiet = 0
		}
	}
	return out
}

// counterDecoder stands for a codec whose packets are not 20 ms long: a packet holds its
// index j and decodes to the stream's samples from ts(j) to ts(j+1), each its place in
// the stream mod 199, plus 1: a quiet sawtooth in which a sample lost or played twice
// shows. It conceals with silence.
type counterDecoder struct{ ts func(j int) int }

func (d counterDecoder) Decode(pkt []byte, pcm []int16) (int, error) {
	j := int(binary.BigEndian.Uint32(pkt))
	from, to := d.ts(j), d.ts(j+1)
	for i := from; i < to; i++ {
		pcm[i-from] = int16(i%199 + 1)
	}
	return to - from, nil
}

func (counterDecoder) Conceal(next []byte, pcm []int16) error { clear(pcm); return nil }
func (counterDecoder) Reset() error                           { return nil }

// TestPipelinePlaysLongPacketsWhole plays 30 s of 1024-sample packets, at 48 kHz and at
// 44.1 kHz (1114.6 samples at 48 kHz, timestamps from the running total), pushed at their
// real rate. Every sample comes out once and in order; the jitter buffer makes no
// correction, though the stream is quiet enough to allow them; and the delay holds
// steady although each tick plays a different part of a packet.
func TestPipelinePlaysLongPacketsWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate int
	}{{"48kHz", 48000}, {"44.1kHz", 44100}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := func(j int) int { return j * 1024 * SampleRate / tc.rate }
			s := track{codec: transport.CodecAAC, ts: ts}
			for j := range 30 * tc.rate / 1024 {
				s.pkts = append(s.pkts, binary.BigEndian.AppendUint32(nil, uint32(j)))
			}
			h := newHarness(t, 100)
			if err := h.p.RecordMix(nil); err != nil {
				t.Fatal(err)
			}
			var (
				sp                  *speaker
				stats               JitterStats
				lowDelay, highDelay = 1000, 0
				ticks, playedFrames int
			)
			out := h.playStream("radio", s, func() {
				sp = h.p.speaker("radio", h.clock.Now())
				sp.dec, sp.decCodec = counterDecoder{ts}, transport.CodecAAC
			}, func() {
				if ticks++; ticks > ts(len(s.pkts))/FrameSamples {
					return // the stream is over: the buffer runs dry and conceals
				}
				sp.mu.Lock()
				stats = sp.jb.Stats()
				sp.mu.Unlock()
				if snap := h.p.Snapshot(); snap.Frames > 0 {
					d := snap.Speakers[0].BufferMs
					lowDelay, highDelay = min(lowDelay, d), max(highDelay, d)
					playedFrames = int(snap.Frames)
				}
			})
			if stats.Inserted != 0 || stats.Dropped != 0 || stats.Lost != 0 {
				t.Errorf("jitter buffer corrected the delay: %+v", stats)
			}
			t.Logf("delay %d..%d ms, %d frames played", lowDelay, highDelay, playedFrames)
			// Packets arrive on the 20 ms ticks, so their transit varies and the buffer's
			// baseline creeps between the quickest: a few ms, where a packet's 20 ms of
			// carry, were it not counted, would swing the delay by up to 20.
			if lowDelay < 20 || highDelay > 60 || highDelay-lowDelay > 5 {
				t.Errorf("delay %d..%d ms, want it steady (within 5 ms) between 20 and 60", lowDelay, highDelay)
			}
			start := slices.IndexFunc(out, func(v int16) bool { return v != 0 })
			if start < 0 {
				t.Fatal("nothing played")
			}
			total := ts(len(s.pkts))
			for i, v := range out[start:] {
				want := int16(0)
				if i < total {
					want = int16(i%199 + 1)
				}
				if v != want {
					t.Fatalf("sample %d of %d = %d, want %d: a sample lost, repeated or added", i, total, v, want)
				}
			}
		})
	}
}

// A lost packet is concealed as long as the packet before it, and the packets after it
// play on from their own first sample. The target delay covers a packet more than the
// 40 ms minimum (JitterBuffer.SetPacket): at 40 ms a packet of 23 ms is needed before
// the next one is due, and a loss would read as the buffer running dry.
func TestPipelineConcealsALongPacketWhole(t *testing.T) {
	ts := func(j int) int { return j * 1024 * SampleRate / 44100 }
	const lost = 30
	s := track{codec: transport.CodecAAC, ts: ts}
	var want []int16
	for j := range 100 {
		s.pkts = append(s.pkts, binary.BigEndian.AppendUint32(nil, uint32(j)))
		if j == lost {
			s.pkts[j] = nil
			want = append(want, make([]int16, ts(j)-ts(j-1))...)
			continue
		}
		for i := ts(j); i < ts(j+1); i++ {
			want = append(want, int16(i%199+1))
		}
	}
	h := newHarness(t, 100)
	var sp *speaker
	out := h.playStream("radio", s, func() {
		sp = h.p.speaker("radio", h.clock.Now())
		sp.dec, sp.decCodec = counterDecoder{ts}, transport.CodecAAC
	}, nil)
	got := out[slices.IndexFunc(out, func(v int16) bool { return v != 0 }):]
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Errorf("from sample %d of %d the output is not the stream with packet %d concealed", i, len(want), lost)
	}
	if snap := h.p.Snapshot(); snap.Lost != 1 || snap.Frames != uint64(len(s.pkts)-1) {
		t.Errorf("%d frames played, %d lost; want %d, 1", snap.Frames, snap.Lost, len(s.pkts)-1)
	}
}

// A new stream on the track (ResetSpeaker) drops the packets still waiting, but the
// packet being played is played to its end, not cut off in the middle.
func TestPipelineFinishesAPacketOnReset(t *testing.T) {
	ts := func(j int) int { return j * 1024 * SampleRate / 44100 }
	s := track{codec: transport.CodecAAC, ts: ts}
	for j := range 20 {
		s.pkts = append(s.pkts, binary.BigEndian.AppendUint32(nil, uint32(j)))
	}
	h := newHarness(t, 100)
	k := 0
	out := h.playStream("radio", s, func() {
		sp := h.p.speaker("radio", h.clock.Now())
		sp.dec, sp.decCodec = counterDecoder{ts}, transport.CodecAAC
	}, func() {
		if k++; (k-1)*FrameSamples >= ts(len(s.pkts)-1) { // the last packet is in
			h.p.ResetSpeaker("radio")
		}
	})
	start := slices.IndexFunc(out, func(v int16) bool { return v != 0 })
	played := 0
	for start >= 0 && start+played < len(out) && out[start+played] == int16(played%199+1) {
		played++
	}
	if slices.ContainsFunc(out[start+played:], func(v int16) bool { return v != 0 }) {
		t.Fatalf("after %d samples in order, something else", played)
	}
	j := 0
	for ts(j) < played {
		j++
	}
	if played == 0 || ts(j) != played {
		t.Errorf("played %d samples: %d packets and %d samples of the next", played, j-1, played-ts(j-1))
	}
}

// Real streams through the pipeline: what plays is exactly what their decoder makes of
// them, frame after frame, with nothing lost or concealed.
func TestPipelinePlaysAACAndMP3(t *testing.T) {
	for _, f := range streamFiles {
		t.Run(f.name, func(t *testing.T) {
			frames := f.frames(t)
			ref := newFrameDecoder(t, f.codec)
			pcm := make([]int16, decodeSamples)
			var want []int16
			for _, fr := range frames {
				n, err := ref.Decode(fr, pcm)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, pcm[:n]...)
			}
			h := newHarness(t, 100)
			s := track{codec: f.codec, pkts: frames, ts: func(j int) int { return j * f.samples * SampleRate / f.rate }}
			out := h.playStream("radio", s, nil, nil)
			skip := func(pcm []int16) int { return slices.IndexFunc(pcm, func(v int16) bool { return v != 0 }) }
			got := out[skip(out):]
			want = want[skip(want):]
			if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
				t.Errorf("the pipeline played %d samples, not the %d decoded", len(got), len(want))
			}
			if snap := h.p.Snapshot(); snap.Frames != uint64(len(frames)) || snap.Lost != 0 {
				t.Errorf("%d frames played, %d lost; want %d, 0", snap.Frames, snap.Lost, len(frames))
			}
		})
	}
}

// A Vorbis stream through the pipeline: its packets, of two lengths and the first of
// none, carry the stream's headers to the decoder, and play exactly as they decode,
// nothing lost or concealed.
func TestPipelinePlaysVorbis(t *testing.T) {
	vf := readVorbisFile(t, "sine440-48k-stereo.ogg")
	ref := newFrameDecoder(t, transport.CodecVorbis)
	want := vf.decode(t, ref, vf.pkts)
	var ts []int // at 48 kHz, the file's rate
	total, prev := 0, false
	for i, p := range vf.pkts {
		long, _ := vf.h.PacketLong(p)
		ts = append(ts, total)
		if i > 0 {
			total += vf.h.Samples(prev, long)
		}
		prev = long
	}
	ts = append(ts, total)
	h := newHarness(t, 100)
	out := h.playStream("radio", track{codec: transport.CodecVorbis, pkts: vf.pkts, setup: vf.setup, ts: func(j int) int { return ts[j] }}, nil, nil)
	skip := func(pcm []int16) int { return slices.IndexFunc(pcm, func(v int16) bool { return v != 0 }) }
	if skip(out) < 0 {
		t.Fatal("the pipeline played silence")
	}
	got := out[skip(out):]
	want = want[skip(want):]
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("the pipeline played %d samples, not the %d decoded", len(got), len(want))
	}
	if snap := h.p.Snapshot(); snap.Frames != uint64(len(vf.pkts)) || snap.Lost != 0 {
		t.Errorf("%d frames played, %d lost; want %d, 0", snap.Frames, snap.Lost, len(vf.pkts))
	}
}

// Opus packets of 60 ms, which Mumble sends, play whole: 20 ms a tick, over three ticks,
// exactly as they decode.
func TestPipelinePlays60msOpus(t *testing.T) {
	const size = 3 * FrameSamples
	pkts := encodeTonePackets(t, 50, 0.3, size)
	dec := must(NewDecoder())
	pcm := make([]int16, decodeSamples)
	var want []int16
	for _, p := range pkts {
		n, err := dec.Decode(p, pcm)
		if err != nil || n != size {
			t.Fatalf("decoded %d samples, %v", n, err)
		}
		want = append(want, pcm[:n]...)
	}
	h := newHarness(t, 100)
	out := h.playStream("ada", track{codec: transport.CodecOpus, pkts: pkts, ts: func(j int) int { return j * size }}, nil, nil)
	skip := func(pcm []int16) int { return slices.IndexFunc(pcm, func(v int16) bool { return v != 0 }) }
	got, want := out[skip(out):], want[skip(want):]
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("the pipeline did not play the packets as they decode")
	}
	if snap := h.p.Snapshot(); snap.Frames != uint64(len(pkts)) || snap.Lost != 0 {
		t.Errorf("%d frames played, %d lost; want %d, 0", snap.Frames, snap.Lost, len(pkts))
	}
}

// An HE-AAC stream cannot be decoded: the pipeline says so once, keeps the track
// silent, and does not count its frames as lost to the network. One such frame amid
// frames that decode is taken for a corrupt one: lost, and not reported.
func TestPipelineReportsAnUndecodableStreamOnce(t *testing.T) {
	good := streamFiles[1].frames(t)
	oneBad := slices.Clone(good)
	oneBad[20] = heAACFrame
	for _, tc := range []struct {
		name         string
		pkts         [][]byte
		reports      int
		frames, lost uint64
		sound        bool
	}{
		{"HE-AAC", slices.Repeat([][]byte{heAACFrame}, 100), 1, 0, 0, false},
		{"one frame", oneBad, 0, uint64(len(good) - 1), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer // written in a tick, read after the last: the sink orders them
			h := startHarness(t, PipelineConfig{Volume: 100, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			out := h.playStream("radio", track{codec: transport.CodecAAC, pkts: tc.pkts, ts: func(j int) int { return j * 1024 }}, nil, nil)
			if sound := slices.ContainsFunc(out, func(v int16) bool { return v != 0 }); sound != tc.sound {
				t.Errorf("sound %v, want %v", sound, tc.sound)
			}
			if n := strings.Count(log.String(), "cannot decode a track's stream"); n != tc.reports {
				t.Errorf("reported %d times, want %d:\n%s", n, tc.reports, log.String())
			}
			if snap := h.p.Snapshot(); snap.Lost != tc.lost || snap.Frames != tc.frames {
				t.Errorf("%d frames played, %d lost; want %d, %d", snap.Frames, snap.Lost, tc.frames, tc.lost)
			}
		})
	}
}
