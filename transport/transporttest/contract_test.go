package transporttest

import (
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Frames of each codec, as a transport hands them on: a 20 ms Opus packet; an ADTS
// frame of AAC-LC, 44.1 kHz stereo, 371 bytes; an MPEG-1 Layer III frame, 128 kbit/s
// at 44.1 kHz, 417 bytes. Past their headers, only their length matters here.
var (
	opus = audio.SilencePacket()
	aac  = append([]byte{0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc}, make([]byte, 371-7)...)
	mp3  = append([]byte{0xff, 0xfb, 0x90, 0x64}, make([]byte, 417-4)...)
)

// frames returns n frames of payload, codec and duration from seq 1, their timestamps
// at ts(i).
func frames(n int, codec transport.Codec, payload []byte, dur time.Duration, ts func(i int) uint32) []transport.AudioFrame {
	fs := make([]transport.AudioFrame, n)
	for i := range fs {
		fs[i] = transport.AudioFrame{Speaker: "ada", Codec: codec, Seq: uint32(1 + i), Timestamp: ts(i), Duration: dur, Payload: payload}
	}
	return fs
}

// without returns fs without frame i, as if it was lost.
func without(fs []transport.AudioFrame, i int) []transport.AudioFrame {
	return append(fs[:i:i], fs[i+1:]...)
}

// runningTotal places frame i of per samples at rate on the 48 kHz clock, as
// transport.AudioFrame's convention has it.
func runningTotal(per, rate int) func(i int) uint32 {
	return func(i int) uint32 { return uint32(int64(i) * int64(per) * sampleRate / int64(rate)) }
}

// TestCheckerFrames: the contract takes frames of every codec that keep the payload
// convention and the running total, and says what is wrong with those that do not.
func TestCheckerFrames(t *testing.T) {
	aacDur := 1024 * time.Second / 44100
	mp3Dur := 1152 * time.Second / 44100
	bad := func(fs []transport.AudioFrame, i int, f func(*transport.AudioFrame)) []transport.AudioFrame {
		f(&fs[i])
		return fs
	}
	for _, tc := range []struct {
		name   string
		frames []transport.AudioFrame
		want   string // in the first error; "" for none
	}{
		{"opus", frames(60, transport.CodecOpus, opus, 20*time.Millisecond, runningTotal(960, 48000)), ""},
		{"aac", frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), ""},
		{"mp3", frames(60, transport.CodecMP3, mp3, mp3Dur, runningTotal(1152, 44100)), ""},
		{"mp3 with a pause", frames(60, transport.CodecMP3, mp3, mp3Dur, func(i int) uint32 {
			return runningTotal(1152, 44100)(i) + uint32(i/30)*48000
		}), ""},
		{"mp3 with a lost frame", without(frames(60, transport.CodecMP3, mp3, mp3Dur, runningTotal(1152, 44100)), 30), ""},
		// SILK narrowband, 40 ms (configuration 2), as Mumble may send.
		{"opus of 40 ms", frames(60, transport.CodecOpus, []byte{0x10, 0x00}, 40*time.Millisecond, runningTotal(1920, 48000)), ""},
		{"opus of 40 ms taken for 20", frames(60, transport.CodecOpus, []byte{0x10, 0x00}, 20*time.Millisecond, runningTotal(960, 48000)), "opus of 1920 samples at 48000 Hz lasts 20ms, want 40ms"},
		{"aac longer than its header says", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Payload = append(aac[:len(aac):len(aac)], 0)
		}), "372 bytes of aac, whose header says 371"},
		{"aac cut short", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Payload = aac[:300]
		}), "300 bytes of aac, whose header says 371"},
		{"aac main", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Payload = append([]byte{0xff, 0xf1, 0x10}, aac[3:]...)
		}), "object type 1"},
		{"aac two blocks", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Payload = append(append([]byte(nil), aac[:6]...), append([]byte{0xfd}, aac[7:]...)...)
		}), "in 2 raw data blocks"},
		{"mp3 in an aac frame", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Payload = mp3
		}), "corrupt audio frame"},
		{"not opus", bad(frames(60, transport.CodecOpus, opus, 20*time.Millisecond, runningTotal(960, 48000)), 7, func(f *transport.AudioFrame) {
			f.Payload = nil
		}), "0 bytes of opus"},
		{"speex", frames(60, "speex", opus, 20*time.Millisecond, runningTotal(960, 48000)), `codec "speex"`},
		{"opus with a setup", bad(frames(60, transport.CodecOpus, opus, 20*time.Millisecond, runningTotal(960, 48000)), 7, func(f *transport.AudioFrame) {
			f.Setup = []byte{2, 0, 0}
		}), "opus frame with a Setup of 3 bytes"},
		{"vorbis without its setup", frames(60, transport.CodecVorbis, opus, 20*time.Millisecond, runningTotal(960, 48000)), "setup not three laced packets"},
		{"mp3 of the wrong duration", frames(60, transport.CodecMP3, mp3, aacDur, runningTotal(1152, 44100)), "lasts 23.219954ms, want 26.122448ms"},
		{"timestamps behind", bad(frames(60, transport.CodecAAC, aac, aacDur, runningTotal(1024, 44100)), 7, func(f *transport.AudioFrame) {
			f.Timestamp -= 2
		}), "seq 7→8 moved the timestamp 1112, want at least 1114"},
		// Each frame placed on its own, rounded: 1253.88 samples a frame as 1254 gains
		// a sample every 8 frames; as 1253 loses one at the second.
		{"mp3 rounded up frame by frame", frames(60, transport.CodecMP3, mp3, mp3Dur, func(i int) uint32 { return uint32(i * 1254) }), "drifted 1.10"},
		{"mp3 rounded down frame by frame", frames(60, transport.CodecMP3, mp3, mp3Dur, func(i int) uint32 { return uint32(i * 1253) }), "drifted -1.76"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(1)
			for _, ev := range []transport.Event{transport.State{State: transport.StateConnecting}, transport.State{State: transport.StateLive},
				transport.RoomInfo{Listeners: 1}, transport.Roster{Speakers: []transport.Speaker{{ID: "ada"}}}} {
				c.see(ev)
			}
			for _, f := range tc.frames {
				c.see(f)
			}
			switch {
			case tc.want == "" && len(c.errs) > 0:
				t.Errorf("errors %q, want none", c.errs)
			case tc.want != "" && (len(c.errs) == 0 || !strings.Contains(c.errs[0], tc.want)):
				t.Errorf("errors %q, want first one saying %q", c.errs, tc.want)
			}
		})
	}
}
