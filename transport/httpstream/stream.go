package httpstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/spacetui/spacetui/transport"
)

// Placing packets on the room clock.
const (
	// sampleRate is the rate of the room clock (and of Opus granule positions).
	sampleRate = 48000
	// maxGranuleJump is the largest forward jump of a stream's own timeline taken as
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

// packet is one frame of a stream as its reader found it: the payload as the transport
// hands it on, and where it lies on the stream's own timeline.
type packet struct {
	codec    transport.Codec
	data     []byte
	setup    []byte        // transport.AudioFrame.Setup: a Vorbis stream's headers
	pos, end uint64        // its first sample and the one after its last, at 48 kHz
	duration time.Duration // its length at its own rate
	restart  bool          // the stream's timeline starts afresh here (a new stream)
	lost     bool          // audio was lost just before it
}

// packetReader reads the packets of one kind of stream: Ogg Opus or Vorbis (oggReader),
// or ADTS AAC and MPEG audio frames (esReader).
type packetReader interface {
	// readPacket returns the next packet; io.EOF ends the stream.
	readPacket() (packet, error)
	// nowPlaying is what the stream's own tags say is playing, "" if nothing.
	nowPlaying() string
}

// streamConn is a joined Icecast or plain HTTP stream. Recv reads, places and paces the
// packets on its caller's goroutine; nothing else runs in the background but the
// body's watchdog.
type streamConn struct {
	br     *bufio.Reader
	src    packetReader
	icy    *icyReader // nil when the server interleaves no ICY metadata
	body   *watchdog
	cancel context.CancelFunc
	clock  transport.Clock
	info   streamInfo
	k      kept

	out        outbox
	nowPlaying string // the title the stream's tags give
	icyTitle   string
	listeners  listenerCount // an Icecast server's count for the mount (icestats.go)
	shownCount int64         // the count the last RoomInfo gave

	// Where the stream's timeline lands on the room clock: a packet at position pos
	// is at anchorTS + pos - anchorPos.
	anchored  bool
	anchorTS  uint64
	anchorPos uint64

	closeOnce sync.Once
}

var (
	_ transport.Conn      = (*streamConn)(nil)
	_ transport.Resumable = (*streamConn)(nil)
)

// newStreamConn starts a connection over src, which reads br; its room and roster
// come first.
func newStreamConn(br *bufio.Reader, src packetReader, icy *icyReader, body *watchdog, cancel context.CancelFunc,
	info streamInfo, prev kept, clock transport.Clock) *streamConn {
	c := &streamConn{br: br, src: src, icy: icy, body: body, cancel: cancel, clock: clock, info: info, k: prev,
		out: outbox{pace: pacer{clock: clock}}, nowPlaying: src.nowPlaying()}
	if icy != nil {
		c.icyTitle, _ = icy.takeTitle(br.Buffered())
	}
	c.out.add(c.roomInfo(), transport.Roster{Speakers: []transport.Speaker{{
		ID: info.id, Name: cmp(info.name, info.id), Role: "speaker"}}})
	return c
}

func (c *streamConn) Recv(ctx context.Context) (transport.Event, error) {
	return c.out.next(ctx, c.next)
}

// next reads the next packet and queues what it makes: a frame, and before it a
// RoomInfo when the stream's title changed.
func (c *streamConn) next() error {
	p, err := c.src.readPacket()
	if errors.Is(err, io.EOF) || c.info.finite && errors.Is(err, io.ErrUnexpectedEOF) {
		// The end of a file, possibly inside its last frame, is the room's end.
		if c.info.finite {
			c.out.add(transport.Ended{Reason: "the stream ended"})
			return nil
		}
		return errors.New("the server ended the stream")
	}
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	changed := false
	if t := c.src.nowPlaying(); t != c.nowPlaying {
		c.nowPlaying, changed = t, true
	}
	if c.icy != nil {
		if t, ok := c.icy.takeTitle(c.br.Buffered()); ok {
			c.icyTitle, changed = t, true
		}
	}
	if n := c.listeners.n.Load(); n != c.shownCount {
		c.shownCount, changed = n, true
	}
	if changed {
		c.out.add(c.roomInfo())
	}
	if !c.anchored || p.restart {
		// The first packet, or a new stream: now, or right after the last frame if
		// that is later.
		c.anchorTS, c.anchorPos, c.anchored = c.k.nowTS(c.clock), p.pos, true
	}
	ts := c.anchorTS + p.pos - c.anchorPos
	c.out.add(c.k.frame(c.info.id, p, ts))
	return nil
}

// nowTS is the room clock now, or the end of the last frame if that is later: where
// a packet goes that nothing else places.
func (k *kept) nowTS(clock transport.Clock) uint64 {
	now := uint64(max(clock.Now().Sub(k.origin), 0) * sampleRate / time.Second)
	return max(now, k.end)
}

// frame makes p the track's next frame, at room time ts (moved on to the end of the
// last frame if it is earlier), and moves the track on.
func (k *kept) frame(speaker string, p packet, ts uint64) transport.AudioFrame {
	ts = max(ts, k.end)
	k.seq++
	k.end, k.played = ts+(p.end-p.pos), true
	return transport.AudioFrame{Speaker: speaker, Codec: p.codec, Seq: k.seq, Timestamp: uint32(ts),
		Duration: p.duration, Payload: p.data, Setup: p.setup}
}

// outbox holds the events a connection has made and not yet handed on: it hands them
// on in order, each cleaned (transport.Clean), a frame once it is due (pacer).
type outbox struct {
	pending []transport.Event
	pace    pacer
}

// add queues events.
func (o *outbox) add(evs ...transport.Event) { o.pending = append(o.pending, evs...) }

// next returns the next event, calling fill until there is one.
func (o *outbox) next(ctx context.Context, fill func() error) (transport.Event, error) {
	for len(o.pending) == 0 {
		if err := fill(); err != nil {
			return nil, err
		}
	}
	ev := o.pending[0]
	o.pending = o.pending[1:]
	if f, ok := ev.(transport.AudioFrame); ok {
		if err := o.pace.wait(ctx, f.Timestamp); err != nil {
			return nil, err
		}
	}
	return transport.Clean(ev), nil
}

// pacer hands frames on at the stream's own rate: a frame is due as long after the
// connection's first frame as its timestamp is after that frame's. A server's burst on
// connect (or an HLS segment, which arrives whole) is spread out as a player plays from
// its buffer, so the jitter buffer sees a steady stream. The first frame is due hold
// after it is first asked for: an HLS join that holds too little media to last until
// the next reload starts that much later instead of running dry (hlsConn.holdFor).
type pacer struct {
	clock   transport.Clock
	hold    time.Duration
	start   time.Time
	last    uint32 // the last frame's timestamp
	elapsed uint64 // samples from the first frame to the last; timestamps only move on
}

// wait waits until the frame at room time ts is due.
func (p *pacer) wait(ctx context.Context, ts uint32) error {
	now := p.clock.Now()
	if p.start.IsZero() {
		p.start, p.last = now.Add(p.hold), ts
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
// now (ICY StreamTitle, else the stream's tags), or with its description.
func (c *streamConn) roomInfo() transport.RoomInfo {
	title := join(c.info.name, cmp(c.icyTitle, c.nowPlaying, c.info.description))
	return transport.RoomInfo{ID: c.info.room, Title: cmp(title, c.info.room), Listeners: int(max(c.shownCount, 1))}
}

// Resume hands the room clock and the track's position to the next attempt.
func (c *streamConn) Resume() *transport.Resume { return &transport.Resume{Private: c.k} }

// Resumed is false: an HTTP stream never replays what was missed.
func (c *streamConn) Resumed() bool { return false }

// Close ends the response; it is idempotent.
func (c *streamConn) Close() error {
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
