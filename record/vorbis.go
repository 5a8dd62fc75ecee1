package record

import (
	"bytes"
	"fmt"

	"github.com/spacetui/spacetui/audio"
)

// A Vorbis track is an Ogg Vorbis file: the stream's three header packets, then its
// audio packets as received, with granule positions that count the samples a decoder
// makes of them, at the stream's rate. A new logical stream of the frames (told by its
// Setup slice, transport.AudioFrame) whose headers differ but for the comments goes on
// in the same link (nextLink); one of other headers is a new link of the file, chained
// as Icecast chains them.
//
// Silence (a gap, or the time before the stream began) is written as packets that
// decode to silence (audio.VorbisHeaders.SilentPacket), not as a jump of the granule
// positions: FFmpeg and libvorbis play a jump as nothing, which would put the rest of
// the track early. A decoder makes nothing of a link's first packet but the overlap for
// the next, so a link that begins with silence starts with one more silent packet, and
// the link's first audio packet, which the transport says lasts nothing, is left out:
// written after the silence, it would make a packet of audio the room clock does not
// have. What the left-out packet costs is the fade-in of the packet after it.
type vorbisWriter struct {
	s     *sink
	given []byte // the Setup of the frame about to be read

	// The link being written: none before the first frame.
	setup     []byte
	h         *audio.VorbisHeaders
	ow        *audio.OggPacketWriter
	primed    bool // a packet is written: the next lasts by its block and the one before
	prevLong  bool // the block of the last packet written
	audioSeen bool // an audio packet of the link was read
	granule   uint64

	// The headers of the last Setup read that is not the link's, parsed once.
	other    []byte
	otherH   *audio.VorbisHeaders
	otherErr error
}

// setupWriter is a frameWriter of a codec whose frames need the stream's headers
// (Vorbis): the Recorder hands it each frame's Setup before it reads the frame.
type setupWriter interface {
	setSetup(setup []byte)
}

var _ setupWriter = (*vorbisWriter)(nil)

func newVorbisWriter(s *sink, _ []string) (frameWriter, error) { return &vorbisWriter{s: s}, nil }

func (w *vorbisWriter) setSetup(setup []byte) { w.given = setup }

// headers returns the headers of the Setup of the frame about to be read.
func (w *vorbisWriter) headers() (*audio.VorbisHeaders, error) {
	if w.h != nil && sameSlice(w.given, w.setup) {
		return w.h, nil
	}
	if w.given == nil {
		return nil, fmt.Errorf("%w: a vorbis frame without its stream's headers", audio.ErrBadVorbis)
	}
	if !sameSlice(w.given, w.other) || w.otherH == nil && w.otherErr == nil {
		w.other, w.otherH, w.otherErr = w.given, nil, nil
		id, comment, setup, err := audio.SplitVorbisSetup(w.given)
		if err == nil {
			w.otherH, err = audio.ParseVorbisHeaders(id, comment, setup)
		}
		w.otherErr = err
	}
	return w.otherH, w.otherErr
}

func (w *vorbisWriter) length(p []byte) (frameLen, error) {
	h, err := w.headers()
	if err != nil {
		return frameLen{}, err
	}
	long, err := h.PacketLong(p)
	if err != nil {
		return frameLen{}, err
	}
	if !sameSlice(w.given, w.setup) || !w.audioSeen {
		return frameLen{0, h.Rate}, nil // the first of its link
	}
	return frameLen{h.Samples(w.prevLong, long), h.Rate}, nil
}

// silenceLen is how long the next frame of silence lasts in the link being written, or
// in the one the next frame starts if none is (the silence before a stream). A link's
// first frame of silence is two packets: the first decodes to nothing.
func (w *vorbisWriter) silenceLen() frameLen {
	h := w.h
	if h == nil {
		if h, _ = w.headers(); h == nil {
			return frameLen{}
		}
	}
	prevLong := w.prevLong
	if w.h == nil || !w.primed {
		prevLong = h.SilenceLong()
	}
	return frameLen{h.Samples(prevLong, h.SilenceLong()), h.Rate}
}

func (w *vorbisWriter) writeSilence() error {
	if w.h == nil {
		if err := w.startLink(); err != nil {
			return err
		}
	}
	long := w.h.SilenceLong()
	if !w.primed {
		if err := w.ow.WritePacket(w.h.SilentPacket(long), 0, 0); err != nil {
			return err
		}
		w.primed, w.prevLong = true, long
	}
	return w.writePacket(w.h.SilentPacket(w.prevLong), long)
}

func (w *vorbisWriter) write(p []byte) error {
	if !sameSlice(w.given, w.setup) {
		if err := w.nextLink(); err != nil {
			return err
		}
	}
	long, err := w.h.PacketLong(p)
	if err != nil {
		return err
	}
	if !w.audioSeen {
		w.audioSeen = true
		if w.primed {
			return nil // after silence: left out, see vorbisWriter
		}
		w.primed, w.prevLong = true, long
		return w.ow.WritePacket(p, 0, 0)
	}
	return w.writePacket(p, long)
}

// writePacket writes a packet of block long after a primed link's last.
func (w *vorbisWriter) writePacket(p []byte, long bool) error {
	n := w.h.Samples(w.prevLong, long)
	w.granule += uint64(n)
	w.prevLong = long
	return w.ow.WritePacket(p, n, w.granule)
}

// nextLink follows the frames to the logical stream of the Setup given. A stream of
// the same identification and setup headers as the link being written (Icecast's new
// link for a new title, or the same stream after a reconnect) goes on in that link:
// FFmpeg reads the length of a chained file from the pages of its first link only, and
// fails on a link whose serial it has not seen. As after silence, the new stream's
// first audio packet is left out: the link's decoder is primed already. Another stream
// starts a new link.
func (w *vorbisWriter) nextLink() error {
	if w.h != nil {
		oldID, _, oldSetup, err1 := audio.SplitVorbisSetup(w.setup)
		id, _, setup, err2 := audio.SplitVorbisSetup(w.given)
		if err1 == nil && err2 == nil && bytes.Equal(id, oldID) && bytes.Equal(setup, oldSetup) {
			w.setup, w.audioSeen = w.given, false
			return nil
		}
	}
	return w.startLink()
}

// startLink ends the link being written, if any, and starts one of the Setup given.
func (w *vorbisWriter) startLink() error {
	h, err := w.headers()
	if err != nil {
		return err
	}
	if w.ow != nil {
		if err := w.ow.Close(); err != nil {
			return err
		}
	}
	id, comment, setup, err := audio.SplitVorbisSetup(w.given)
	if err != nil {
		return err
	}
	// The granule positions go on from the link before, at the new link's rate, as if
	// it were the middle of a stream: FFmpeg places a link's audio by them.
	granule := uint64(0)
	if w.h != nil {
		granule = w.granule * uint64(h.Rate) / uint64(w.h.Rate)
	}
	*w = vorbisWriter{s: w.s, given: w.given, setup: w.given, h: h, granule: granule,
		ow: audio.NewOggPacketWriter(w.s, 0, h.Rate)}
	return w.ow.WriteHeaders(id, comment, setup)
}

func (w *vorbisWriter) flush() error {
	if w.ow == nil {
		return nil
	}
	return w.ow.Flush()
}

func (w *vorbisWriter) close() error {
	if w.ow == nil {
		return nil
	}
	return w.ow.Close()
}

// sameSlice reports whether a and b are the same slice, not only equal: a Setup is
// told from another by its slice.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
