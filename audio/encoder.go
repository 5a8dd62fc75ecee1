//go:build cgo

package audio

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// Encoder encodes 20 ms mono frames to Opus, for the mixed recording and the server's
// listen.ogg. It is not safe for concurrent use.
type Encoder struct {
	enc *opus.Encoder
	buf []byte
}

// NewEncoder returns a mono 48 kHz Opus encoder at bitrate bits per second.
func NewEncoder(bitrate int) (*Encoder, error) {
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppAudio)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	return &Encoder{enc: enc, buf: make([]byte, maxFramePayload)}, nil
}

// Encode encodes one frame of FrameSamples samples and returns a new packet.
func (e *Encoder) Encode(pcm []int16) ([]byte, error) {
	n, err := e.enc.Encode(pcm, e.buf)
	if err != nil {
		return nil, fmt.Errorf("opus encode: %w", err)
	}
	return append([]byte(nil), e.buf[:n]...), nil
}

// maxFramePayload is the largest Opus packet of one frame (RFC 6716, 3.2.1).
const maxFramePayload = 1275
