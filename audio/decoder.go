//go:build cgo

package audio

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// Decoder decodes one speaker's Opus stream to mono 48 kHz PCM, and conceals lost
// packets. It is for one goroutine.
type Decoder struct {
	dec *opus.Decoder
}

// NewDecoder returns a decoder for a mono 48 kHz stream.
func NewDecoder() (*Decoder, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &Decoder{dec: dec}, nil
}

// Decode decodes pkt into pcm, which must hold 120 ms (5760 samples) to take any valid
// packet, and returns the number of samples. A malformed packet returns an error
// wrapping ErrInvalidPacket, never a crash; the caller conceals it.
func (d *Decoder) Decode(pkt []byte, pcm []int16) (int, error) {
	n, err := PacketSamples(pkt)
	if err != nil {
		return 0, err
	}
	if n > len(pcm) {
		return 0, fmt.Errorf("%w: %d samples do not fit in %d", ErrInvalidPacket, n, len(pcm))
	}
	n, err = d.dec.Decode(pkt, pcm)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidPacket, err)
	}
	return n, nil
}

// Conceal fills pcm, a whole number of 2.5 ms, in place of a lost packet. With next, the
// packet after the lost one, it uses next's in-band FEC when next carries it; otherwise,
// or if next is malformed, it uses packet loss concealment.
func (d *Decoder) Conceal(next []byte, pcm []int16) error {
	if next != nil {
		if _, err := PacketSamples(next); err == nil && d.dec.DecodeFEC(next, pcm) == nil {
			return nil
		}
	}
	if err := d.dec.DecodePLC(pcm); err != nil {
		return fmt.Errorf("opus concealment: %w", err)
	}
	return nil
}

// Reset forgets the stream's state, for a new stream.
func (d *Decoder) Reset() error {
	dec, err := opus.NewDecoder(SampleRate, 1) // the binding cannot re-initialize one
	if err != nil {
		return fmt.Errorf("opus decoder: %w", err)
	}
	d.dec = dec
	return nil
}
