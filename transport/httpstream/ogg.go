package httpstream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// oggReader reads the Opus or Vorbis packets of an Ogg stream, chained or not, and
// places each on the stream's own timeline by the granule positions: the packets of a
// page end where the page's granule says, so audio the server skipped shows as a jump.
// Each link of a chain may be either codec. A Vorbis link's packets carry its headers
// (transport.AudioFrame.Setup), one slice for the link.
type oggReader struct {
	br      *bufio.Reader
	or      *audio.OggReader
	log     *slog.Logger
	title   string // the current link's tags' title
	invalid int    // packets skipped as invalid

	// The current link's codec: vorbis is nil for Opus.
	vorbis   *audio.VorbisHeaders
	setup    []byte // a Vorbis link's headers, handed on with each of its packets
	rate     uint64 // of its granule positions: 48 kHz for Opus, the stream's rate for Vorbis
	primed   bool   // Vorbis: a packet was read in this link, whose block was prevLong
	prevLong bool

	restart     bool   // the next packet starts a new timeline
	calibrated  bool   // pos follows the granule positions, not only the packets' lengths
	pos         uint64 // the position of the next packet's start, in granule terms
	shift       uint64 // what the calibration moved pos by; positions reported are pos - shift
	lastGranule uint64
}

// newOggReader reads the headers of the stream's first link.
func newOggReader(br *bufio.Reader, log *slog.Logger) (*oggReader, error) {
	r := &oggReader{br: br, log: log}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open reads the headers of the next Ogg Opus or Vorbis stream of the chain and starts
// placing its packets afresh: positions reported start again from 0, on a new timeline.
func (r *oggReader) open() error {
	or, err := audio.NewOggAudioReader(r.br)
	if err != nil {
		return fmt.Errorf("ogg headers: %w", err)
	}
	r.or = or
	r.title = tagsTitle(or.Comments())
	r.vorbis, r.setup, r.rate, r.primed = or.Vorbis(), or.VorbisSetup(), sampleRate, false
	if r.vorbis != nil {
		r.rate = uint64(r.vorbis.Rate)
	}
	r.restart, r.calibrated = true, false
	r.shift = r.pos
	r.lastGranule = or.Granule()
	return nil
}

func (r *oggReader) nowPlaying() string { return r.title }

func (r *oggReader) readPacket() (packet, error) {
	for {
		pkt, err := r.or.ReadPacket()
		if errors.Is(err, io.EOF) {
			if _, perr := r.br.Peek(1); perr != nil {
				return packet{}, io.EOF
			}
			// A chained stream: the next one's headers follow (a new song, a new show).
			if err := r.open(); err != nil {
				return packet{}, err
			}
			continue
		}
		if err != nil {
			return packet{}, err
		}
		n, err := r.samples(pkt)
		if err != nil {
			if r.invalid++; r.invalid == 1 {
				r.log.Warn("httpstream: skipping invalid packets", "err", err)
			}
			continue
		}
		r.place()
		at := r.pos - r.shift
		p := packet{codec: transport.CodecOpus, data: pkt, pos: r.at48(at), end: r.at48(at + n),
			duration: time.Duration(n) * time.Second / time.Duration(r.rate), restart: r.restart}
		if r.vorbis != nil {
			p.codec, p.setup = transport.CodecVorbis, r.setup
		}
		r.pos += n
		r.restart = false
		return p, nil
	}
}

// samples is how long pkt lasts, in granule terms: an Opus packet by its TOC byte, a
// Vorbis packet by its block and the one before it (the link's first lasts nothing).
func (r *oggReader) samples(pkt []byte) (uint64, error) {
	if r.vorbis == nil {
		n, err := audio.PacketSamples(pkt)
		return uint64(n), err
	}
	long, err := r.vorbis.PacketLong(pkt)
	if err != nil {
		return 0, err
	}
	n := 0
	if r.primed {
		n = r.vorbis.Samples(r.prevLong, long)
	}
	r.primed, r.prevLong = true, long
	return uint64(n), nil
}

// at48 converts a position reported, in granule terms, to 48 kHz: from the total, so a
// 44.1 kHz stream does not drift by rounding packet by packet.
func (r *oggReader) at48(pos uint64) uint64 { return pos * sampleRate / r.rate }

// place keeps the position of the packet about to be read in step with the granule
// positions. The reader's granule is that of the page the packet ended on; when it
// changes, the packet is the first of a new page and starts where the previous page
// ended. The first such boundary calibrates the position (without moving the packets
// already placed); a later forward jump is audio the server skipped (the timestamps
// jump with it), a backward or huge one a new stream, whose positions start from 0.
func (r *oggReader) place() {
	g := r.or.Granule()
	if g == r.lastGranule {
		return
	}
	prevEnd := r.lastGranule
	r.lastGranule = g
	if prevEnd == 0 { // the headers' page: this is the first audio page
		return
	}
	switch {
	case !r.calibrated:
		r.shift += prevEnd - r.pos
		r.pos, r.calibrated = prevEnd, true
	case prevEnd >= r.pos && prevEnd-r.pos <= maxGranuleJump*r.rate/sampleRate:
		r.pos = prevEnd
	default:
		r.log.Info("httpstream: granule position jumped; a new stream", "from", r.pos, "to", prevEnd)
		r.pos, r.shift, r.restart = prevEnd, prevEnd, true
	}
}

// tagsTitle is "ARTIST - TITLE" from Vorbis-style comments, or whichever is set.
func tagsTitle(comments []string) string {
	var artist, title string
	for _, kv := range comments {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch strings.ToUpper(k) {
		case "ARTIST":
			artist = cmp(artist, v)
		case "TITLE":
			title = cmp(title, v)
		}
	}
	if artist != "" && title != "" {
		return artist + " - " + title
	}
	return cmp(title, artist)
}
