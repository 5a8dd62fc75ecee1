package httpstream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// oggReader reads the Opus packets of an Ogg stream, chained or not, and places each
// on the stream's own timeline by the granule positions: the packets of a page end
// where the page's granule says, so audio the server skipped shows as a jump.
type oggReader struct {
	br      *bufio.Reader
	or      *audio.OggReader
	log     *slog.Logger
	title   string // the current link's tags' title
	invalid int    // packets skipped as invalid Opus

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

// open reads the headers of the next Ogg Opus stream of the chain and starts placing
// its packets afresh.
func (r *oggReader) open() error {
	or, err := audio.NewOggReader(r.br)
	if err != nil {
		return fmt.Errorf("ogg opus headers: %w", err)
	}
	r.or = or
	r.title = tagsTitle(or.Comments())
	r.restart, r.calibrated = true, false
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
		n, err := audio.PacketSamples(pkt)
		if err != nil {
			if r.invalid++; r.invalid == 1 {
				r.log.Warn("httpstream: skipping invalid opus packets", "err", err)
			}
			continue
		}
		r.place()
		p := packet{codec: transport.CodecOpus, data: pkt, pos: r.pos - r.shift, end: r.pos - r.shift + uint64(n),
			duration: samples(uint64(n)), restart: r.restart}
		r.pos += uint64(n)
		r.restart = false
		return p, nil
	}
}

// place keeps the position of the packet about to be read in step with the granule
// positions. The reader's granule is that of the page the packet ended on; when it
// changes, the packet is the first of a new page and starts where the previous page
// ended. The first such boundary calibrates the position (without moving the packets
// already placed); a later forward jump is audio the server skipped (the timestamps
// jump with it), a backward or huge one a new stream.
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
	case prevEnd >= r.pos && prevEnd-r.pos <= maxGranuleJump:
		r.pos = prevEnd
	default:
		r.log.Info("httpstream: granule position jumped; a new stream", "from", r.pos, "to", prevEnd)
		r.pos, r.restart = prevEnd, true
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
