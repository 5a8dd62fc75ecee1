package httpstream

import (
	"errors"
	"fmt"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// AAC in ADTS (ISO/IEC 13818-7 and 14496-3, 1.A.2): the form in which spacetui hands on
// every AAC frame (transport.CodecAAC), whatever the stream carried.

// acceptADTS parses the ADTS header at the start of b and says whether it is one
// spacetui hands on: AAC-LC, one raw data block, and a frame that holds something
// more than its header.
func acceptADTS(b []byte) (audio.FrameHeader, bool) {
	h, err := audio.ParseADTS(b)
	return h, err == nil && h.ObjectType == audio.AACObjectLC && h.Blocks == 1 && h.Length > h.HeaderLength
}

// parseAudioConfig reads an MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3, 1.6.2.1) for
// what the ADTS header before each raw access unit says, accepting AAC-LC only: HE-AAC
// (SBR, PS) and the other object types need what spacetui's decoders do not have.
func parseAudioConfig(b []byte) (audio.ADTSFormat, error) {
	if len(b) < 2 {
		return audio.ADTSFormat{}, errors.New("AudioSpecificConfig: too short")
	}
	v := uint32(b[0])<<8 | uint32(b[1])
	object := int(v >> 11)
	switch object {
	case audio.AACObjectLC:
	case 5, 29:
		return audio.ADTSFormat{}, fmt.Errorf("HE-AAC (audio object type %d), which spacetui does not play yet (only AAC-LC): %w", object, transport.ErrProtocol)
	default:
		return audio.ADTSFormat{}, fmt.Errorf("AAC of audio object type %d, which spacetui does not play (only AAC-LC): %w", object, transport.ErrProtocol)
	}
	c := audio.ADTSFormat{ObjectType: object, RateIndex: int(v>>7) & 0xf, Channels: int(v>>3) & 0xf}
	if _, ok := audio.AACSampleRate(c.RateIndex); !ok {
		// 15 is an explicit 24-bit rate, which ADTS cannot carry.
		return audio.ADTSFormat{}, fmt.Errorf("AudioSpecificConfig: sampling frequency index %d: %w", c.RateIndex, transport.ErrProtocol)
	}
	if c.Channels == 0 || c.Channels > 7 {
		return audio.ADTSFormat{}, fmt.Errorf("AudioSpecificConfig: channel configuration %d: %w", c.Channels, transport.ErrProtocol)
	}
	return c, nil
}
