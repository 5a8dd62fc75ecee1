package mumble

import (
	"errors"
	"fmt"
	"time"

	"layeh.com/gumble/gumble/varint"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// The codecs of Mumble's legacy voice packet header (the top three bits of its first
// byte). Only Opus is delivered; the others are reported once and skipped.
const (
	codecCELTAlpha = 0
	codecPing      = 1
	codecSpeex     = 2
	codecCELTBeta  = 3
	codecOpus      = 4
)

// terminator is the bit of an Opus packet's length field that marks the last packet of
// a talk spurt.
const terminator = 0x2000

// errVoice is wrapped by every reason a voice packet is rejected.
var errVoice = errors.New("malformed voice packet")

// voice is one voice packet as a Mumble server tunnels it to a client (the legacy UDP
// format inside a UDPTunnel message): a header byte (codec << 5 | target), the sender's
// session, the sender's sequence number (in 10 ms units) and, for Opus, one packet whose
// length field carries the terminator bit. Positional audio, if any, follows and is
// ignored.
type voice struct {
	codec   byte
	session uint32
	seq     int64
	last    bool   // the terminator: the speaker stopped talking after this packet
	payload []byte // Opus only; aliases the packet
}

// parseVoice parses a tunnelled voice packet. For a codec other than Opus it returns
// the header fields and no payload.
func parseVoice(b []byte) (voice, error) {
	if len(b) < 1 {
		return voice{}, fmt.Errorf("%w: empty", errVoice)
	}
	v := voice{codec: b[0] >> 5}
	if v.codec == codecPing {
		return voice{}, fmt.Errorf("%w: a ping, not voice", errVoice)
	}
	b = b[1:]
	session, n := varint.Decode(b)
	if n == 0 || session < 0 || session > 1<<32-1 {
		return voice{}, fmt.Errorf("%w: session", errVoice)
	}
	v.session = uint32(session)
	b = b[n:]
	if v.seq, n = varint.Decode(b); n == 0 || v.seq < 0 {
		return voice{}, fmt.Errorf("%w: sequence", errVoice)
	}
	b = b[n:]
	if v.codec != codecOpus {
		return v, nil
	}
	size, n := varint.Decode(b)
	if n == 0 || size < 0 {
		return voice{}, fmt.Errorf("%w: length", errVoice)
	}
	b = b[n:]
	v.last = size&terminator != 0
	size &^= terminator
	if size > int64(len(b)) {
		return voice{}, fmt.Errorf("%w: %d bytes announced, %d left", errVoice, size, len(b))
	}
	v.payload = b[:size]
	return v, nil
}

// codecName names a legacy codec for the one report of its packets being skipped.
func codecName(c byte) string {
	switch c {
	case codecCELTAlpha:
		return "CELT 0.7"
	case codecCELTBeta:
		return "CELT 0.11"
	case codecSpeex:
		return "Speex"
	}
	return fmt.Sprintf("codec %d", c)
}

// maxSpurtGap is the largest jump of a speaker's Mumble sequence number (10 ms units)
// still read as the same talk spurt; a bigger one, a terminator or a sequence that
// goes back starts a new spurt, placed on the room clock by its arrival.
const maxSpurtGap = 500

// track maps one speaker's Mumble voice packets onto the frame model: Seq one per
// frame, Timestamp in 48 kHz samples on the room clock. Within a talk spurt both move
// by the Mumble sequence difference (so a lost packet is a gap the jitter buffer sees);
// a new spurt starts one sequence number after the last frame, at its arrival on the
// room clock, and never before the end of the last frame.
type track struct {
	started bool
	open    bool  // inside a talk spurt: no terminator since the last packet
	mseq    int64 // the last packet's Mumble sequence number
	seq     uint32
	ts      uint32
	dur     uint32 // the last frame's length in samples
}

// frame maps v, arriving at now on the room clock (48 kHz samples since its origin),
// onto an AudioFrame of speaker id. It fails for a payload that is not an Opus packet.
func (t *track) frame(id string, v voice, now uint32) (transport.AudioFrame, error) {
	samples, err := audio.PacketSamples(v.payload)
	if err != nil {
		return transport.AudioFrame{}, err
	}
	d := v.seq - t.mseq
	switch {
	case !t.started:
		t.seq, t.ts = 0, now
	case t.open && d > 0 && d <= maxSpurtGap:
		// Mumble counts 10 ms (480 samples) per sequence number.
		t.ts += uint32(d * 480)
		t.seq += uint32(max(1, (d*480+int64(t.dur)/2)/int64(t.dur)))
	default:
		t.seq++
		t.ts = max32(now, t.ts+t.dur)
	}
	t.started, t.open, t.mseq, t.dur = true, !v.last, v.seq, uint32(samples)
	return transport.AudioFrame{
		Speaker:   id,
		Codec:     transport.CodecOpus,
		Seq:       t.seq,
		Timestamp: t.ts,
		Duration:  time.Duration(samples) * time.Second / 48000,
		Payload:   v.payload,
	}, nil
}

// max32 is the later of two timestamps that may have wrapped.
func max32(a, b uint32) uint32 {
	if int32(a-b) > 0 {
		return a
	}
	return b
}
