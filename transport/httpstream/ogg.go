package httpstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Placing packets on the room clock.
const (
	// sampleRate is the rate of Opus granule positions and of the room clock.
	sampleRate = 48000
	// maxGranuleJump is the largest forward jump of the granule position taken as
	// audio the server skipped; a larger one (or any backward one) is a new stream,
	// placed after the last frame instead.
	maxGranuleJump = 10 * sampleRate
)

// streamInfo is what the response's headers say about the stream.
type streamInfo struct {
	room        string // the room's ID: the last element of the URL's path, or the host
	id          string // the one speaker's ID
	name        string // icy-name
	description string // icy-description
	finite      bool   // the response has a length: a file, whose end is the room's end
}

// oggConn is a joined Ogg Opus stream. Recv reads, places and paces the packets on its
// caller's goroutine; nothing else runs in the background but the body's watchdog.
type oggConn struct {
	br     *bufio.Reader
	or     *audio.OggReader
	icy    *icyReader // nil when the server interleaves no ICY metadata
	body   *watchdog
	cancel context.CancelFunc
	clock  transport.Clock
	log    *slog.Logger
	info   streamInfo
	k      kept

	pending    []transport.Event // events to return before reading on
	nowPlaying string            // the title the stream's tags or ICY metadata give
	icyTitle   string
	invalid    int // packets skipped as invalid Opus

	// Where the stream's granule positions land on the room clock: a packet at stream
	// position pos is at anchorTS + pos - anchorPos.
	anchored    bool
	calibrated  bool // pos follows the granule positions, not only the packets' lengths
	anchorTS    uint64
	anchorPos   uint64
	pos         uint64 // the stream position of the next packet's start
	lastGranule uint64

	pace pacer

	closeOnce sync.Once
}

var (
	_ transport.Conn      = (*oggConn)(nil)
	_ transport.Resumable = (*oggConn)(nil)
)

func newOggConn(br *bufio.Reader, icy *icyReader, body *watchdog, cancel context.CancelFunc, info streamInfo, prev kept, clock transport.Clock, log *slog.Logger) (*oggConn, error) {
	c := &oggConn{br: br, icy: icy, body: body, cancel: cancel, clock: clock, log: log, info: info, k: prev, pace: pacer{clock: clock}}
	if err := c.open(); err != nil {
		return nil, err
	}
	if icy != nil {
		c.icyTitle, _ = icy.takeTitle(br.Buffered())
	}
	c.pending = append(c.pending, c.roomInfo(), transport.Roster{Speakers: []transport.Speaker{{
		ID: info.id, Name: cmp(info.name, info.id), Role: "speaker"}}})
	return c, nil
}

// open reads the headers of the next Ogg Opus stream of the chain and starts placing
// its packets afresh.
func (c *oggConn) open() error {
	or, err := audio.NewOggReader(c.br)
	if err != nil {
		return fmt.Errorf("ogg opus headers: %w", err)
	}
	c.or = or
	c.nowPlaying = tagsTitle(or.Comments())
	c.anchored, c.calibrated = false, false
	c.lastGranule = or.Granule()
	return nil
}

func (c *oggConn) Recv(ctx context.Context) (transport.Event, error) {
	for len(c.pending) == 0 {
		if err := c.next(); err != nil {
			return nil, err
		}
	}
	ev := c.pending[0]
	c.pending = c.pending[1:]
	if f, ok := ev.(transport.AudioFrame); ok {
		if err := c.pace.wait(ctx, f.Timestamp); err != nil {
			return nil, err
		}
	}
	return transport.Clean(ev), nil
}

// next reads the next packet and queues what it makes: a frame, and before it a
// RoomInfo when the stream's title changed.
func (c *oggConn) next() error {
	pkt, err := c.or.ReadPacket()
	if errors.Is(err, io.EOF) {
		if _, perr := c.br.Peek(1); perr == nil {
			// A chained stream: the next one's headers follow (a new song, a new show).
			before := c.nowPlaying
			if err := c.open(); err != nil {
				return err
			}
			if c.nowPlaying != before {
				c.pending = append(c.pending, c.roomInfo())
			}
			return nil
		}
		if c.info.finite {
			c.pending = append(c.pending, transport.Ended{Reason: "the stream ended"})
			return nil
		}
		return errors.New("the server ended the stream")
	}
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	if c.icy != nil {
		if t, changed := c.icy.takeTitle(c.br.Buffered()); changed {
			c.icyTitle = t
			c.pending = append(c.pending, c.roomInfo())
		}
	}
	n, err := audio.PacketSamples(pkt)
	if err != nil {
		if c.invalid++; c.invalid == 1 {
			c.log.Warn("httpstream: skipping invalid opus packets", "err", err)
		}
		return nil
	}
	c.place()
	ts := c.anchorTS + c.pos - c.anchorPos
	c.pos += uint64(n)
	c.k.seq++
	c.k.end, c.k.played = ts+uint64(n), true
	c.pending = append(c.pending, transport.AudioFrame{
		Speaker: c.info.id, Codec: transport.CodecOpus, Seq: c.k.seq, Timestamp: uint32(ts),
		Duration: samples(uint64(n)), Payload: pkt,
	})
	return nil
}

// place keeps the stream position of the packet about to be framed in step with the
// granule positions. The reader's granule is that of the page the packet ended on; when
// it changes, the packet is the first of a new page and starts where the previous page
// ended. The first such boundary calibrates the position; a later forward jump is audio
// the server skipped (the timestamps jump with it), a backward or huge one a new stream.
func (c *oggConn) place() {
	if !c.anchored {
		c.anchor()
	}
	g := c.or.Granule()
	if g == c.lastGranule {
		return
	}
	prevEnd := c.lastGranule
	c.lastGranule = g
	if prevEnd == 0 { // the headers' page: this is the first audio page
		return
	}
	switch {
	case !c.calibrated:
		c.anchorPos += prevEnd - c.pos
		c.pos, c.calibrated = prevEnd, true
	case prevEnd >= c.pos && prevEnd-c.pos <= maxGranuleJump:
		c.pos = prevEnd
	default:
		c.log.Info("httpstream: granule position jumped; a new stream", "from", c.pos, "to", prevEnd)
		c.anchorTS, c.anchorPos, c.pos = c.k.end, prevEnd, prevEnd
	}
}

// anchor places the next packet on the room clock: now, or right after the last frame
// if that is later.
func (c *oggConn) anchor() {
	now := uint64(max(c.clock.Now().Sub(c.k.origin), 0) * sampleRate / time.Second)
	c.anchorTS, c.anchorPos = max(now, c.k.end), c.pos
	c.anchored = true
}

// pacer hands frames on at the stream's own rate: a frame is due as long after the
// connection's first frame as its timestamp is after that frame's. A server's burst on
// connect (or an HLS segment, which arrives whole) is spread out as a player plays from
// its buffer, so the jitter buffer sees a steady stream.
type pacer struct {
	clock   transport.Clock
	start   time.Time
	last    uint32 // the last frame's timestamp
	elapsed uint64 // samples from the first frame to the last; timestamps only move on
}

// wait waits until the frame at room time ts is due.
func (p *pacer) wait(ctx context.Context, ts uint32) error {
	now := p.clock.Now()
	if p.start.IsZero() {
		p.start, p.last = now, ts
		return nil
	}
	p.elapsed += uint64(ts - p.last) // modulo 2^32: timestamps wrap after 24.8 hours
	p.last = ts
	due := p.start.Add(samples(p.elapsed))
	if !due.After(now) {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.clock.After(due.Sub(now)):
		return nil
	}
}

// roomInfo describes the room: its title is the stream's name with what is playing
// now (ICY StreamTitle, else the Opus tags), or with its description.
func (c *oggConn) roomInfo() transport.RoomInfo {
	title := join(c.info.name, cmp(c.icyTitle, c.nowPlaying, c.info.description))
	return transport.RoomInfo{ID: c.info.room, Title: cmp(title, c.info.room), Listeners: 1}
}

// Resume hands the room clock and the track's position to the next attempt.
func (c *oggConn) Resume() *transport.Resume { return &transport.Resume{Private: c.k} }

// Resumed is false: an HTTP stream never replays what was missed.
func (c *oggConn) Resumed() bool { return false }

// Close ends the response; it is idempotent.
func (c *oggConn) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		_ = c.body.Close()
	})
	return nil
}

// samples converts a count of 48 kHz samples to a duration, without overflow for
// any session's length.
func samples(n uint64) time.Duration {
	return time.Duration(n/sampleRate)*time.Second + time.Duration(n%sampleRate)*time.Second/sampleRate
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

// roomID names the room after the last element of the URL's path, else its host. The
// rest of the path is left out: some services put an access token there.
func roomID(u *url.URL) string {
	if b := path.Base(u.Path); b != "" && b != "." && b != "/" {
		return b
	}
	return u.Hostname()
}

// join joins two parts of a title with a dash, leaving out an empty one.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + " — " + b
}

// cmp returns the first of its arguments that is not empty.
func cmp(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
