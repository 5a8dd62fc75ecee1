//go:build cgo

package server

import (
	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport/wire"
)

// opusMixer decodes each track with its own decoder, sums the tracks through audio's
// limiting mixer and encodes the sum once.
type opusMixer struct {
	enc  *audio.Encoder
	decs map[uint16]*audio.Decoder
	sum  *audio.Mixer
	pcm  []int16
	out  []int16
}

var _ frameMixer = (*opusMixer)(nil)

// mixBitrate is the bit rate of the mixed stream: speech, mono.
const mixBitrate = 32000

func newFrameMixer() (frameMixer, error) {
	enc, err := audio.NewEncoder(mixBitrate)
	if err != nil {
		return nil, err
	}
	return &opusMixer{
		enc:  enc,
		decs: make(map[uint16]*audio.Decoder),
		sum:  audio.NewMixer(wire.FrameSamples),
		pcm:  make([]int16, 6*wire.FrameSamples), // room for any valid packet (120 ms)
		out:  make([]int16, wire.FrameSamples),
	}, nil
}

func (m *opusMixer) mix(frames []wire.Frame) ([]byte, error) {
	m.sum.Reset()
	for _, f := range frames {
		dec := m.decs[f.Track]
		if dec == nil {
			d, err := audio.NewDecoder()
			if err != nil {
				return nil, err
			}
			m.decs[f.Track], dec = d, d
		}
		n, err := dec.Decode(f.Payload, m.pcm)
		if err != nil {
			continue // one bad frame silences one track for one tick
		}
		m.sum.Add(m.pcm[:n])
	}
	m.sum.Mix(m.out, 100)
	return m.enc.Encode(m.out)
}
