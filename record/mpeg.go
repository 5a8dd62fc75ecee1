package record

import "errors"

// An MP3 track is MPEG audio frames (ISO/IEC 11172-3, 13818-3 for the lower rates) as
// received, back to back, each with its header.

// Layer III bit rates in kbit/s by bitrate_index, for MPEG-1 and for MPEG-2 and 2.5;
// index 0 (free format) is not read: its frames' length is not in the header.
var mpegBitrates = [2][15]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
}

// mpegRates are MPEG-1's sampling frequencies; MPEG-2 halves them, MPEG-2.5 quarters.
var mpegRates = [3]int{44100, 48000, 32000}

// mpegWriter writes an MP3 track. Its silence is a frame with the stream's header (no
// CRC) and nothing but zeros after it: side information that says no granule has main
// data (part2_3_length 0) nor takes any from the bit reservoir (main_data_begin 0). It
// has the stream's bit rate, so a constant bit rate file stays one (players estimate
// its duration from that), and it sets the padding bit where an encoder would, so the
// rate is exact over many frames.
type mpegWriter struct {
	rawWriter
	hdr    [4]byte // the header of the last frame read
	frames int64   // frames written: whether the next frame of silence is padded
	buf    []byte  // the frame of silence, zero after its header
}

// mpegHeader reads a Layer III frame header: how long the frame lasts, and how many
// bytes it has without its padding byte, times the rate (the remainder decides the
// padding).
func mpegHeader(h []byte) (l frameLen, bytesByRate int, ok bool) {
	if len(h) < 4 || h[0] != 0xff || h[1]&0xe0 != 0xe0 || h[1]>>1&3 != 1 {
		return frameLen{}, 0, false // no sync word, or not Layer III
	}
	version, bri, sri := h[1]>>3&3, int(h[2]>>4), int(h[2]>>2&3)
	if version == 1 || bri == 0 || bri == 15 || sri == 3 {
		return frameLen{}, 0, false // reserved, or free format
	}
	switch version {
	case 3: // MPEG-1
		return frameLen{1152, mpegRates[sri]}, 144000 * mpegBitrates[0][bri], true
	case 2: // MPEG-2
		return frameLen{576, mpegRates[sri] / 2}, 72000 * mpegBitrates[1][bri], true
	default: // MPEG-2.5
		return frameLen{576, mpegRates[sri] / 4}, 72000 * mpegBitrates[1][bri], true
	}
}

func (w *mpegWriter) length(p []byte) (frameLen, error) {
	l, n, ok := mpegHeader(p)
	if !ok || len(p) != n/l.rate+int(p[2]>>1&1) {
		return frameLen{}, errors.New("an MPEG audio frame that cannot be read")
	}
	w.hdr = [4]byte(p)
	return l, nil
}

func (w *mpegWriter) silenceLen() frameLen {
	l, _, _ := mpegHeader(w.hdr[:]) // zero before a frame was read
	return l
}

func (w *mpegWriter) write(p []byte) error {
	w.frames++
	return w.rawWriter.write(p)
}

func (w *mpegWriter) writeSilence() error {
	l, n, _ := mpegHeader(w.hdr[:])
	k, rate := w.frames, int64(l.rate)
	pad := (k+1)*int64(n)/rate - k*int64(n)/rate - int64(n)/rate // 1 where the bytes so far fall a whole byte short
	size := n/l.rate + int(pad)
	if cap(w.buf) < n/l.rate+1 {
		w.buf = make([]byte, n/l.rate+1)
	}
	f := w.buf[:size]
	f[0], f[1], f[2], f[3] = 0xff, w.hdr[1]|1, w.hdr[2]&^2|byte(pad)<<1, w.hdr[3] // no CRC; padded or not
	w.frames++
	return w.rawWriter.write(f)
}
