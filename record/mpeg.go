package record

import (
	"errors"

	"github.com/spacetui/spacetui/audio"
)

// An MP3 track is MPEG audio frames (ISO/IEC 11172-3, 13818-3 for the lower rates) as
// received, back to back, each with its header.

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

// mpegHeader reads the header of a frame the writer takes: Layer III, whose silence it
// knows how to write. (Free format frames, whose length is not in their header, do not
// parse.)
func mpegHeader(p []byte) (audio.FrameHeader, bool) {
	h, err := audio.ParseMPEG(p)
	return h, err == nil && h.Layer == 3
}

// bytesByRate is how many bytes a frame of h has without its padding byte, times the
// rate: the remainder decides the padding.
func bytesByRate(h audio.FrameHeader) int { return h.Samples / 8 * h.Bitrate * 1000 }

func (w *mpegWriter) length(p []byte) (frameLen, error) {
	h, ok := mpegHeader(p)
	if !ok || h.Length != len(p) {
		return frameLen{}, errors.New("an MPEG audio frame that cannot be read")
	}
	w.hdr = [4]byte(p)
	return frameLen{h.Samples, h.Rate}, nil
}

func (w *mpegWriter) silenceLen() frameLen {
	h, _ := mpegHeader(w.hdr[:]) // zero before a frame was read
	return frameLen{h.Samples, h.Rate}
}

func (w *mpegWriter) write(p []byte) error {
	w.frames++
	return w.rawWriter.write(p)
}

func (w *mpegWriter) writeSilence() error {
	h, _ := mpegHeader(w.hdr[:])
	n := bytesByRate(h)
	k, rate := w.frames, int64(h.Rate)
	pad := (k+1)*int64(n)/rate - k*int64(n)/rate - int64(n)/rate // 1 where the bytes so far fall a whole byte short
	size := n/h.Rate + int(pad)
	if cap(w.buf) < n/h.Rate+1 {
		w.buf = make([]byte, n/h.Rate+1)
	}
	f := w.buf[:size]
	f[0], f[1], f[2], f[3] = 0xff, w.hdr[1]|1, w.hdr[2]&^2|byte(pad)<<1, w.hdr[3] // no CRC; padded or not
	w.frames++
	return w.rawWriter.write(f)
}
