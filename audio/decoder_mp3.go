package audio

import (
	"fmt"

	"github.com/hajimehoshi/go-mp3"
)

// mp3MaxSamples is the longest Layer III frame per channel (MPEG-1).
const mp3MaxSamples = 1152

// mp3Decoder decodes a track of MPEG-1 and MPEG-2 Layer III frames with go-mp3, one
// frame per Decode, to mono 48 kHz. go-mp3 decodes a stream from an io.Reader, reading
// exactly the bytes of each frame and the first frame already in mp3.NewDecoder, so the
// decoder makes it at the first frame and hands it each frame through a packetReader.
//
// A Layer III frame may take part of its audio from the frames before it (the bit
// reservoir). After a start, a loss or a concealment, those bytes are missing and go-mp3
// would decode noise from whatever it has; the decoder plays such a frame as silence
// instead, while go-mp3 still reads it to refill its reservoir.
type mp3Decoder struct {
	in        packetReader
	dec       *mp3.Decoder // nil until the first frame, after an error and after Reset
	reservoir int          // bytes of main data read since the last break in the stream
	s16       []byte       // one frame of go-mp3's output: always stereo
	rs        resampler
}

// Decode decodes one Layer III frame, header included (bytes after the frame are
// ignored), into pcm.
func (d *mp3Decoder) Decode(pkt []byte, pcm []int16) (int, error) {
	h, err := ParseMPEG(pkt)
	if err != nil {
		return 0, err
	}
	switch {
	case h.Layer != 3:
		return 0, fmt.Errorf("%w: MPEG audio Layer %d", ErrUnsupportedCodec, h.Layer)
	case h.Version == 25:
		return 0, fmt.Errorf("%w: MPEG-2.5 audio", ErrUnsupportedCodec)
	case goMP3Missizes(h):
		return 0, fmt.Errorf("%w: MPEG-2 audio at %d Hz and %d kbit/s, which go-mp3 garbles", ErrUnsupportedCodec, h.Rate, h.Bitrate)
	case h.Length > len(pkt):
		return 0, fmt.Errorf("%w: MPEG frame of %d bytes in a packet of %d", ErrCorruptFrame, h.Length, len(pkt))
	}
	frame := pkt[:h.Length]
	n, err := d.read(frame, h.Rate)
	if err != nil || n != h.Samples*2*2 {
		d.dec = nil // it has dropped the frames behind this one: start again
		if err == nil {
			err = fmt.Errorf("decoded %d bytes", n)
		}
		return 0, fmt.Errorf("%w: mp3: %w", ErrCorruptFrame, err)
	}
	begin, size := h.mainDataBegin(frame)
	if begin > d.reservoir {
		clear(d.s16[:n])
	}
	d.reservoir = min(d.reservoir+size, 511) // main_data_begin reaches 511 bytes back at most
	return d.rs.convert(d.s16[:n], 2, h.Rate, pcm)
}

// read hands go-mp3 one frame, making it anew at the first frame of a stream, and reads
// the frame's PCM into d.s16: it comes out in one Read, since go-mp3 decodes a frame only
// when the last is read out. go-mp3 panics on some corrupt frames (an index out of range
// in its MPEG-2 scale factors, found by fuzzing); such a panic is that frame's error.
func (d *mp3Decoder) read(frame []byte, rate int) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("go-mp3 panicked: %v", r)
		}
	}()
	d.in.pkt = frame
	if d.s16 == nil {
		d.s16 = make([]byte, mp3MaxSamples*2*2)
	}
	if d.dec == nil || d.dec.SampleRate() != rate {
		if d.dec, err = mp3.NewDecoder(&d.in); err != nil {
			return 0, err
		}
		d.reservoir = 0
	}
	return d.dec.Read(d.s16)
}

// goMP3Missizes reports a stream whose padded frames go-mp3 v0.3.4 reads one byte short:
// it adds the padding byte before it halves an MPEG-2 frame's size, so where 144 *
// bitrate / rate is even the byte is lost, its bit reservoir slips and every frame after
// decodes to noise (22.05 kHz at 8 to 32, 80, 96, 144 and 160 kbit/s). Such a stream is
// refused, which the pipeline reports, rather than played as noise.
func goMP3Missizes(h FrameHeader) bool {
	padded := 72000*h.Bitrate%h.Rate != 0 // a stream whose frames are not a whole number of bytes pads some
	return h.Version == 2 && padded && 144000*h.Bitrate/h.Rate%2 == 0
}

// Conceal fills pcm with silence: go-mp3 has no concealment of its own. The frame after
// a gap may need bytes of the missing one, so the reservoir starts again.
func (d *mp3Decoder) Conceal(next []byte, pcm []int16) error {
	clear(pcm)
	d.reservoir = 0
	return nil
}

// Reset forgets the stream: go-mp3 is made anew at the next frame.
func (d *mp3Decoder) Reset() error {
	d.dec = nil
	d.rs.reset()
	return nil
}
