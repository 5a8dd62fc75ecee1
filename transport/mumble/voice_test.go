package mumble

import (
	"bytes"
	"testing"
	"time"

	"layeh.com/gumble/gumble/varint"

	"github.com/spacetui/spacetui/audio"
)

// packet builds a tunnelled voice packet as a Mumble server sends it.
func packet(codec byte, session, seq int64, last bool, payload []byte) []byte {
	var b [varint.MaxVarintLen]byte
	out := []byte{codec << 5}
	out = append(out, b[:varint.Encode(b[:], session)]...)
	out = append(out, b[:varint.Encode(b[:], seq)]...)
	if codec == codecOpus {
		n := int64(len(payload))
		if last {
			n |= terminator
		}
		out = append(out, b[:varint.Encode(b[:], n)]...)
	}
	return append(out, payload...)
}

var opus20ms = audio.SilencePacket() // TOC config 31: 20 ms

func TestParseVoice(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want voice
		bad  bool
	}{
		{"opus", packet(codecOpus, 7, 1234, false, opus20ms), voice{codec: codecOpus, session: 7, seq: 1234, payload: opus20ms}, false},
		{"terminator", packet(codecOpus, 300, 2, true, opus20ms), voice{codec: codecOpus, session: 300, seq: 2, last: true, payload: opus20ms}, false},
		{"positional audio after the packet", append(packet(codecOpus, 1, 2, false, opus20ms), make([]byte, 12)...), voice{codec: codecOpus, session: 1, seq: 2, payload: opus20ms}, false},
		{"speex: header only", packet(codecSpeex, 5, 9, false, []byte{3, 1, 2, 3}), voice{codec: codecSpeex, session: 5, seq: 9}, false},
		{"empty", nil, voice{}, true},
		{"ping", []byte{codecPing << 5, 1}, voice{}, true},
		{"truncated session", []byte{codecOpus << 5, 0x80}, voice{}, true},
		{"negative sequence", packet(codecOpus, 1, -3, false, opus20ms), voice{}, true},
		{"length past the end", packet(codecOpus, 1, 2, false, opus20ms)[:6], voice{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVoice(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("err %v, want error %v", err, tt.bad)
			}
			if got.codec != tt.want.codec || got.session != tt.want.session || got.seq != tt.want.seq ||
				got.last != tt.want.last || !bytes.Equal(got.payload, tt.want.payload) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseVoice: no packet a server sends panics the parser, and a payload it returns
// lies inside the packet.
func FuzzParseVoice(f *testing.F) {
	f.Add(packet(codecOpus, 7, 1234, true, opus20ms))
	f.Add(packet(codecCELTAlpha, 1, 1, false, []byte{0x81, 1}))
	f.Add([]byte{0x80, 0xf8, 0xf8, 0xf8})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseVoice(b)
		if err != nil {
			return
		}
		if len(v.payload) > len(b) || v.codec != b[0]>>5 {
			t.Fatalf("payload of %d bytes from a packet of %d, codec %d", len(v.payload), len(b), v.codec)
		}
		var tr track
		_, _ = tr.frame("x", v, 0)
	})
}

// The frame model: within a talk spurt Seq moves one per 20 ms packet and Timestamp by
// Mumble's sequence (10 ms units), a lost packet leaves a gap in both; after a
// terminator the next spurt continues the sequence by one and starts at its arrival.
func TestTrackFrames(t *testing.T) {
	var tr track
	type step struct {
		seq     int64
		last    bool
		now     uint32
		wantSeq uint32
		wantTS  uint32
	}
	steps := []step{
		{seq: 100, now: 48000, wantSeq: 0, wantTS: 48000},
		{seq: 102, now: 48960, wantSeq: 1, wantTS: 48960},
		{seq: 106, now: 50880, wantSeq: 3, wantTS: 50880}, // one packet lost
		{seq: 108, last: true, now: 51840, wantSeq: 4, wantTS: 51840},
		{seq: 400, now: 200000, wantSeq: 5, wantTS: 200000}, // a new spurt, by arrival
		{seq: 0, now: 200100, wantSeq: 6, wantTS: 200960},   // a client that restarted its count: not before the last frame's end
	}
	for i, s := range steps {
		f, err := tr.frame("ada", voice{codec: codecOpus, seq: s.seq, last: s.last, payload: opus20ms}, s.now)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != s.wantSeq || f.Timestamp != s.wantTS || f.Duration != 20*time.Millisecond || f.Speaker != "ada" || f.Codec != "opus" {
			t.Errorf("step %d: seq %d ts %d dur %s, want seq %d ts %d 20ms", i, f.Seq, f.Timestamp, f.Duration, s.wantSeq, s.wantTS)
		}
	}
	if _, err := tr.frame("ada", voice{codec: codecOpus, seq: 500, payload: nil}, 0); err == nil {
		t.Error("an empty payload made a frame")
	}
}
