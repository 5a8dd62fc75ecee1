package audio

import (
	"fmt"
	"io"

	"github.com/spacetui/spacetui/transport"
)

// FrameDecoder decodes one track's packets of one codec to mono 48 kHz PCM and conceals
// lost packets. It is for one goroutine.
type FrameDecoder interface {
	// Decode decodes pkt into pcm and returns the samples written. pcm has room for
	// 140 ms, the longest packet of any codec (an AAC frame at 7.35 kHz); packets need
	// not be 20 ms long.
	Decode(pkt []byte, pcm []int16) (int, error)
	// Conceal fills pcm for a missing packet: as long as the packet was, or 20 ms where
	// the pipeline deepens its buffer. next, if known, is the packet after it.
	Conceal(next []byte, pcm []int16) error
	// Reset forgets the stream's state, for a new stream on the same track.
	Reset() error
}

// SetupDecoder is a FrameDecoder of a codec whose packets are not self-describing
// (Vorbis): it is handed the stream's headers each frame carries
// (transport.AudioFrame.Setup) before the frame's Decode, and starts a new stream when
// they change.
type SetupDecoder interface {
	FrameDecoder
	SetSetup(setup []byte)
}

var (
	_ FrameDecoder = (*Decoder)(nil)
	_ FrameDecoder = (*aacDecoder)(nil)
	_ FrameDecoder = (*mp3Decoder)(nil)
	_ SetupDecoder = (*vorbisDecoder)(nil)
)

// NewFrameDecoder returns a decoder for codec's payloads as transport.Codec defines them:
// Opus packets, ADTS frames of AAC-LC, MPEG-1 and MPEG-2 Layer III frames, or Vorbis
// packets (a SetupDecoder). Another codec fails with ErrUnsupportedCodec; Opus fails
// with ErrNeedsFullBuild without cgo, while AAC, MP3 and Vorbis, decoded in pure Go, work
// in every build.
//
// The AAC, MP3 and Vorbis decoders allocate their codec's state only at the first
// packet. A frame they cannot decode returns an error wrapping ErrCorruptFrame, or
// ErrUnsupportedCodec for a well-formed stream they do not decode (HE-AAC, more than two
// channels, MPEG-2.5, Layers I and II) and for a Vorbis stream whose headers are missing
// or do not parse; either way the next frame decodes afresh.
func NewFrameDecoder(codec transport.Codec) (FrameDecoder, error) {
	switch codec {
	case transport.CodecOpus:
		return NewDecoder()
	case transport.CodecAAC:
		return &aacDecoder{}, nil
	case transport.CodecMP3:
		return &mp3Decoder{}, nil
	case transport.CodecVorbis:
		return &vorbisDecoder{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, codec)
}

// packetReader hands a streaming decoder one packet at a time: it reads out the packet
// it holds and then reports io.EOF, until it is given the next.
type packetReader struct {
	pkt []byte
}

func (r *packetReader) Read(p []byte) (int, error) {
	if len(r.pkt) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pkt)
	r.pkt = r.pkt[n:]
	return n, nil
}
