package record

import (
	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// A speaker's track holds its frames as received, in the file format of their codec,
// with frames of silence where the timeline has none: Ogg Opus (.ogg), raw ADTS for AAC
// (.aac), MPEG audio frames for MP3 (.mp3), Ogg Vorbis (.ogg, vorbis.go). Where each
// frame goes is decided once, by the Recorder (frame, fill, write); a frameWriter knows
// only its format.

// trackFormat is how a track in one codec is written: the file's extension and the
// writer of its frames.
type trackFormat struct {
	ext  string
	open func(s *sink, tags []string) (frameWriter, error)
}

// formatOf returns the track format of codec c; ok is false for a codec that has no
// track writer, whose tracks are reported once and skipped.
func formatOf(c transport.Codec) (f trackFormat, ok bool) {
	switch c {
	case transport.CodecOpus:
		return trackFormat{".ogg", newOggFrames}, true
	case transport.CodecAAC:
		return trackFormat{".aac", func(s *sink, _ []string) (frameWriter, error) { return &adtsWriter{rawWriter: rawWriter{s}}, nil }}, true
	case transport.CodecMP3:
		return trackFormat{".mp3", func(s *sink, _ []string) (frameWriter, error) { return &mpegWriter{rawWriter: rawWriter{s}}, nil }}, true
	case transport.CodecVorbis:
		return trackFormat{".ogg", newVorbisWriter}, true
	}
	return trackFormat{}, false
}

// frameLen is how long a frame lasts: samples (per channel) at rate.
type frameLen struct{ samples, rate int }

// at48 is the length at the recording's rate, rounded down.
func (l frameLen) at48() int64 { return int64(l.samples) * sampleRate / int64(l.rate) }

// frameWriter writes one stream of frames in its codec's file format.
type frameWriter interface {
	// length reads how long frame p lasts. It fails on a frame it cannot read, which
	// is recorded as silence instead. Each frame it reads tells it the stream's format,
	// for the silence that follows.
	length(p []byte) (frameLen, error)
	// silenceLen is how long a frame of silence lasts: zero before a frame was read,
	// when there is no format to be silent in.
	silenceLen() frameLen
	// write appends frame p as received; writeSilence appends a frame of silence.
	write(p []byte) error
	writeSilence() error
	// flush writes out what is buffered; close ends the stream (the sink is closed by
	// the caller).
	flush() error
	close() error
}

// audioFile is one audio file of the recording, audio.ogg or a track, and how far
// along the timeline it is.
type audioFile struct {
	s    *sink
	w    frameWriter
	next int64 // samples at 48 kHz written: where the next frame starts
	// rem is what next leaves out, in 1/rate of a sample: 1024 samples at 44.1 kHz
	// are 1114.56 at 48 kHz, and the fractions add up rather than drift.
	rem int64
}

// oggFrames writes Opus packets into an Ogg Opus file.
type oggFrames struct{ w *audio.OggWriter }

func newOggFrames(s *sink, tags []string) (frameWriter, error) {
	w, err := audio.NewOggWriter(s, audio.OggOptions{Channels: 1, Comments: tags})
	if err != nil {
		return nil, err
	}
	return oggFrames{w}, nil
}

func (o oggFrames) length(p []byte) (frameLen, error) {
	n, err := audio.PacketSamples(p)
	return frameLen{n, sampleRate}, err
}

func (oggFrames) silenceLen() frameLen   { return frameLen{frame, sampleRate} }
func (o oggFrames) write(p []byte) error { return o.w.WritePacket(p) }
func (o oggFrames) writeSilence() error  { return o.w.WritePacket(audio.SilencePacket()) }
func (o oggFrames) flush() error         { return o.w.Flush() }
func (o oggFrames) close() error         { return o.w.Close() }

// rawWriter writes frames back to back, each with one Write and nothing buffered: the
// formats that need no container (ADTS, MPEG audio) are valid cut at any frame, so a
// crash leaves a file that ends on its last whole frame, as does a failed write (sink).
type rawWriter struct{ s *sink }

func (w rawWriter) write(p []byte) error {
	_, err := w.s.Write(p)
	return err
}

func (rawWriter) flush() error { return nil }
func (rawWriter) close() error { return nil }
