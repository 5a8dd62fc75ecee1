package mumble

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"layeh.com/gumble/gumble/MumbleProto"

	"github.com/spacetui/spacetui/transport"
)

// Conn is one connection to a Mumble server, in one channel. A reader goroutine turns
// the server's messages into events; a pinger keeps the connection alive. Close stops
// both.
type Conn struct {
	tc   *tls.Conn
	log  *slog.Logger
	name string

	wmu sync.Mutex // one writer at a time

	// Owned by the reader goroutine once started (by the handshake before).
	room   *room
	origin time.Time
	tracks map[string]track
	ids    map[uint32]string // roster ID by session
	info   transport.RoomInfo
	roster transport.Roster
	grace  transport.Roster // the previous connection's speakers not back yet
	until  time.Time        // when the grace ends
	chats  int
	legacy map[byte]bool // legacy codecs reported
	kept   chan kept     // the reader's state when it stops, for Resume

	events chan transport.Event
	err    error // why events was closed; read after it is
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	last   kept
}

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.Resumable = (*Conn)(nil)
)

func newConn(tc *tls.Conn, opts transport.DialOptions, prev kept) *Conn {
	c := &Conn{tc: tc, log: opts.Log(), room: newRoom(), origin: prev.origin, tracks: map[string]track{},
		legacy: map[byte]bool{}, events: make(chan transport.Event, 256), kept: make(chan kept, 1)}
	if c.origin.IsZero() {
		c.origin = time.Now()
	}
	for id, t := range prev.tracks {
		t.open = false // the next packet starts a spurt: Mumble sequences restart with the session
		c.tracks[id] = t
	}
	c.grace, c.chats = prev.roster, prev.chats
	c.until = time.Now().Add(RosterGrace)
	return c
}

// send writes one control message.
func (c *Conn) send(typ uint16, m protoadapt.MessageV1) error {
	b, err := appendMessage(nil, typ, m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.tc.SetWriteDeadline(time.Now().Add(pingTimeout))
	_, err = c.tc.Write(b)
	return err
}

// first queues the room and its roster, the first events of the connection, after
// notice (the certificate remembered, or not checked) as a state detail.
func (c *Conn) first(notice string) {
	if notice != "" {
		c.events <- transport.Clean(transport.State{State: transport.StateLive, Detail: notice})
	}
	c.update(true)
}

// start starts the reader and the pinger.
func (c *Conn) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		err := c.read(ctx)
		if ctx.Err() != nil {
			err = context.Canceled
		}
		c.err = err
		close(c.events)
	}()
	go func() {
		defer c.wg.Done()
		c.ping(ctx)
	}()
}

// Recv returns the next event of the channel.
func (c *Conn) Recv(ctx context.Context) (transport.Event, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case ev, ok := <-c.events:
		if !ok {
			return nil, c.err
		}
		return ev, nil
	}
}

// Close leaves the server and waits for the Conn's goroutines. Closing twice is a no-op.
func (c *Conn) Close() error {
	c.stop()
	return nil
}

func (c *Conn) stop() {
	c.once.Do(func() {
		c.cancel()
		_ = c.tc.Close()
		for range c.events { // unblock the reader
		}
		c.wg.Wait()
		c.last = <-c.kept
	})
}

// Resume carries the room clock, the speakers' tracks, the roster and the chat count to
// the next connection. It closes the connection, if still open, to read them.
func (c *Conn) Resume() *transport.Resume {
	c.stop()
	return &transport.Resume{Private: c.last}
}

// Resumed is false: Mumble has no session to resume, so what was said meanwhile is lost.
func (c *Conn) Resumed() bool { return false }

// ping pings the server every pingEvery until ctx ends; the reader notices a server that
// stops answering.
func (c *Conn) ping(ctx context.Context) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.send(msgPing, &MumbleProto.Ping{Timestamp: proto.Uint64(uint64(time.Now().UnixMilli()))}); err != nil {
			return // the reader sees the connection fail
		}
	}
}

// read reads the server's messages until the connection fails or ctx ends.
func (c *Conn) read(ctx context.Context) error {
	defer func() {
		c.kept <- kept{name: c.name, origin: c.origin, tracks: maps.Clone(c.tracks), roster: c.roster, chats: c.chats}
	}()
	for {
		_ = c.tc.SetReadDeadline(time.Now().Add(pingTimeout))
		typ, body, err := readPacket(c.tc)
		if err != nil {
			var ne interface{ Timeout() bool }
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				return fmt.Errorf("missed ping: nothing from the server for %s", pingTimeout)
			case errors.Is(err, io.EOF):
				return errors.New("the server closed the connection")
			}
			return fmt.Errorf("connection lost: %w", err)
		}
		if err := c.handle(ctx, typ, body); err != nil {
			return err
		}
		if !c.until.IsZero() && time.Now().After(c.until) {
			c.until = time.Time{}
			c.grace = transport.Roster{}
			c.update(false)
		}
	}
}

// emit queues ev, cleaned, unless ctx ends first.
func (c *Conn) emit(ctx context.Context, ev transport.Event) {
	select {
	case c.events <- transport.Clean(ev):
	case <-ctx.Done():
	}
}

// handle applies one message of the server and queues the events it makes.
func (c *Conn) handle(ctx context.Context, typ uint16, body []byte) error {
	switch typ {
	case msgUDPTunnel:
		c.voice(ctx, body)
	case msgPing:
		c.emit(ctx, transport.Heartbeat{})
	case msgChannelState:
		var m MumbleProto.ChannelState
		if err := unmarshal(body, &m); err != nil {
			return err
		}
		c.room.channelState(&m)
		if m.GetChannelId() == c.room.here && m.Description == nil && len(m.DescriptionHash) > 0 {
			// A long description comes on request only.
			_ = c.send(msgRequestBlob, &MumbleProto.RequestBlob{ChannelDescription: []uint32{c.room.here}})
		}
	case msgChannelRemove:
		var m MumbleProto.ChannelRemove
		if err := unmarshal(body, &m); err != nil {
			return err
		}
		delete(c.room.channels, m.GetChannelId())
	case msgUserState:
		var m MumbleProto.UserState
		if err := unmarshal(body, &m); err != nil {
			return err
		}
		c.room.userState(&m)
		if m.GetSession() == c.room.self && m.ChannelId != nil && m.GetChannelId() != c.room.here {
			return fmt.Errorf("moved out of channel %q by the server", c.room.path(c.room.here))
		}
	case msgUserRemove:
		var m MumbleProto.UserRemove
		if err := unmarshal(body, &m); err != nil {
			return err
		}
		if m.GetSession() == c.room.self {
			what := "kicked"
			if m.GetBan() {
				what = "banned"
			}
			return fmt.Errorf("%s from the server: %s: %w", what, plainText(m.GetReason()), transport.ErrUnauthorized)
		}
		delete(c.room.users, m.GetSession())
	case msgTextMessage:
		var m MumbleProto.TextMessage
		if err := unmarshal(body, &m); err != nil {
			return err
		}
		c.chat(ctx, &m)
		return nil
	default:
		return nil
	}
	c.update(false)
	return nil
}

// update queues the room and the roster where they changed. The first time (initial)
// it queues both, directly: the reader is not running yet.
func (c *Conn) update(initial bool) {
	ro, ids := c.room.roster()
	c.ids = ids
	if !c.until.IsZero() { // after a reconnect: keep the speakers not back yet
		for _, s := range c.grace.Speakers {
			if !slices.ContainsFunc(ro.Speakers, func(x transport.Speaker) bool { return x.ID == s.ID }) {
				ro.Speakers = append(ro.Speakers, s)
			}
		}
	}
	info := transport.Clean(c.room.info()).(transport.RoomInfo)
	send := func(ev transport.Event) {
		if initial {
			c.events <- ev
			return
		}
		c.emit(context.Background(), ev)
	}
	if initial || info != c.info {
		c.info = info
		send(info)
	}
	if initial || !reflect.DeepEqual(ro, c.roster) {
		c.roster = ro
		send(ro)
	}
}

// voice turns a tunnelled voice packet into an audio frame.
func (c *Conn) voice(ctx context.Context, body []byte) {
	v, err := parseVoice(body)
	if err != nil {
		c.log.Debug("mumble: voice packet skipped", "err", err)
		return
	}
	id, ok := c.ids[v.session]
	if !ok {
		return // someone outside the channel (a whisper, a linked channel)
	}
	if v.codec != codecOpus {
		if !c.legacy[v.codec] {
			c.legacy[v.codec] = true
			c.log.Warn("mumble: a speaker uses a legacy codec; their audio is skipped", "speaker", id, "codec", codecName(v.codec))
		}
		return
	}
	t := c.tracks[id]
	f, err := t.frame(id, v, c.now())
	if err != nil {
		c.log.Debug("mumble: voice packet skipped", "speaker", id, "err", err)
		return
	}
	c.tracks[id] = t
	c.emit(ctx, f)
}

// now is the room clock, in 48 kHz samples.
func (c *Conn) now() uint32 {
	return uint32(time.Since(c.origin) * 48000 / time.Second)
}

// chat turns a text message to our channel (or to a tree holding it) into a final
// transcript segment marked as chat.
func (c *Conn) chat(ctx context.Context, m *MumbleProto.TextMessage) {
	here := slices.Contains(m.ChannelId, c.room.here)
	for id, i := c.room.here, 0; !here && i < 64; i++ {
		here = slices.Contains(m.TreeId, id)
		ch := c.room.channels[id]
		if ch == nil || !ch.hasParent {
			break
		}
		id = ch.parent
	}
	text := plainText(m.GetMessage())
	if !here || text == "" {
		return
	}
	speaker := c.ids[m.GetActor()]
	if speaker == "" {
		if u := c.room.users[m.GetActor()]; u != nil {
			speaker = u.name
		}
	}
	c.chats++
	at := time.Since(c.origin)
	c.emit(ctx, transport.TranscriptSegment{
		ID: "chat-" + strconv.FormatInt(c.origin.UnixMilli(), 36) + "-" + strconv.Itoa(c.chats), Speaker: speaker,
		Start: at, End: at, Text: text, Final: true, Chat: true,
	})
}
