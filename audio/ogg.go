package audio

import (
	"encoding/binary"
	"time"
)

// Ogg framing (RFC 3533) and the Opus mapping (RFC 7845).
const (
	// DefaultPreSkip is the pre-skip libopus encoders use, in 48 kHz samples, and the
	// OggWriter's default.
	DefaultPreSkip = 312
	// OggVendor is the vendor string the OggWriter puts in OpusTags.
	OggVendor = "spacetui"

	oggHeaderLen   = 27
	oggMaxSegments = 255
	oggFlagCont    = 0x01
	oggFlagBOS     = 0x02
	oggFlagEOS     = 0x04
	opusHeadMagic  = "OpusHead"
	opusTagsMagic  = "OpusTags"
	opusHeadLen    = 19
	oggPageAudio   = SampleRate / 2 // a page at least every 500 ms of audio
	granuleNone    = ^uint64(0)     // no packet ends on the page
)

// OpusHead is the identification header of an Ogg Opus stream (RFC 7845 section 5.1).
type OpusHead struct {
	Version       uint8
	Channels      int
	PreSkip       int
	InputRate     uint32
	OutputGain    int16
	MappingFamily uint8
}

// marshal encodes a mapping-family-0 head.
func (h OpusHead) marshal() []byte {
	b := make([]byte, opusHeadLen)
	copy(b, opusHeadMagic)
	b[8] = 1
	b[9] = byte(h.Channels)
	binary.LittleEndian.PutUint16(b[10:], uint16(h.PreSkip))
	binary.LittleEndian.PutUint32(b[12:], h.InputRate)
	binary.LittleEndian.PutUint16(b[16:], uint16(h.OutputGain))
	b[18] = h.MappingFamily
	return b
}

// granuleDuration converts a granule position to the playable duration it marks.
func granuleDuration(granule uint64, preSkip int) time.Duration {
	return samplesToDuration(max(int64(granule)-int64(preSkip), 0))
}

// oggCRC is the Ogg checksum: CRC-32 with polynomial 0x04c11db7, not reflected, initial
// value and final XOR zero.
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(crc uint32, p []byte) uint32 {
	for _, b := range p {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b]
	}
	return crc
}
