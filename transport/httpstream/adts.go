package httpstream

import (
	"errors"
	"fmt"

	"github.com/spacetui/spacetui/transport"
)

// AAC in ADTS (ISO/IEC 13818-7 and 14496-3, 1.A.2): the form in which spacetui hands on
// every AAC frame (transport.CodecAAC), whatever the stream carried.

// adtsHeaderLen is the length of an ADTS header without a CRC; one with a CRC is 9.
const adtsHeaderLen = 7

// maxADTSFrame is the largest frame the 13-bit frame_length field can describe.
const maxADTSFrame = 1<<13 - 1

// aacFrameSamples is what one raw data block of AAC-LC holds, per channel.
const aacFrameSamples = 1024

// aacRates are the sampling frequencies by sampling_frequency_index; 13 to 15 are
// reserved (15 escapes to an explicit rate in an AudioSpecificConfig, never in ADTS).
var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// aacObjectLC is the audio object type of AAC-LC; ADTS's profile field is it minus one.
const aacObjectLC = 2

// frameHeader is what a frame's header says: ADTS or MPEG audio alike.
type frameHeader struct {
	codec   codecKind
	length  int    // the whole frame's length, header included
	rate    int    // samples per second
	samples int    // samples per channel in the frame
	fixed   uint32 // the fields every frame of one stream shares, to check a resync against
}

// codecKind is what kind of frames an elementary stream holds.
type codecKind uint8

const (
	kindUnknown codecKind = iota // not seen a frame yet
	kindADTS                     // ADTS AAC-LC
	kindMPA                      // MPEG-1/2/2.5 Layer III
)

// parseADTS reads the ADTS header at the start of b (at least adtsHeaderLen bytes) and
// says whether it is one spacetui hands on: the sync word, layer 0, AAC-LC, a valid
// sampling frequency, one raw data block, and a frame length that holds its header
// and something more.
func parseADTS(b []byte) (frameHeader, bool) {
	if len(b) < adtsHeaderLen || b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return frameHeader{}, false // no sync, or layer is not 0
	}
	profile := int(b[2] >> 6)
	sfi := int(b[2]>>2) & 0xf
	length := int(b[3]&0x3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	blocks := int(b[6] & 0x3)
	hdr := adtsHeaderLen
	if b[1]&0x1 == 0 {
		hdr += 2 // a CRC follows the header
	}
	if profile != aacObjectLC-1 || sfi >= len(aacRates) || blocks != 0 || length <= hdr {
		return frameHeader{}, false
	}
	// The fixed header: ID, layer, protection, profile, rate and channels.
	fixed := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]&0xc0)
	return frameHeader{codec: kindADTS, length: length, rate: aacRates[sfi], samples: aacFrameSamples, fixed: fixed}, true
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
	case aacObjectLC:
	case 5, 29:
		return audioConfig{}, fmt.Errorf("HE-AAC (audio object type %d), which spacetui does not play yet (only AAC-LC): %w", object, transport.ErrProtocol)
	default:
		return audioConfig{}, fmt.Errorf("AAC of audio object type %d, which spacetui does not play (only AAC-LC): %w", object, transport.ErrProtocol)
	}
	c := audioConfig{rateIndex: int(v>>7) & 0xf, channels: int(v>>3) & 0xf}
	if c.rateIndex >= len(aacRates) {
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
	f[2] = byte(aacObjectLC-1)<<6 | byte(c.rateIndex)<<2 | byte(c.channels>>2)
	f[3] = byte(c.channels&0x3)<<6 | byte(n>>11)
	f[4] = byte(n >> 3)
	f[5] = byte(n&0x7)<<5 | 0x1f // buffer fullness 0x7ff: variable bit rate
	f[6] = 0xfc                  // ... and one raw data block
	copy(f[adtsHeaderLen:], au)
	return f, true
}
