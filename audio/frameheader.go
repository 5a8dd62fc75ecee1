package audio

import "fmt"

// adtsHeader is what the AAC decoder needs of an ADTS frame header (ISO/IEC 14496-3
// 1.A.2.2): the frame's length, so that exactly one frame reaches go-aac, and its
// configuration, so that a stream that changes rate or channels gets a fresh decoder.
type adtsHeader struct {
	rate     int // Hz
	channels int // the channel configuration: 1 mono, 2 stereo; 0 or above 2 is not decoded
	length   int // bytes, header included
	blocks   int // raw data blocks, of 1024 samples each
}

// adtsRates maps sampling_frequency_index to Hz; 13 to 15 are reserved.
var adtsRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// parseADTS parses the ADTS header at the start of b. It rejects at least what go-aac
// rejects (no syncword, a reserved rate, a length shorter than the header), so a frame
// that passes is one frame to go-aac too.
func parseADTS(b []byte) (adtsHeader, error) {
	if len(b) < 7 || b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return adtsHeader{}, fmt.Errorf("%w: no ADTS header", ErrCorruptFrame)
	}
	sfi := int(b[2]>>2) & 0xf
	if sfi >= len(adtsRates) {
		return adtsHeader{}, fmt.Errorf("%w: ADTS sample rate index %d", ErrCorruptFrame, sfi)
	}
	h := adtsHeader{
		rate:     adtsRates[sfi],
		channels: int(b[2]&1)<<2 | int(b[3]>>6),
		length:   int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5),
		blocks:   int(b[6]&3) + 1,
	}
	hdr := 7
	if b[1]&1 == 0 {
		hdr = 9 // with a CRC
	}
	if h.length < hdr {
		return adtsHeader{}, fmt.Errorf("%w: ADTS frame length %d", ErrCorruptFrame, h.length)
	}
	return h, nil
}

// mpegHeader is what the MP3 decoder needs of an MPEG audio frame header (ISO/IEC
// 11172-3 2.4.2.3, 13818-3 for the lower rates).
type mpegHeader struct {
	version  int // 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5)
	layer    int // 1, 2 or 3
	rate     int // Hz
	bitrate  int // kbit/s
	channels int // 1 or 2
	samples  int // per channel in the frame
	length   int // bytes, header included
	crc      bool
}

// Layer III bit rates in kbit/s by bitrate_index, for MPEG-1 and for MPEG-2 and 2.5;
// index 0 (free format) and 15 are not decoded.
var (
	mpeg1L3Bitrates = [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	mpeg2L3Bitrates = [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	mpegRates       = [3]int{44100, 48000, 32000} // MPEG-1; halved for MPEG-2, quartered for 2.5
)

// parseMPEG parses the MPEG audio header at the start of b. Layers I and II parse too
// (their length is not computed), so that the caller can name them as unsupported rather
// than corrupt.
func parseMPEG(b []byte) (mpegHeader, error) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return mpegHeader{}, fmt.Errorf("%w: no MPEG audio header", ErrCorruptFrame)
	}
	var h mpegHeader
	switch b[1] >> 3 & 3 {
	case 0:
		h.version = 25
	case 2:
		h.version = 2
	case 3:
		h.version = 1
	default:
		return mpegHeader{}, fmt.Errorf("%w: reserved MPEG version", ErrCorruptFrame)
	}
	h.layer = 4 - int(b[1]>>1&3)
	if h.layer == 4 {
		return mpegHeader{}, fmt.Errorf("%w: reserved MPEG layer", ErrCorruptFrame)
	}
	h.crc = b[1]&1 == 0
	bri, sri := int(b[2]>>4), int(b[2]>>2&3)
	if bri == 0 || bri == 15 || sri == 3 {
		return mpegHeader{}, fmt.Errorf("%w: MPEG bit rate index %d, rate index %d", ErrCorruptFrame, bri, sri)
	}
	h.channels = 2
	if b[3]>>6 == 3 {
		h.channels = 1
	}
	if h.layer != 3 {
		return h, nil
	}
	pad := int(b[2] >> 1 & 1)
	switch h.version {
	case 1:
		h.rate, h.bitrate, h.samples = mpegRates[sri], mpeg1L3Bitrates[bri], 1152
		h.length = 144000*h.bitrate/h.rate + pad
	case 2:
		h.rate, h.bitrate, h.samples = mpegRates[sri]/2, mpeg2L3Bitrates[bri], 576
		h.length = 72000*h.bitrate/h.rate + pad
	default:
		h.rate, h.bitrate, h.samples = mpegRates[sri]/4, mpeg2L3Bitrates[bri], 576
		h.length = 72000*h.bitrate/h.rate + pad
	}
	return h, nil
}

// sideInfo returns where a Layer III frame's side information starts and how long it
// is.
func (h mpegHeader) sideInfo() (start, size int) {
	start = 4
	if h.crc {
		start += 2
	}
	switch {
	case h.version == 1 && h.channels == 1:
		size = 17
	case h.version == 1:
		size = 32
	case h.channels == 1:
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
func (h mpegHeader) mainDataBegin(frame []byte) (begin, size int) {
	start, si := h.sideInfo()
	if h.version == 1 {
		begin = int(frame[start])<<1 | int(frame[start+1]>>7)
	} else {
		begin = int(frame[start])
	}
	return begin, h.length - start - si
}
