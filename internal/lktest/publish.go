package lktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/server"
	lkclient "github.com/spacetui/spacetui/transport/livekit"
)

// The text-stream topic and attributes LiveKit's agents use for live transcripts, which
// LiveKit's client SDKs turn into transcription events.
const (
	TopicTranscription = "lk.transcription"
	// AttrTrackID is the SID of the audio track the text transcribes.
	AttrTrackID = "lk.transcribed_track_id"
	// AttrSegmentID names the segment; every partial of a segment and its final share it.
	AttrSegmentID = "lk.segment_id"
	// AttrFinal is "true" on a segment's final text, "false" on a partial one.
	AttrFinal = "lk.transcription_final"
)

// Pacing and rejoin policy of a Publisher.
const (
	tick = 20 * time.Millisecond
	// rejoinEvery is the interval between join attempts of a speaker not in the room:
	// a restarted server is joined again about a second after it answers.
	rejoinEvery = time.Second
	// joinTimeout bounds one join attempt, signalling and track publication included.
	joinTimeout = 15 * time.Second
	// maxLate is how far the pacer may fall behind the room clock before it skips
	// ahead instead of sending the missed packets in a burst.
	maxLate = time.Second
	// captionQueue bounds the captions waiting to be sent for one speaker.
	captionQueue = 16
)

// PublishOptions configures a Publisher.
type PublishOptions struct {
	// URL is the LiveKit server's signalling URL (ws://HOST:PORT or wss://HOST).
	URL string
	// APIKey and APISecret sign each speaker's token.
	APIKey, APISecret string
	// Room is the room to publish into; it is created when the first speaker joins.
	Room string
	// Speakers are the tracks to publish, one participant each: 20 ms Opus packets,
	// the same number on every track (server.SpeakerTracks makes them so).
	Speakers []server.SpeakerTrack
	// Logger receives the Publisher's log (every join, loss and rejoin); nil discards it.
	Logger *slog.Logger
	// SDKLogger, when not nil, receives the LiveKit SDK's and pion's own logs, through
	// the client's filter (livekit.SDKLogger); nil leaves the SDK's where it is.
	SDKLogger *slog.Logger
	// MaxParticipants, when positive, has the room created through the RoomService
	// API with this limit before each join; otherwise the server's default applies.
	// Only a room the Publisher creates gets it (see WaitJoined).
	MaxParticipants int
}

// Publisher publishes a room's content into a LiveKit room, as a reference room server
// plays it: each speaker joins as a participant of its own (identity = speaker ID, name
// = speaker name, metadata {"role":"..."}) and publishes one Opus microphone track; all
// tracks are paced together on one room clock (packet n of every track at start + n x 20
// ms), looped forever; each cue is sent as LiveKit text streams on the
// "lk.transcription" topic, as LiveKit's agents send them: a partial or two while the
// cue is spoken, then the final text as its audio ends.
//
// When a speaker's connection is lost (the server was killed or restarted) the Publisher
// leaves the SDK's own resume loop out of it: it drops the connection and joins again
// every second until the server takes it, then publishes a new track (with a new SID)
// and goes on where the room clock is. It owns its retries, so their timing is its own.
type Publisher struct {
	opts     PublishOptions
	log      *slog.Logger
	sdkLog   protologger.Logger // nil: the SDK's default
	run      string             // makes segment IDs unique across Publishers
	ticks    int
	speakers []*speaker
	schedule [][]captionEvent // per tick of the file

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// speaker is one participant of the room.
type speaker struct {
	track    server.SpeakerTrack
	log      *slog.Logger
	conn     atomic.Pointer[conn] // nil while not in the room
	captions chan caption
}

// conn is one speaker's session in the room: its SDK room, its track and that track's
// SID. lost is closed when the session is over.
type conn struct {
	room     *lksdk.Room
	track    *lksdk.LocalTrack
	sid      string
	lost     chan struct{}
	lostOnce sync.Once
	why      atomic.Pointer[string]
}

func (c *conn) markLost(why string) {
	c.lostOnce.Do(func() {
		c.why.Store(&why)
		close(c.lost)
	})
}

// captionEvent is what one tick of the file sends for one cue: a partial revealing the
// cue's first words words, or its final text.
type captionEvent struct {
	speaker, cue int
	words        int
	final        bool
}

// caption is a captionEvent of one pass through the file, ready to send.
type caption struct {
	segment string
	text    string
	final   bool
}

// StartPublisher checks the options and starts publishing until ctx ends or Close is
// called; the speakers join in the background, so a server not yet up is no error. When
// opts.Logger is set, StartPublisher points the SDK's process-wide logger (which also
// carries pion's logs) at it: call it before starting other LiveKit clients in the same
// process, as that logger is read without synchronization.
func StartPublisher(ctx context.Context, opts PublishOptions) (*Publisher, error) {
	if opts.URL == "" || opts.Room == "" || opts.APIKey == "" || opts.APISecret == "" {
		return nil, errors.New("publish: URL, Room, APIKey and APISecret are required")
	}
	if len(opts.Speakers) == 0 {
		return nil, errors.New("publish: no speakers")
	}
	p := &Publisher{opts: opts, log: opts.Logger, run: randomHex(4), ticks: len(opts.Speakers[0].Packets)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	ids := map[string]bool{}
	for _, t := range opts.Speakers {
		switch {
		case t.ID == "" || ids[t.ID]:
			return nil, fmt.Errorf("publish: speaker id %q empty or repeated", t.ID)
		case len(t.Packets) != p.ticks || p.ticks == 0:
			return nil, fmt.Errorf("publish: speaker %s has %d packets, want %d and more than none", t.ID, len(t.Packets), p.ticks)
		}
		ids[t.ID] = true
		p.speakers = append(p.speakers, &speaker{
			track:    t,
			log:      p.log.With("room", opts.Room, "speaker", t.ID),
			captions: make(chan caption, captionQueue),
		})
	}
	p.schedule = schedule(opts.Speakers, p.ticks)
	if opts.SDKLogger != nil {
		p.sdkLog = lkclient.SDKLogger(opts.SDKLogger.With("component", "livekit-sdk"))
		lksdk.SetLogger(p.sdkLog)
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

// Close makes every speaker leave the room and waits until the Publisher's goroutines
// are done (after ctx has ended, it only waits). Closing twice is a no-op.
func (p *Publisher) Close() error {
	p.cancel()
	p.wg.Wait()
	return nil
}

// WaitJoined waits until every speaker is in the room with its track published, as
// after StartPublisher or a server restart; it returns ctx's error if that does not
// happen first. A caller that wants the room made with MaxParticipants waits for this
// before others join: a room that someone else's join created has the server's defaults.
func (p *Publisher) WaitJoined(ctx context.Context) error {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
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
			return fmt.Errorf("%d of %d speakers in room %s: %w", in, len(p.speakers), p.opts.Room, ctx.Err())
		case <-poll.C:
		}
	}
}

// Publish publishes until ctx ends, then leaves the room: StartPublisher and Close in one.
func Publish(ctx context.Context, opts PublishOptions) error {
	p, err := StartPublisher(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return p.Close()
}

// schedule places each cue's captions on the file's ticks: up to two growing partials,
// at a third and two thirds of the cue (one, halfway, for a cue of two words; none for
// one word), and the final on the tick where the cue's audio ends.
func schedule(tracks []server.SpeakerTrack, ticks int) [][]captionEvent {
	events := make([][]captionEvent, ticks)
	at := func(d time.Duration) int { return min(int((d+tick-1)/tick), ticks-1) }
	for s, t := range tracks {
		for k, q := range t.Cues {
			words := len(strings.Fields(q.Text))
			parts := min(words-1, 2)
			for i := 1; i <= parts; i++ {
				n := words * i / (parts + 1)
				e := captionEvent{speaker: s, cue: k, words: max(n, 1)}
				tk := at(q.Start + (q.End-q.Start)*time.Duration(i)/time.Duration(parts+1))
				events[tk] = append(events[tk], e)
			}
			events[at(q.End)] = append(events[at(q.End)], captionEvent{speaker: s, cue: k, final: true})
		}
	}
	return events
}

// pace is the room clock: at start + n x 20 ms it writes packet n (modulo the file's
// length) to the track of every speaker in the room and queues the captions due then.
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
			skip := int64(late / tick)
			p.log.Warn("publisher fell behind the room clock; skipping ahead", "room", p.opts.Room, "late", late.Round(time.Millisecond))
			n += skip
		}
		loop, t := n/int64(p.ticks), int(n%int64(p.ticks))
		for _, sp := range p.speakers {
			if c := sp.conn.Load(); c != nil {
				// An error here is a track being torn down; the speaker's own
				// goroutine notices the lost connection.
				_ = c.track.WriteSample(media.Sample{Data: sp.track.Packets[t], Duration: tick}, levelOf(sp.track.Packets[t]))
			}
		}
		for _, e := range p.schedule[t] {
			p.queueCaption(e, loop)
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * tick)))
	}
}

// Audio levels (RFC 6464, -dBov) on every packet, as a browser sets them, so that
// LiveKit's active-speaker detection has something to go on: speech where the speaker
// owns the tick, silence elsewhere.
var (
	silence      = audio.SilencePacket()
	speechLevel  = uint8(25)
	silenceLevel = uint8(127)
)

func levelOf(pkt []byte) *lksdk.SampleWriteOptions {
	if bytes.Equal(pkt, silence) {
		return &lksdk.SampleWriteOptions{AudioLevel: &silenceLevel}
	}
	return &lksdk.SampleWriteOptions{AudioLevel: &speechLevel}
}

func (p *Publisher) queueCaption(e captionEvent, loop int64) {
	sp := p.speakers[e.speaker]
	if sp.conn.Load() == nil {
		return // not in the room: nobody to hear it
	}
	q := sp.track.Cues[e.cue]
	c := caption{segment: p.run + "-" + q.ID + "-" + strconv.FormatInt(loop, 10), text: q.Text, final: e.final}
	if !e.final {
		c.text = strings.Join(strings.Fields(q.Text)[:e.words], " ")
	}
	select {
	case sp.captions <- c:
	default:
		sp.log.Warn("caption dropped: the sender is stuck", "segment", c.segment)
	}
}

// stay keeps one speaker in the room: it joins, sends the speaker's captions while the
// connection lasts, and after a loss joins again, every rejoinEvery, until ctx ends.
func (p *Publisher) stay(ctx context.Context, sp *speaker) {
	var lostAt time.Time
	for attempt := 1; ; attempt++ {
		c, err := p.join(ctx, sp)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
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
		if lostAt.IsZero() {
			sp.log.Info("joined", "track", c.sid, "attempts", attempt)
		} else {
			sp.log.Info("rejoined", "track", c.sid, "attempts", attempt, "outage", time.Since(lostAt).Round(time.Millisecond))
		}
		attempt = 0
		for drained := false; !drained; { // captions queued for the last connection
			select {
			case <-sp.captions:
			default:
				drained = true
			}
		}
		sp.conn.Store(c)
		p.serve(ctx, sp, c)
		sp.conn.Store(nil)
		c.room.Disconnect()
		if ctx.Err() != nil {
			sp.log.Info("left")
			return
		}
		lostAt = time.Now()
		sp.log.Warn("connection lost; rejoining", "reason", *c.why.Load())
	}
}

// serve sends the speaker's captions until the connection is lost or ctx ends.
func (p *Publisher) serve(ctx context.Context, sp *speaker, c *conn) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.lost:
			return
		case cp := <-sp.captions:
			attrs := map[string]string{AttrTrackID: c.sid, AttrSegmentID: cp.segment, AttrFinal: strconv.FormatBool(cp.final)}
			if err := sendText(c.room.LocalParticipant, TopicTranscription, cp.text, attrs); err != nil {
				sp.log.Warn("transcript not sent", "segment", cp.segment, "err", err)
			}
		}
	}
}

// join makes one attempt to bring the speaker into the room and publish its track.
func (p *Publisher) join(ctx context.Context, sp *speaker) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if n := p.opts.MaxParticipants; n > 0 {
		rooms := lksdk.NewRoomServiceClient(p.opts.URL, p.opts.APIKey, p.opts.APISecret)
		if _, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: p.opts.Room, MaxParticipants: uint32(n)}); err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
	}
	meta, err := json.Marshal(map[string]string{"role": sp.track.Role})
	if err != nil {
		return nil, err
	}
	c := &conn{lost: make(chan struct{})}
	room := lksdk.NewRoom(&lksdk.RoomCallback{
		// The SDK's own resume loop starts here; the Publisher rejoins instead.
		OnReconnecting:           func() { c.markLost("reconnecting") },
		OnDisconnectedWithReason: func(r lksdk.DisconnectionReason) { c.markLost(string(r)) },
	})
	opts := []lksdk.ConnectOption{lksdk.WithAutoSubscribe(false)}
	if p.sdkLog != nil {
		opts = append(opts, lksdk.WithLogger(p.sdkLog))
	}
	err = room.JoinWithContext(ctx, p.opts.URL, lksdk.ConnectInfo{
		APIKey:              p.opts.APIKey,
		APISecret:           p.opts.APISecret,
		RoomName:            p.opts.Room,
		ParticipantIdentity: sp.track.ID,
		ParticipantName:     sp.track.Name,
		ParticipantMetadata: string(meta),
	}, opts...)
	if err != nil {
		return nil, err
	}
	track, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err == nil {
		if p.sdkLog != nil {
			track.SetLogger(p.sdkLog)
		}
		var pub *lksdk.LocalTrackPublication
		pub, err = room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
			Name: "microphone", Source: livekit.TrackSource_MICROPHONE,
		})
		if err == nil {
			c.room, c.track, c.sid = room, track, pub.SID()
			return c, nil
		}
	}
	room.Disconnect()
	return nil, fmt.Errorf("publish track: %w", err)
}
