package audio

import (
	"errors"
	"fmt"

	aacpcm "github.com/tphakala/go-aac/pcm"
)

// aacSamples is the length of an AAC-LC frame per channel.
const aacSamples = 1024

// aacDecoder decodes a track of ADTS AAC-LC frames with go-aac, one frame per Decode,
// to mono 48 kHz. go-aac has no per-frame API: it decodes a stream from an io.Reader, so
// the decoder hands it each frame through a packetReader and asks for exactly one
// frame's PCM, which go-aac decodes from exactly the bytes it was given. go-aac latches
// its first error for good; the decoder then resets it at the next frame, so a corrupt
// frame costs that frame only.
type aacDecoder struct {
	in       packetReader
	dec      *aacpcm.Decoder // nil until the first frame
	rate     int             // the stream dec was set up for
	channels int
	stale    bool   // dec must be reset before the next frame: it failed, or the stream is new
	s16      []byte // one frame of go-aac's output
	rs       resampler
}

// Decode decodes one ADTS frame (header and one raw data block; bytes after the frame
// are ignored) into pcm.
func (d *aacDecoder) Decode(pkt []byte, pcm []int16) (int, error) {
	h, err := ParseADTS(pkt)
	if err != nil {
		return 0, err
	}
	switch {
	case h.Length > len(pkt):
		return 0, fmt.Errorf("%w: ADTS frame of %d bytes in a packet of %d", ErrCorruptFrame, h.Length, len(pkt))
	case h.Blocks != 1:
		return 0, fmt.Errorf("%w: ADTS frame of %d raw data blocks", ErrUnsupportedCodec, h.Blocks)
	case h.Channels != 1 && h.Channels != 2:
		return 0, fmt.Errorf("%w: AAC channel configuration %d", ErrUnsupportedCodec, h.Channels)
	}
	d.in.pkt = pkt[:h.Length]
	if err := d.prepare(h); err != nil {
		return 0, err
	}
	if d.s16 == nil {
		d.s16 = make([]byte, aacSamples*2*2)
	}
	// One Read returns the frame's PCM whole (go-aac copies out the frame it decoded);
	// a second would ask the reader for the next frame, which is not there yet.
	n, err := d.dec.Read(d.s16)
	if err != nil || n != aacSamples*2*h.Channels {
		d.stale = true
		if err == nil {
			err = fmt.Errorf("decoded %d bytes", n)
		}
		return 0, aacError(err)
	}
	return d.rs.convert(d.s16[:n], h.Channels, h.Rate, pcm)
}

// prepare readies go-aac for the frame in d.in with header h: it makes the decoder at
// the first frame and resets it after an error or when the stream's configuration
// changes, which go-aac would refuse mid-stream.
func (d *aacDecoder) prepare(h FrameHeader) error {
	var err error
	switch {
	case d.dec == nil:
		d.dec, err = aacpcm.NewDecoder(&d.in)
	case d.stale || h.Rate != d.rate || h.Channels != d.channels:
		err = d.dec.Reset(&d.in)
	default:
		return nil
	}
	if err != nil {
		d.stale = true
		return aacError(err)
	}
	d.stale, d.rate, d.channels = false, h.Rate, h.Channels
	return nil
}

// aacError wraps an error of go-aac in ErrUnsupportedCodec for a stream it does not
// decode (HE-AAC, another profile), and in ErrCorruptFrame otherwise.
func aacError(err error) error {
	if errors.Is(err, aacpcm.ErrUnsupported) {
		return fmt.Errorf("%w: aac: %w", ErrUnsupportedCodec, err)
	}
	return fmt.Errorf("%w: aac: %w", ErrCorruptFrame, err)
}

// Conceal fills pcm with silence: go-aac has no concealment of its own.
func (d *aacDecoder) Conceal(next []byte, pcm []int16) error {
	clear(pcm)
	return nil
}

// Reset forgets the stream: go-aac is reset at the next frame, keeping its buffers.
func (d *aacDecoder) Reset() error {
	d.stale = true
	d.rs.reset()
	return nil
}
