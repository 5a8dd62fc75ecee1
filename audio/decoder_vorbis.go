package audio

import (
	"fmt"
	"math"

	"github.com/jfreymuth/vorbis"
)

// vorbisMaxChannels is the most channels the Vorbis decoder mixes down; a stream of more
// is ErrUnsupportedCodec (libvorbis's encoder maps up to 8, 7.1).
const vorbisMaxChannels = 8

// vorbisDecoder decodes a track of Vorbis packets with jfreymuth/vorbis, one packet per
// Decode, to mono 48 kHz. A Vorbis packet says nothing of its stream: the decoder is set
// up from the header packets each frame carries (transport.AudioFrame.Setup, handed in
// with SetSetup), at the first packet, and again whenever the frames bring another Setup
// (the next link of a chained Ogg stream).
//
// jfreymuth/vorbis trusts its input; the decoder hands it only header packets that
// ParseVorbisHeaders passed, and a panic of it on an audio packet is that packet's error.
type vorbisDecoder struct {
	given  []byte // the Setup the last frame carried
	setup  []byte // the Setup dec was made from
	dec    *vorbis.Decoder
	h      *VorbisHeaders
	failed error // why setup cannot be decoded, until another comes
	f32    []float32
	mono   []int16
	rs     resampler
}

// SetSetup hands the decoder the Setup of the frame it decodes next.
func (d *vorbisDecoder) SetSetup(setup []byte) { d.given = setup }

// Decode decodes one Vorbis audio packet into pcm. The first packet of a stream, and
// the first after Reset or a packet that failed, decodes to no samples: Vorbis overlaps
// each packet's block with the one before.
func (d *vorbisDecoder) Decode(pkt []byte, pcm []int16) (int, error) {
	if err := d.prepare(); err != nil {
		return 0, err
	}
	if _, err := d.h.PacketLong(pkt); err != nil {
		return 0, err
	}
	out, err := d.decode(pkt)
	if err != nil {
		d.dec.Clear()
		return 0, fmt.Errorf("%w: vorbis: %w", ErrCorruptFrame, err)
	}
	ch := d.h.Channels
	d.mono = d.mono[:0]
	for i := 0; i+ch <= len(out); i += ch {
		var sum float32
		for _, v := range out[i : i+ch] {
			sum += v
		}
		d.mono = append(d.mono, toS16(sum/float32(ch)))
	}
	return d.rs.convertMono(d.mono, d.h.Rate, pcm)
}

// decode runs jfreymuth/vorbis on one packet. It panics on some corrupt packets (an
// index out of range); such a panic is the packet's error.
func (d *vorbisDecoder) decode(pkt []byte) (out []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("jfreymuth/vorbis panicked: %v", r)
		}
	}()
	return d.dec.DecodeInto(pkt, d.f32)
}

// prepare makes the decoder for the Setup the last frame carried, if it has not been
// made for it yet: at the first packet and at a new link.
func (d *vorbisDecoder) prepare() error {
	if sameSlice(d.given, d.setup) && (d.dec != nil || d.failed != nil) {
		return d.failed
	}
	d.setup, d.dec, d.h, d.failed = d.given, nil, nil, nil
	h, dec, err := newVorbis(d.setup)
	if err != nil {
		d.failed = fmt.Errorf("%w: vorbis: %w", ErrUnsupportedCodec, err)
		return d.failed
	}
	d.h, d.dec = h, dec
	if n := dec.BufferSize(); cap(d.f32) < n {
		d.f32 = make([]float32, n)
	}
	d.f32 = d.f32[:cap(d.f32)]
	d.rs.reset()
	return nil
}

// newVorbis checks a Setup and makes a decoder of it.
func newVorbis(setup []byte) (h *VorbisHeaders, dec *vorbis.Decoder, err error) {
	if setup == nil {
		return nil, nil, fmt.Errorf("%w: a frame without the stream's headers", ErrBadVorbis)
	}
	id, comment, sh, err := SplitVorbisSetup(setup)
	if err != nil {
		return nil, nil, err
	}
	if h, err = ParseVorbisHeaders(id, comment, sh); err != nil {
		return nil, nil, err
	}
	if h.Channels > vorbisMaxChannels {
		return nil, nil, fmt.Errorf("%d channels", h.Channels)
	}
	if most := h.MaxSamples() * SampleRate / h.Rate; most > decodeSamples {
		return nil, nil, fmt.Errorf("packets of up to %d samples at %d Hz, longer than %d ms", h.MaxSamples(), h.Rate, decodeSamples/48)
	}
	defer func() {
		if r := recover(); r != nil {
			h, dec, err = nil, nil, fmt.Errorf("jfreymuth/vorbis panicked on the headers: %v", r)
		}
	}()
	dec = &vorbis.Decoder{}
	// The comment header is not needed to decode, and jfreymuth/vorbis allocates what
	// its count says before it reads a comment.
	for _, p := range [][]byte{id, sh} {
		if err := dec.ReadHeader(p); err != nil {
			return nil, nil, err
		}
	}
	return h, dec, nil
}

// sameSlice reports whether a and b are the same slice, not only equal.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// toS16 converts a float sample of [-1, 1] to 16 bits, clipping.
func toS16(v float32) int16 {
	return int16(max(min(math.Round(float64(v)*32767), 32767), -32768))
}

// Conceal fills pcm with silence. The next packet still overlaps with the last one
// decoded, which fades it out, rather than starting from nothing.
func (d *vorbisDecoder) Conceal(next []byte, pcm []int16) error {
	clear(pcm)
	return nil
}

// Reset forgets the stream: the next packet only primes the decoder.
func (d *vorbisDecoder) Reset() error {
	if d.dec != nil {
		d.dec.Clear()
	}
	d.rs.reset()
	return nil
}
