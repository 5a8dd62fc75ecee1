package httpstream

import (
	"errors"
	"fmt"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// AAC in ADTS (ISO/IEC 13818-7 and 14496-3, 1.A.2): the form in which spacetui hands on
// every AAC frame (transport.CodecAAC), whatever the stream carried.

// adtsHeaderLen is the length of the ADTS header adtsFrame writes: no CRC.
const adtsHeaderLen = 7

// maxADTSFrame is the largest frame the 13-bit frame_length field can describe.
const maxADTSFrame = 1<<13 - 1

// acceptADTS parses the ADTS header at the start of b and says whether it is one
// spacetui hands on: AAC-LC, one raw data block, and a frame that holds something
// more than its header.
func acceptADTS(b []byte) (audio.FrameHeader, bool) {
	h, err := audio.ParseADTS(b)
	return h, err == nil && h.ObjectType == audio.AACObjectLC && h.Blocks == 1 && h.Length > h.HeaderLength
}

// audioConfig is what an MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3, 1.6.2.1) says
// about AAC: enough to write an ADTS header before each raw access unit.
type audioConfig struct {
	rateIndex int // sampling_frequency_index
	channels  int // channelConfiguration
}

// parseAudioConfig reads an AudioSpecificConfig, accepting AAC-LC only: HE-AAC (SBR,
// PS) and the other object types need what spacetui's decoders do not have.
func parseAudioConfig(b []byte) (audioConfig, error) {
	if len(b) < 2 {
		return audioConfig{}, errors.New("AudioSpecificConfig: too short")
	}
	v := uint32(b[0])<<8 | uint32(b[1])
	object := int(v >> 11)
	switch object {
	case audio.AACObjectLC:
	case 5, 29:
		return audioConfig{}, fmt.Errorf("HE-AAC (audio object type %d), which spacetui does not play yet (only AAC-LC): %w", object, transport.ErrProtocol)
	default:
		return audioConfig{}, fmt.Errorf("AAC of audio object type %d, which spacetui does not play (only AAC-LC): %w", object, transport.ErrProtocol)
	}
	c := audioConfig{rateIndex: int(v>>7) & 0xf, channels: int(v>>3) & 0xf}
	if _, ok := audio.AACSampleRate(c.rateIndex); !ok {
		// 15 is an explicit 24-bit rate, which ADTS cannot carry.
		return audioConfig{}, fmt.Errorf("AudioSpecificConfig: sampling frequency index %d: %w", c.rateIndex, transport.ErrProtocol)
	}
	if c.channels == 0 || c.channels > 7 {
		return audioConfig{}, fmt.Errorf("AudioSpecificConfig: channel configuration %d: %w", c.channels, transport.ErrProtocol)
	}
	return c, nil
}

// adtsFrame returns an ADTS frame of the raw access unit au: a header without a CRC
// written from c, then au. ok is false for an access unit too long for ADTS.
func (c audioConfig) adtsFrame(au []byte) ([]byte, bool) {
	n := adtsHeaderLen + len(au)
	if n > maxADTSFrame {
		return nil, false
	}
	f := make([]byte, n)
	f[0] = 0xff
	f[1] = 0xf1 // MPEG-4, layer 0, no CRC
	f[2] = byte(audio.AACObjectLC-1)<<6 | byte(c.rateIndex)<<2 | byte(c.channels>>2)
	f[3] = byte(c.channels&0x3)<<6 | byte(n>>11)
	f[4] = byte(n >> 3)
	f[5] = byte(n&0x7)<<5 | 0x1f // buffer fullness 0x7ff: variable bit rate
	f[6] = 0xfc                  // ... and one raw data block
	copy(f[adtsHeaderLen:], au)
	return f, true
}
