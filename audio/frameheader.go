package audio

import (
	"fmt"

	"github.com/spacetui/spacetui/transport"
)

// FrameHeader is what the header of one ADTS frame of AAC (ISO/IEC 14496-3 1.A.2.2) or
// one MPEG audio frame (ISO/IEC 11172-3 2.4.2.3, 13818-3 for the lower rates) says:
// enough to cut a stream into frames, to place each on a timeline and to tell a frame
// of the stream from a stray sync word. ParseADTS and ParseMPEG are the one parser of
// each header for the decoders, the recorder and the transports; they reject only a
// header that breaks its format, and leave what each takes (a profile, a layer, a
// channel count) to the caller.
type FrameHeader struct {
	// Codec is transport.CodecAAC for an ADTS frame and transport.CodecMP3 for an
	// MPEG audio frame of any layer.
	Codec transport.Codec
	// Length is the frame's length in bytes, header included; it is at least
	// HeaderLength.
	Length int
	// HeaderLength is the header's length in bytes: 7 for ADTS and 4 for MPEG audio,
	// 2 more where a CRC follows.
	HeaderLength int
	// Rate is the sampling frequency in Hz.
	Rate int
	// Channels is, for ADTS, the channel configuration: 1 mono, 2 stereo, up to 7
	// (7.1), and 0 where a program config element in the frame gives the layout; for
	// MPEG audio, 1 (mono) or 2.
	Channels int
	// Samples is how many samples per channel the frame holds: 1024 per raw data
	// block in ADTS; 384 in Layer I, 1152 in Layer II and MPEG-1 Layer III, 576 in
	// Layer III of MPEG-2 and 2.5.
	Samples int
	// CRC says a CRC follows the header.
	CRC bool
	// Fixed holds the header's fields that every frame of one stream repeats: for
	// ADTS the ID, layer, CRC flag, profile, sampling frequency, private bit and
	// channel configuration; for MPEG audio the version, layer and sampling frequency
	// (the channel mode may change from frame to frame, as joint stereo does). Two
	// frames of one codec whose Fixed differ are not of one stream.
	Fixed uint32

	// ObjectType is, for ADTS, the MPEG-4 audio object type the profile field gives
	// (the field plus one): AACObjectLC for AAC-LC.
	ObjectType int
	// Blocks is, for ADTS, how many raw data blocks the frame holds: 1 to 4.
	Blocks int

	// Version is, for MPEG audio, 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5).
	Version int
	// Layer is, for MPEG audio, 1, 2 or 3 (MP3).
	Layer int
	// Bitrate is, for MPEG audio, the bit rate in kbit/s.
	Bitrate int
	// Padding says, for MPEG audio, that the frame has one slot more than its bit
	// rate gives (a byte; 4 in Layer I), as an encoder adds now and then to keep the
	// rate exact.
	Padding bool
}

// AACObjectLC is the MPEG-4 audio object type of AAC-LC (ISO/IEC 14496-3 Table 1.1).
const AACObjectLC = 2

// aacRates maps sampling_frequency_index to Hz (ISO/IEC 14496-3 Table 1.18); 13 and
// 14 are reserved, and 15 escapes to an explicit rate in an AudioSpecificConfig,
// never in ADTS.
var aacRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// AACSampleRate returns the sampling frequency in Hz of sampling_frequency_index i, as
// ADTS headers and AudioSpecificConfigs give it; ok is false for an index that names
// none (13 and above).
func AACSampleRate(i int) (rate int, ok bool) {
	if i < 0 || i >= len(aacRates) {
		return 0, false
	}
	return aacRates[i], true
}

// ParseADTS parses the ADTS header at the start of b. It fails with ErrCorruptFrame
// where there is none: no syncword, a layer that is not 0, a reserved sampling
// frequency, a frame length shorter than the header, or fewer than 7 bytes.
func ParseADTS(b []byte) (FrameHeader, error) {
	if len(b) < 7 || b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return FrameHeader{}, fmt.Errorf("%w: no ADTS header", ErrCorruptFrame)
	}
	sfi := int(b[2]>>2) & 0xf
	rate, ok := AACSampleRate(sfi)
	if !ok {
		return FrameHeader{}, fmt.Errorf("%w: ADTS sample rate index %d", ErrCorruptFrame, sfi)
	}
	h := FrameHeader{
		Codec:        transport.CodecAAC,
		Length:       int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5),
		HeaderLength: 7,
		Rate:         rate,
		Channels:     int(b[2]&1)<<2 | int(b[3]>>6),
		CRC:          b[1]&1 == 0, // protection_absent is 0
		Fixed:        uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]&0xc0),
		ObjectType:   int(b[2]>>6) + 1,
		Blocks:       int(b[6]&3) + 1,
	}
	h.Samples = 1024 * h.Blocks
	if h.CRC {
		h.HeaderLength = 9
	}
	if h.Length < h.HeaderLength {
		return FrameHeader{}, fmt.Errorf("%w: ADTS frame length %d", ErrCorruptFrame, h.Length)
	}
	return h, nil
}

// ADTSFormat is what the header of every ADTS frame of a stream repeats (ISO/IEC
// 14496-3, 1.A.2.2): what it takes to write one. ADTSFormat.AppendFrame is the one
// writer of ADTS headers, as ParseADTS is the one reader.
type ADTSFormat struct {
	// ObjectType is the MPEG-4 audio object type, 1 to 4: AACObjectLC for AAC-LC.
	ObjectType int
	// RateIndex is the sampling_frequency_index, 0 to 12 (AACSampleRate).
	RateIndex int
	// Channels is the channel_configuration, 0 to 7; 0 leaves the layout to a
	// program config element in the raw data block.
	Channels int
}

// ADTSHeaderLen is the length of the header AppendFrame writes: no CRC.
const ADTSHeaderLen = 7

// MaxADTSFrame is the longest frame, header included, the 13-bit frame_length of an
// ADTS header can describe.
const MaxADTSFrame = 1<<13 - 1

// AppendFrame appends to dst an ADTS frame of the one raw data block raw: a header
// written from f (MPEG-4, no CRC, buffer fullness 0x7ff: variable bit rate), then raw.
// ok is false, and dst returned as it was, for a frame longer than MaxADTSFrame or a
// format no ADTS header can carry.
func (f ADTSFormat) AppendFrame(dst, raw []byte) (out []byte, ok bool) {
	n := ADTSHeaderLen + len(raw)
	if n > MaxADTSFrame || f.ObjectType < 1 || f.ObjectType > 4 || f.Channels < 0 || f.Channels > 7 {
		return dst, false
	}
	if _, ok := AACSampleRate(f.RateIndex); !ok {
		return dst, false
	}
	dst = append(dst,
		0xff,
		0xf1, // MPEG-4, layer 0, protection_absent: no CRC
		byte(f.ObjectType-1)<<6|byte(f.RateIndex)<<2|byte(f.Channels>>2), // no private bit
		byte(f.Channels&3)<<6|byte(n>>11),                                // no original_copy, home
		byte(n>>3),
		byte(n&7)<<5|0x1f, // buffer fullness 0x7ff: variable bit rate...
		0xfc)              // ... and one raw data block
	return append(dst, raw...), true
}

// AACRateIndex returns the sampling_frequency_index of rate Hz; ok is false for a rate
// that has none (ADTS cannot carry it).
func AACRateIndex(rate int) (i int, ok bool) {
	for i, r := range aacRates {
		if r == rate {
			return i, true
		}
	}
	return 0, false
}

// mpegBitrates are the bit rates in kbit/s by bitrate_index, for MPEG-1 and for MPEG-2
// and 2.5, by layer. Index 0 (free format, whose frames' length is not in the header)
// and 15 are not accepted.
var mpegBitrates = [2][3][15]int{
	{
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	},
	{
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	},
}

// mpegRates are MPEG-1's sampling frequencies; MPEG-2 halves them, MPEG-2.5 quarters.
var mpegRates = [3]int{44100, 48000, 32000}

// ParseMPEG parses the MPEG audio header at the start of b. It fails with
// ErrCorruptFrame where there is none: no sync, a reserved version, layer, bit rate
// or sampling frequency, free format (bit rate index 0: the frame's length is not in
// its header), or fewer than 4 bytes. Layers I and II parse too, so that a caller can
// name them as what it does not take rather than as corrupt.
func ParseMPEG(b []byte) (FrameHeader, error) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return FrameHeader{}, fmt.Errorf("%w: no MPEG audio header", ErrCorruptFrame)
	}
	h := FrameHeader{Codec: transport.CodecMP3, HeaderLength: 4, Channels: 2}
	lower, shift := 1, 0 // the bit rate table, and how far MPEG-1's rates are halved
	switch b[1] >> 3 & 3 {
	case 0:
		h.Version, shift = 25, 2
	case 2:
		h.Version, shift = 2, 1
	case 3:
		h.Version, lower = 1, 0
	default:
		return FrameHeader{}, fmt.Errorf("%w: reserved MPEG version", ErrCorruptFrame)
	}
	h.Layer = 4 - int(b[1]>>1&3)
	if h.Layer == 4 {
		return FrameHeader{}, fmt.Errorf("%w: reserved MPEG layer", ErrCorruptFrame)
	}
	bri, sri := int(b[2]>>4), int(b[2]>>2&3)
	if bri == 0 || bri == 15 || sri == 3 {
		return FrameHeader{}, fmt.Errorf("%w: MPEG bit rate index %d, rate index %d", ErrCorruptFrame, bri, sri)
	}
	h.CRC = b[1]&1 == 0 // protection_bit is 0
	if h.CRC {
		h.HeaderLength = 6
	}
	h.Padding = b[2]>>1&1 == 1
	if b[3]>>6 == 3 {
		h.Channels = 1
	}
	h.Fixed = uint32(b[1]&0xfe)<<8 | uint32(b[2]&0x0c)
	h.Rate = mpegRates[sri] >> shift
	h.Bitrate = mpegBitrates[lower][h.Layer-1][bri]
	// A frame is Samples/8 bytes per bit/s of bit rate, whole slots of it, and the
	// padding slot: slots are bytes, and 4 bytes in Layer I.
	h.Samples = 1152
	slot := 1
	switch {
	case h.Layer == 1:
		h.Samples, slot = 384, 4
	case h.Layer == 3 && h.Version != 1:
		h.Samples = 576
	}
	slots := h.Samples / 8 * h.Bitrate * 1000 / h.Rate / slot
	if h.Padding {
		slots++
	}
	h.Length = slots * slot
	return h, nil
}

// sideInfo returns where a Layer III frame's side information starts and how long it
// is.
func (h FrameHeader) sideInfo() (start, size int) {
	start = h.HeaderLength
	switch {
	case h.Version == 1 && h.Channels == 1:
		size = 17
	case h.Version == 1:
		size = 32
	case h.Channels == 1:
		size = 9
	default:
		size = 17
	}
	return start, size
}

// mainDataBegin returns how many bytes before the frame's own main data its audio
// starts, in the bit reservoir of the frames before it (ISO/IEC 11172-3 2.4.1.7), and
// how many bytes of main data the frame itself carries. frame is a whole Layer III
// frame.
func (h FrameHeader) mainDataBegin(frame []byte) (begin, size int) {
	start, si := h.sideInfo()
	if h.Version == 1 {
		begin = int(frame[start])<<1 | int(frame[start+1]>>7)
	} else {
		begin = int(frame[start])
	}
	return begin, h.Length - start - si
}
