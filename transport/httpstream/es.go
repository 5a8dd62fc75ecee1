package httpstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Bounds of the elementary stream reader.
const (
	// maxResync bounds the bytes skipped looking for a frame before the stream is
	// taken for something else.
	maxResync = 64 << 10
	// esBufferSize holds the largest frame (an ADTS frame of 8191 bytes) and the
	// header after it.
	esBufferSize = 16 << 10
	// id3HeaderLen is the length of an ID3v2 header, and of its footer.
	id3HeaderLen = 10
	// minHeaderLen is the shortest frame header, MPEG audio's.
	minHeaderLen = 4
)

// errNoFrames reports bytes in which no frame was found.
var errNoFrames = errors.New("no ADTS or MPEG audio frame")

// esReader splits an elementary stream of ADTS AAC or MPEG audio frames (an Icecast MP3
// or AAC stream, an HLS packed audio segment, the payload of an MPEG-TS audio stream)
// into frames, and places each on the stream's own timeline by the running total of
// its samples.
//
// ID3v2 tags before a frame (an X Space's chunks start with several; some Icecast
// sources send one) are skipped by their size field, never searched for a sync word:
// their contents may hold one. A header is trusted when it follows a good frame; the
// first, and the first after a bad header, must also be followed by a valid header of
// the same stream (or by the end), so that a stray sync word in damaged data does not
// pass for a frame. Only a bad header makes the reader search (resync).
type esReader struct {
	br      *bufio.Reader
	kind    transport.Codec // what the first frame was (AAC or MP3); later frames must be the same
	fixed   uint32          // the last frame's fixed header fields
	synced  bool            // the last frame was good: trust the next valid header
	skipped int             // bytes skipped since the last frame
	junk    int             // bytes skipped in all, neither frames nor ID3 tags
	resyncs int             // how often sync was lost after a good frame
	clock   sampleClock
}

func newESReader(r io.Reader) *esReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < esBufferSize {
		br = bufio.NewReaderSize(r, esBufferSize)
	}
	return &esReader{br: br}
}

// readPacket returns the next frame as a packet; io.EOF ends the stream.
func (r *esReader) readPacket() (packet, error) {
	h, data, err := r.next()
	if err != nil {
		return packet{}, err
	}
	start, end := r.clock.add(h.Rate, h.Samples)
	return packet{codec: h.Codec, data: data, pos: start, end: end,
		duration: time.Duration(h.Samples) * time.Second / time.Duration(h.Rate)}, nil
}

// nowPlaying is empty: an elementary stream names nothing (its ICY metadata does).
func (r *esReader) nowPlaying() string { return "" }

// next returns the next frame's header and a copy of its bytes.
func (r *esReader) next() (audio.FrameHeader, []byte, error) {
	h, err := r.find()
	if err != nil {
		return audio.FrameHeader{}, nil, err
	}
	f, err := r.br.Peek(h.Length)
	if err != nil {
		return audio.FrameHeader{}, nil, unexpected(err) // the last frame, cut short
	}
	data := bytes.Clone(f)
	_, _ = r.br.Discard(h.Length)
	r.kind, r.fixed, r.synced, r.skipped = h.Codec, h.Fixed, true, 0
	return h, data, nil
}

// find skips ID3 tags, and bytes that are no frame, until a frame starts, and returns
// its header.
func (r *esReader) find() (audio.FrameHeader, error) {
	for {
		b, err := r.br.Peek(id3HeaderLen)
		if len(b) == 0 {
			if err == nil {
				err = io.EOF
			}
			return audio.FrameHeader{}, err
		}
		if n, ok := id3Size(b); ok {
			if _, err := r.br.Discard(n); err != nil {
				return audio.FrameHeader{}, unexpected(err)
			}
			continue
		}
		if h, ok := r.header(b); ok && (r.synced && h.Fixed == r.fixed || r.confirmed(h)) {
			return h, nil
		}
		if err := r.resync(); err != nil {
			return audio.FrameHeader{}, err
		}
	}
}

// header parses a header of the stream's kind, or of either kind before the first frame.
func (r *esReader) header(b []byte) (audio.FrameHeader, bool) {
	if r.kind != transport.CodecMP3 {
		if h, ok := acceptADTS(b); ok {
			return h, true
		}
	}
	if r.kind != transport.CodecAAC {
		return acceptMPA(b)
	}
	return audio.FrameHeader{}, false
}

// confirmed reports whether the frame h describes is followed by a valid header of
// the same stream, an ID3 tag, or the end of the stream.
func (r *esReader) confirmed(h audio.FrameHeader) bool {
	b, _ := r.br.Peek(h.Length + id3HeaderLen)
	if len(b) == h.Length {
		return true // the end
	}
	if len(b) < h.Length+minHeaderLen {
		return false
	}
	if _, ok := id3Size(b[h.Length:]); ok {
		return true
	}
	next, ok := r.header(b[h.Length:])
	return ok && next.Codec == h.Codec && next.Fixed == h.Fixed
}

// resync skips to the next byte that may start a frame or an ID3 tag.
func (r *esReader) resync() error {
	if r.synced {
		r.synced = false
		r.resyncs++
	}
	b, _ := r.br.Peek(r.br.Buffered())
	n := len(b)
	for _, c := range []byte{0xff, 'I'} { // a sync word's first byte, an ID3 tag's
		if i := bytes.IndexByte(b[1:], c); i >= 0 {
			n = min(n, 1+i)
		}
	}
	r.skipped += n
	r.junk += n
	if r.skipped > maxResync {
		return fmt.Errorf("%w in %d bytes", errNoFrames, r.skipped)
	}
	_, err := r.br.Discard(n)
	return err
}

// id3Size returns the length of the ID3v2 tag at the start of b (at least
// id3HeaderLen bytes), header and footer included, if one starts there: "ID3", a
// version and revision that are not 0xff, and a size of four 7-bit bytes (syncsafe).
func id3Size(b []byte) (int, bool) {
	if len(b) < id3HeaderLen || string(b[:3]) != "ID3" || b[3] == 0xff || b[4] == 0xff ||
		b[6]|b[7]|b[8]|b[9] >= 0x80 {
		return 0, false
	}
	n := id3HeaderLen + (int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9]))
	if b[5]&0x10 != 0 {
		n += id3HeaderLen // a footer
	}
	return n, true
}

// unexpected turns the end of the stream inside a frame or tag into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// sampleClock counts a stream's samples at its own rate and places them on the 48 kHz
// clock by the running total, so that a rate such as 44.1 kHz does not drift by
// rounding frame by frame. A change of rate goes on from where the last one left off.
type sampleClock struct {
	base  uint64 // the 48 kHz position where the current rate began
	rate  uint64
	total uint64 // samples at rate since base
}

// pos is the 48 kHz position after the samples counted so far.
func (s *sampleClock) pos() uint64 {
	if s.rate == 0 {
		return s.base
	}
	return s.base + s.total*sampleRate/s.rate
}

// add counts n samples at rate and returns where they start and end at 48 kHz.
func (s *sampleClock) add(rate, n int) (start, end uint64) {
	if uint64(rate) != s.rate {
		s.base, s.rate, s.total = s.pos(), uint64(rate), 0
	}
	start = s.pos()
	s.total += uint64(n)
	return start, s.pos()
}
