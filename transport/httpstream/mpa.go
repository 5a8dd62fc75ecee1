package httpstream

// MPEG audio (ISO/IEC 11172-3 and 13818-3): MP3 frames, handed on whole, header
// included (transport.CodecMP3).

// mpaHeaderLen is the length of an MPEG audio frame header.
const mpaHeaderLen = 4

// Layer III bit rates in kbit/s by bitrate_index, for MPEG-1 and for MPEG-2 and 2.5;
// index 0 (free format) and 15 are not accepted.
var (
	mp3Rates1 = [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	mp3Rates2 = [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	// mpaRates are MPEG-1's sampling frequencies; MPEG-2 halves and MPEG-2.5 quarters them.
	mpaRates = [3]int{44100, 48000, 32000}
)

// parseMPA reads the MPEG audio header at the start of b (at least mpaHeaderLen bytes)
// and says whether it is one spacetui hands on: the sync, a known version, Layer III,
// a bit rate that is not free format and a valid sampling frequency.
func parseMPA(b []byte) (frameHeader, bool) {
	if len(b) < mpaHeaderLen || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return frameHeader{}, false
	}
	version := (b[1] >> 3) & 0x3 // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
	layer := (b[1] >> 1) & 0x3   // 1: Layer III
	bri := int(b[2] >> 4)
	sri := int(b[2]>>2) & 0x3
	pad := int(b[2]>>1) & 0x1
	if version == 1 || layer != 1 || bri == 0 || bri == 15 || sri == 3 {
		return frameHeader{}, false
	}
	rate := mpaRates[sri]
	kbps, per, samples := mp3Rates1[bri], 144, 1152
	switch version {
	case 2:
		rate /= 2
		kbps, per, samples = mp3Rates2[bri], 72, 576
	case 0:
		rate /= 4
		kbps, per, samples = mp3Rates2[bri], 72, 576
	}
	length := per*kbps*1000/rate + pad
	// The fixed fields: version, layer and sampling frequency; the channel mode may
	// change between frames of one stream (joint stereo), the rest must not.
	fixed := uint32(b[1]&0xfe)<<8 | uint32(b[2]&0x0c)
	return frameHeader{codec: kindMPA, length: length, rate: rate, samples: samples, fixed: fixed}, true
}
