package livekit

import (
	"maps"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// sampleRate is the room clock's rate, Opus's 48 kHz.
const sampleRate = 48000

// mapper puts the RTP packets of a room's audio tracks onto the room model's clock.
//
// LiveKit gives every track a random RTP sequence and timestamp base, and a publisher
// that rejoins comes back with a new track. The room model wants one clock for the
// whole room (Timestamp: 48 kHz samples since the room clock's origin) and, per
// speaker, a sequence that increases by one per packet. So each track keeps its own
// RTP differences (loss, reordering and silence stay visible) and is shifted: its first
// packet lands on the room clock at its arrival, and on the sequence one past the
// speaker's last packet. A replaced track thus looks like the speaker pausing, not
// like a new stream, to the jitter buffer and to the recording.
//
// The origin and the last sequences outlive a Conn through transport.Resume, so a full
// rejoin continues the same clock. mapper is not safe for concurrent use.
type mapper struct {
	origin time.Time
	last   map[string]uint32 // per speaker: the newest Seq handed out
}

// track is one RTP stream's shift onto the room clock.
type track struct {
	started bool
	last16  uint16 // newest RTP sequence number
	ext     int64  // last16 unwrapped
	base    int64  // the first packet's unwrapped sequence
	seqOff  uint32
	tsOff   uint32
}

func newMapper(prev *transport.Resume, now time.Time) *mapper {
	m := &mapper{origin: now, last: map[string]uint32{}}
	if prev == nil {
		return m
	}
	if t, err := time.Parse(time.RFC3339Nano, prev.Epoch); err == nil && !t.After(now) {
		m.origin = t
	}
	maps.Copy(m.last, prev.Last)
	return m
}

// place returns the room Seq and Timestamp of an RTP packet of speaker's track t that
// arrived at now.
func (m *mapper) place(speaker string, t *track, seq uint16, ts uint32, now time.Time) (uint32, uint32) {
	if !t.started {
		t.started = true
		t.last16, t.ext, t.base = seq, int64(seq), int64(seq)
		if l, ok := m.last[speaker]; ok {
			t.seqOff = l + 1
		}
		t.tsOff = m.samples(now) - ts
	}
	ext := t.ext + int64(int16(seq-t.last16))
	if ext > t.ext {
		t.ext, t.last16 = ext, seq
	}
	out := t.seqOff + uint32(ext-t.base)
	if l, ok := m.last[speaker]; !ok || int32(out-l) > 0 {
		m.last[speaker] = out
	}
	return out, ts + t.tsOff
}

// offset is now on the room clock.
func (m *mapper) offset(now time.Time) time.Duration { return now.Sub(m.origin) }

// samples is now on the room clock in 48 kHz samples; it wraps like RTP.
func (m *mapper) samples(now time.Time) uint32 {
	return uint32(m.offset(now).Nanoseconds() * sampleRate / int64(time.Second))
}

// resume is what the next Conn continues from.
func (m *mapper) resume(identity string) *transport.Resume {
	return &transport.Resume{Session: identity, Epoch: m.origin.Format(time.RFC3339Nano), Last: maps.Clone(m.last)}
}
