package mumbletest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/gumble/gumble"
	"layeh.com/gumble/gumbleutil"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/server"
)

// Pacing and rejoin policy of a Publisher.
const (
	tick = 20 * time.Millisecond
	// rejoinEvery is the interval between join attempts of a speaker not connected.
	rejoinEvery = time.Second
	// maxLate is how far the pacer may fall behind the room clock before it skips ahead.
	maxLate = time.Second
	// opusCodec is Opus in the header of Mumble's voice packets.
	opusCodec = 4
)

// PublishOptions configures a Publisher.
type PublishOptions struct {
	// Addr is the server's host and port; Password its server password, if any.
	Addr, Password string
	// Channel is the path of the channel to speak in ("" for the root).
	Channel string
	// Description is the channel's description, set by PublishT when it makes the
	// channel.
	Description string
	// Speakers are the tracks to publish, one Mumble user each (user name = the
	// speaker's Name): 20 ms Opus packets, the same number on every track.
	Speakers []server.SpeakerTrack
	// Chat, when not nil, makes the text of each chat message from the cue's text;
	// nil sends the cue's text as it is.
	Chat func(cue string) string
	// Logger receives the Publisher's log; nil discards it.
	Logger *slog.Logger
}

// Publisher speaks a room's content into a Mumble channel as a Mumble client with voice
// activation would: each speaker is a user of its own (with a certificate of its own
// and, on loopback, from 127.0.0.2: murmurd lets a client of the same address or
// certificate take a connected user's name over, as its own ghost) who sends Opus packets only while
// talking (20 ms each, the sequence number counting 10 ms units of the room clock, the
// last packet of a talk spurt marked as its terminator), and, as each cue ends, types
// the cue's text into the channel's chat. All speakers are paced on one room clock (tick
// n of every track at start + n x 20 ms), looped forever. A speaker whose connection is
// lost joins again every second until the server takes it.
type Publisher struct {
	opts     PublishOptions
	log      *slog.Logger
	ticks    int
	speakers []*speaker
	cueEnds  [][]cueEnd // per tick of the file

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type speaker struct {
	track server.SpeakerTrack
	cert  tls.Certificate // who the speaker is to the server, as Mumble's client has one
	log   *slog.Logger
	conn  atomic.Pointer[conn] // nil while not in the channel
}

// conn is one speaker's session: the client and the channel it is in.
type conn struct {
	client  *gumble.Client
	channel *gumble.Channel
}

// cueEnd is a cue whose audio ends on a tick: its speaker types it then.
type cueEnd struct{ speaker, cue int }

// StartPublisher starts publishing until ctx ends or Close is called; the speakers join
// in the background.
func StartPublisher(ctx context.Context, opts PublishOptions) (*Publisher, error) {
	if opts.Addr == "" || len(opts.Speakers) == 0 {
		return nil, errors.New("publish: Addr and Speakers are required")
	}
	p := &Publisher{opts: opts, log: opts.Logger, ticks: len(opts.Speakers[0].Packets)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cueEnds = make([][]cueEnd, p.ticks)
	for i, t := range opts.Speakers {
		if len(t.Packets) != p.ticks || p.ticks == 0 {
			return nil, fmt.Errorf("publish: speaker %s has %d packets, want %d and more than none", t.ID, len(t.Packets), p.ticks)
		}
		cert, err := selfSigned(t.Name)
		if err != nil {
			return nil, err
		}
		p.speakers = append(p.speakers, &speaker{track: t, cert: cert, log: p.log.With("speaker", t.Name)})
		for k, q := range t.Cues {
			at := min(int(q.End/tick), p.ticks-1)
			p.cueEnds[at] = append(p.cueEnds[at], cueEnd{speaker: i, cue: k})
		}
	}
	ctx, p.cancel = context.WithCancel(ctx)
	start := time.Now()
	p.wg.Add(1 + len(p.speakers))
	go func() {
		defer p.wg.Done()
		p.pace(ctx, start)
	}()
	for _, sp := range p.speakers {
		go func() {
			defer p.wg.Done()
			p.stay(ctx, sp)
		}()
	}
	return p, nil
}

// Close makes every speaker leave and waits for the Publisher's goroutines. Closing
// twice is a no-op.
func (p *Publisher) Close() error {
	p.cancel()
	p.wg.Wait()
	return nil
}

// WaitJoined waits until every speaker is in the channel, as after StartPublisher or a
// server restart.
func (p *Publisher) WaitJoined(ctx context.Context) error {
	for {
		in := 0
		for _, sp := range p.speakers {
			if sp.conn.Load() != nil {
				in++
			}
		}
		if in == len(p.speakers) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d speakers in channel %q: %w", in, len(p.speakers), p.opts.Channel, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var silence = audio.SilencePacket()

// pace is the room clock: at start + n x 20 ms each connected speaker sends packet n of
// its track (modulo the file's length) if it is speech, and types the cues ending then.
func (p *Publisher) pace(ctx context.Context, start time.Time) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := int64(0); ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if late := time.Since(start.Add(time.Duration(n) * tick)); late > maxLate {
			p.log.Warn("publisher fell behind the room clock; skipping ahead", "late", late.Round(time.Millisecond))
			n += int64(late / tick)
		}
		t := int(n % int64(p.ticks))
		for _, sp := range p.speakers {
			c := sp.conn.Load()
			pkt := sp.track.Packets[t]
			if c == nil || bytes.Equal(pkt, silence) {
				continue
			}
			last := bytes.Equal(sp.track.Packets[(t+1)%p.ticks], silence)
			// Errors are a connection going away; the speaker's goroutine notices.
			_ = c.client.Conn.WriteAudio(opusCodec, 0, (2*n)&(1<<31-1), last, pkt, nil, nil, nil)
		}
		for _, e := range p.cueEnds[t] {
			sp := p.speakers[e.speaker]
			if c := sp.conn.Load(); c != nil {
				text := sp.track.Cues[e.cue].Text
				if p.opts.Chat != nil {
					text = p.opts.Chat(text)
				}
				c.client.Send(&gumble.TextMessage{Channels: []*gumble.Channel{c.channel}, Message: text})
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * tick)))
	}
}

// stay keeps one speaker in the channel: it joins, waits for the connection to be lost,
// and joins again every rejoinEvery until ctx ends.
func (p *Publisher) stay(ctx context.Context, sp *speaker) {
	for attempt := 1; ; attempt++ {
		c, lost, err := p.join(sp)
		if err != nil {
			if attempt == 1 || attempt%10 == 0 {
				sp.log.Warn("join failed; retrying every second", "attempt", attempt, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(rejoinEvery):
			}
			continue
		}
		sp.log.Info("joined", "attempts", attempt)
		attempt = 0
		sp.conn.Store(c)
		select {
		case <-ctx.Done():
			sp.conn.Store(nil)
			_ = c.client.Disconnect()
			<-lost
			sp.log.Info("left")
			return
		case <-lost:
			sp.conn.Store(nil)
			sp.log.Warn("connection lost; rejoining")
		}
	}
}

// join connects the speaker and moves it into the channel. lost is closed when the
// connection ends.
func (p *Publisher) join(sp *speaker) (*conn, chan struct{}, error) {
	cfg := gumble.NewConfig()
	cfg.Username, cfg.Password = sp.track.Name, p.opts.Password
	lost := make(chan struct{})
	cfg.Attach(gumbleutil.Listener{Disconnect: func(*gumble.DisconnectEvent) { close(lost) }})
	var local net.Addr
	if host, _, _ := net.SplitHostPort(p.opts.Addr); host == "127.0.0.1" {
		local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	}
	client, err := dial(p.opts.Addr, cfg, &sp.cert, local)
	if err != nil {
		return nil, nil, err
	}
	var ch *gumble.Channel
	client.Do(func() {
		ch = client.Channels[0]
		if p.opts.Channel != "" {
			ch = ch.Find(p.opts.Channel)
		}
		if ch != nil {
			client.Self.Move(ch)
		}
	})
	for end := time.Now().Add(5 * time.Second); ch != nil; time.Sleep(20 * time.Millisecond) {
		in := false
		client.Do(func() { in = client.Self.Channel == ch })
		if in {
			return &conn{client: client, channel: ch}, lost, nil
		}
		if time.Now().After(end) {
			break
		}
	}
	_ = client.Disconnect()
	return nil, nil, fmt.Errorf("could not enter channel %q", p.opts.Channel)
}
