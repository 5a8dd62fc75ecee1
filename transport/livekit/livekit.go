// Package livekit joins LiveKit rooms as a listener. It registers the livekit (signalling
// over ws) and livekit+wss URL schemes with package transport and maps a LiveKit room
// onto the transport room model:
//
//   - participants who publish audio are speakers (ID = identity, stable across
//     reconnects; name; role from the "role" attribute or a {"role": ...} metadata);
//   - each speaker's Opus RTP packets become AudioFrames on one room clock (see mapper);
//   - "lk.transcription" text streams become TranscriptSegments, attributed to the
//     owner of the transcribed track;
//   - the listener count is every participant who publishes no audio, this one included.
//
// One owner for retries: the SDK's own quick resume is used while it works (reported as
// a reconnecting State, then live); a resume that takes longer than ResumeBudget, the
// SDK's fall-back to a full rejoin, and every refused join end the Conn with a classified
// error, and transport.Reconnector decides when to dial again.
package livekit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// Timing of one attempt.
const (
	// JoinTimeout bounds the join: signalling, and the peer connection coming up.
	JoinTimeout = 10 * time.Second
	// ResumeBudget is how long the SDK's own resume may try before the Conn gives up
	// and the Reconnector takes over.
	ResumeBudget = 5 * time.Second
	// heartbeatEvery keeps the stall detector fed while the signalling connection is
	// up: a LiveKit room may be silent for minutes (publishers stop sending in DTX).
	heartbeatEvery = 2 * time.Second
	// tokenTTL is the life of a minted listener token; the server refreshes it while
	// the session lasts.
	tokenTTL = 6 * time.Hour
	// queueLen bounds the events waiting for Recv.
	queueLen = 1024
	// maxOpenSegments bounds the transcript segments remembered while partial.
	maxOpenSegments = 256
	// maxOwners bounds the track IDs remembered for transcript attribution.
	maxOwners = 1024
	// maxTextBytes bounds what is read of one text stream.
	maxTextBytes = 16 << 10
	// RosterGrace is how long after a full rejoin the speakers of the previous
	// connection stay on the roster while they have not rejoined too: the publishers
	// of a restarted server come back one by one, and a reconnect must not look like
	// everyone leaving and coming back.
	RosterGrace = 15 * time.Second
)

// NobodyPublishing is the Detail of the live State of a room where nobody publishes
// audio (transport.ReasonNoSpeakers). LiveKit creates a room on the first join, so a
// mistyped room name looks just like this too; with an API key the Detail says whether
// the room existed before this client joined.
const NobodyPublishing = "nobody is publishing in this room yet"

// lookupTimeout bounds the RoomService query that precedes a join with an API key.
const lookupTimeout = 3 * time.Second

// WhyResumed is the Gap reason for the audio lost while the SDK resumed the session.
const WhyResumed = "LiveKit resumed the session; audio sent meanwhile is not replayed"

// The text-stream topic and attributes LiveKit uses for transcriptions.
const (
	TopicTranscription   = "lk.transcription"
	AttrTranscribedTrack = "lk.transcribed_track_id"
	AttrSegmentID        = "lk.segment_id"
	AttrFinal            = "lk.transcription_final"
)

// The names of this protocol's options (transport.Option), the keys of
// transport.DialOptions.Params.
const (
	OptAPIKey    = "api-key"
	OptAPISecret = "api-secret"
)

func init() {
	transport.Register("livekit", dialer{})
	transport.Register("livekit+wss", dialer{})
}

// dialer is the transport.Dialer of both schemes; it declares the API key and secret a
// listen-only token can be minted with.
type dialer struct{}

var (
	_ transport.Dialer       = dialer{}
	_ transport.Configurable = dialer{}
)

func (dialer) Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	return Dial(ctx, u, opts)
}

func (dialer) Options() []transport.Option {
	return []transport.Option{
		{Name: OptAPIKey, Env: "LIVEKIT_API_KEY", Usage: "LiveKit: API key to mint a listen-only token with"},
		{Name: OptAPISecret, Env: "LIVEKIT_API_SECRET", Usage: "LiveKit: the API key's secret", Secret: true},
	}
}

// Check wants a token, or an API key and its secret to mint one with.
func (dialer) Check(_ *url.URL, opts transport.DialOptions) error {
	key, secret := opts.Params[OptAPIKey], opts.Params[OptAPISecret]
	if (key == "") != (secret == "") {
		return errors.New("--api-key and --api-secret go together")
	}
	if opts.Token == "" && key == "" {
		return errors.New("a LiveKit room needs --token (or $SPACETUI_TOKEN), or --api-key and --api-secret")
	}
	return nil
}

// Endpoint splits a livekit:// or livekit+wss:// room URL into the server URL the SDK
// dials (ws:// or wss://) and the room name.
func Endpoint(u *url.URL) (server, room string, err error) {
	scheme := "ws"
	if u.Scheme == "livekit+wss" {
		scheme = "wss"
	}
	room = strings.Trim(u.Path, "/")
	if room == "" || strings.Contains(room, "/") {
		return "", "", fmt.Errorf("room URL %s://%s%s: want %s://HOST:PORT/ROOM: %w", u.Scheme, u.Host, u.Path, u.Scheme, transport.ErrNotFound)
	}
	return scheme + "://" + u.Host, room, nil
}

// ListenerToken mints a token that may join room and subscribe, and nothing else.
func ListenerToken(key, secret, room, identity string) (string, error) {
	grant := &auth.VideoGrant{RoomJoin: true, Room: room}
	grant.SetCanPublish(false)
	grant.SetCanPublishData(false)
	grant.SetCanSubscribe(true)
	return auth.NewAccessToken(key, secret).
		SetVideoGrant(grant).
		SetIdentity(identity).
		SetName("spacetui listener").
		SetValidFor(tokenTTL).
		ToJWT()
}

// Dial joins the room at u once. The returned Conn also implements
// transport.Resumable: what it hands the next attempt is not a LiveKit session (a new
// connection never continues one) but this client's identity, room clock and sequence
// numbers, so a rejoin looks like one listener continuing rather than a new one.
func Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	server, roomName, err := Endpoint(u)
	if err != nil {
		return nil, err
	}
	log := opts.Log().With("livekit", u.Host)
	routePion(log)
	c := newConn(u.Host, log, opts.Resume, time.Now())
	key, secret := opts.Params[OptAPIKey], opts.Params[OptAPISecret]
	hide(opts.Token)
	hide(secret)
	if key != "" && !c.found.asked {
		// Before the join, which creates the room: afterwards it always exists.
		c.found = lookUpRoom(ctx, server, key, secret, roomName, log)
	}
	token := opts.Token
	if token == "" {
		if key == "" || secret == "" {
			return nil, fmt.Errorf("%s: a LiveKit room needs --token (or SPACETUI_TOKEN), or --api-key and --api-secret: %w", u.Host, transport.ErrUnauthorized)
		}
		if token, err = ListenerToken(key, secret, roomName, c.identity); err != nil {
			return nil, fmt.Errorf("mint a listener token: %w", err)
		}
	}

	room := lksdk.NewRoom(c.callbacks())
	if err := room.RegisterTextStreamHandler(TopicTranscription, c.onText); err != nil {
		return nil, err
	}
	c.room = room
	joinCtx, cancel := context.WithTimeout(ctx, JoinTimeout)
	defer cancel()
	if err := room.JoinWithContextAndToken(joinCtx, server, token, lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(SDKLogger(log))); err != nil {
		room.Disconnect()
		c.shut()
		return nil, classifyJoin(err, u.Host, opts.Token == "")
	}
	c.joined()
	return c, nil
}

// classifyJoin maps the SDK's join errors, which carry the server's validation answer
// only as text, onto the transport's classes. The server quotes a token it refuses
// ("invalid token: eyJ..."): it is cut out before the message goes anywhere. A minted
// token is a JWT, which redact finds by its shape; Dial registers a given one. minted
// says the token was made from --api-key and --api-secret rather than given.
func classifyJoin(err error, host string, minted bool) error {
	msg := transport.Sanitize(redact(err.Error()), transport.MaxDetailRunes)
	low := strings.ToLower(msg)
	switch {
	case errors.Is(err, lksdk.ErrCannotConnectSignal):
		// The server validated the token, then refused the session: the room is at
		// its participant limit or the node is out of capacity (LiveKit answers 500
		// "connection closed by media"; the SDK keeps only this sentinel).
		return &transport.OverloadError{Reason: "LiveKit refused the session: room full or server at capacity"}
	case strings.HasPrefix(low, "unauthorized"), strings.Contains(low, "permission denied"):
		return fmt.Errorf("%s: %s: %w", host, refusal(msg, minted), transport.ErrUnauthorized)
	case strings.HasPrefix(low, "not found"):
		return fmt.Errorf("%s: %w", host, transport.ErrNotFound)
	case strings.HasPrefix(low, "unavailable"), strings.Contains(low, "max participants"),
		strings.Contains(low, "limit exceeded"), strings.Contains(low, "no available nodes"):
		return &transport.OverloadError{Reason: "LiveKit: " + msg}
	}
	if _, rest, ok := strings.Cut(msg, `": `); ok && strings.HasPrefix(msg, "Get ") {
		msg = rest // the SDK's validation URL says nothing the user needs
	}
	return fmt.Errorf("join %s: %s", host, msg)
}

// lookup is what the server's RoomService said about the room before the first join.
type lookup struct {
	asked   bool      // the server answered
	existed bool      // the room was there before this client joined
	created time.Time // when it was created, if it existed
}

// lookUpRoom asks the server whether room exists (ListRooms; the API key may list
// rooms). A server that does not answer leaves the question open.
func lookUpRoom(ctx context.Context, server, key, secret, room string, log *slog.Logger) lookup {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	res, err := lksdk.NewRoomServiceClient(server, key, secret).ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{room}})
	if err != nil {
		log.Warn("cannot ask LiveKit whether the room exists", "room", room, "err", redact(err.Error()))
		return lookup{}
	}
	for _, r := range res.GetRooms() {
		if r.GetName() == room {
			created := time.Unix(r.GetCreationTime(), 0)
			if ms := r.GetCreationTimeMs(); ms > 0 {
				created = time.UnixMilli(ms)
			}
			log.Info("the LiveKit room exists", "room", room, "created", created, "participants", r.GetNumParticipants())
			return lookup{asked: true, existed: true, created: created}
		}
	}
	log.Info("the LiveKit room does not exist yet; joining creates it", "room", room)
	return lookup{asked: true}
}

// nobodyDetail is the Detail of a live room without speakers.
func (l lookup) nobodyDetail() string {
	switch {
	case !l.asked:
		return NobodyPublishing
	case l.existed:
		return NobodyPublishing + " (the room exists)"
	}
	return NobodyPublishing + ", and the room did not exist before we joined: is its name right?"
}

// refusal says in words why LiveKit refused a token, from the server's answer, which
// quotes the JWT library ("invalid token: [token], error: go-jose/go-jose: error in
// cryptographic primitive"); an answer it does not know is passed on.
func refusal(msg string, minted bool) string {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "invalid api key"):
		if minted {
			return "the server does not know the API key"
		}
		return "the token names an API key the server does not know"
	case strings.Contains(low, "cryptographic primitive"), strings.Contains(low, "signature"):
		if minted {
			return "the API secret does not match the key (LiveKit refused the token)"
		}
		return "the token is not signed with this server's secret (LiveKit refused it)"
	case strings.Contains(low, "expired"):
		return "the token has expired"
	case strings.Contains(low, "not valid yet"), strings.Contains(low, "issued in the future"):
		return "the token is not valid yet (is this machine's clock right?)"
	case strings.Contains(low, "invalid authorization token"):
		return "the token is not a LiveKit access token"
	}
	return msg
}

// Conn is one joined LiveKit room.
type Conn struct {
	host     string
	identity string
	room     *lksdk.Room
	log      *slog.Logger

	events chan transport.Event
	failed chan struct{} // closed with err set: the attempt is over
	err    error
	closed chan struct{} // closed by Close: senders give up
	once   sync.Once
	ready  chan struct{} // closed once the first RoomInfo and Roster are queued
	dirty  chan struct{} // the room changed: refresh

	mu           sync.Mutex
	clock        *mapper
	current      map[string]reader // speaker -> the audio track being read
	readers      int               // readers started, to tell them apart
	owner        map[string]string // track SID -> speaker, for transcript attribution
	captions     *captionClock
	roster       []transport.Speaker
	carried      []transport.Speaker // the previous connection's roster, until carryEnd
	carryEnd     time.Time
	found        lookup // what the server said about the room before the first join
	nobody       bool   // the last State said that nobody publishes
	listeners    int
	resuming     bool
	lostAt       time.Time // when the SDK began to resume
	resumeTimer  *time.Timer
	disconnected bool
}

func newConn(host string, log *slog.Logger, prev *transport.Resume, now time.Time) *Conn {
	c := &Conn{
		host:     host,
		log:      log,
		events:   make(chan transport.Event, queueLen),
		failed:   make(chan struct{}),
		closed:   make(chan struct{}),
		ready:    make(chan struct{}),
		dirty:    make(chan struct{}, 1),
		current:  map[string]reader{},
		owner:    map[string]string{},
		captions: newCaptionClock(),
		clock:    newMapper(prev, now),
	}
	if prev != nil {
		if k, ok := prev.Private.(kept); ok {
			c.found = k.found
			if len(k.roster) > 0 {
				c.carried, c.carryEnd = slices.Clone(k.roster), now.Add(RosterGrace)
			}
		}
	}
	if prev != nil && prev.Session != "" {
		c.identity = prev.Session
	} else {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.identity = "spacetui-" + hex.EncodeToString(b[:])
	}
	return c
}

func (c *Conn) callbacks() *lksdk.RoomCallback {
	cb := lksdk.NewRoomCallback()
	// The SDK may hold its own locks while it calls back: callbacks only note that the
	// room changed, and refresher reads the room on a goroutine of its own.
	cb.OnParticipantConnected = func(*lksdk.RemoteParticipant) { c.kick() }
	cb.OnParticipantDisconnected = c.onParticipantLeft
	cb.OnTrackPublished = func(*lksdk.RemoteTrackPublication, *lksdk.RemoteParticipant) { c.kick() }
	cb.OnTrackUnpublished = func(*lksdk.RemoteTrackPublication, *lksdk.RemoteParticipant) { c.kick() }
	cb.OnTrackMuted = func(lksdk.TrackPublication, lksdk.Participant) { c.kick() }
	cb.OnTrackUnmuted = func(lksdk.TrackPublication, lksdk.Participant) { c.kick() }
	cb.OnMetadataChanged = func(string, lksdk.Participant) { c.kick() }
	cb.OnAttributesChanged = func(map[string]string, lksdk.Participant) { c.kick() }
	cb.OnTrackSubscribed = c.onTrack
	cb.OnActiveSpeakersChanged = func(ps []lksdk.Participant) {
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			if _, local := p.(*lksdk.LocalParticipant); !local {
				ids = append(ids, p.Identity())
			}
		}
		c.queue(transport.ActiveSpeakers{IDs: ids})
	}
	cb.OnReconnecting = c.onReconnecting
	cb.OnReconnected = c.onReconnected
	cb.OnDisconnected = c.onDisconnected
	return cb
}

// joined queues the room and its roster, then lets the track readers go.
func (c *Conn) joined() {
	c.log.Info("joined LiveKit room", "room", c.room.Name(), "identity", c.identity)
	if c.carried != nil { // read before the refresher may clear it
		time.AfterFunc(time.Until(c.carryEnd), c.kick) // drop who did not come back
	}
	c.refresh()
	close(c.ready)
	go c.heartbeat()
	go c.refresher()
}

// kick asks the refresher for a new look at the room.
func (c *Conn) kick() {
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

func (c *Conn) refresher() {
	for {
		select {
		case <-c.dirty:
			c.refresh()
		case <-c.closed:
			return
		case <-c.failed:
			return
		}
	}
}

// Recv returns the next event; once the attempt has failed, the events it had queued
// come first, then the error.
func (c *Conn) Recv(ctx context.Context) (transport.Event, error) {
	select {
	case ev := <-c.events:
		return ev, nil
	case <-c.failed:
		select {
		case ev := <-c.events:
			return ev, nil
		default:
		}
		if errors.Is(c.err, errEnded) {
			return transport.Ended{Reason: "the LiveKit room was closed"}, nil
		}
		return nil, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errEnded marks a room the server closed: Recv reports it as transport.Ended.
var errEnded = errors.New("room closed")

// Close leaves the room (the server frees the place at once) and stops every reader.
func (c *Conn) Close() error {
	c.shut()
	if c.room != nil {
		c.room.Disconnect()
	}
	return nil
}

func (c *Conn) shut() {
	c.once.Do(func() { close(c.closed) })
}

// Resume hands the next attempt this client's identity, room clock and sequences, the
// roster it keeps showing while the speakers rejoin, and what the server said about the
// room before this client first joined (and so created it).
func (c *Conn) Resume() *transport.Resume {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.clock.resume(c.identity)
	r.Private = kept{roster: slices.Clone(c.roster), found: c.found}
	return r
}

// kept is what a Conn hands the next one (transport.Resume.Private): its last roster,
// which the next one keeps showing for RosterGrace, and the first lookup.
type kept struct {
	roster []transport.Speaker
	found  lookup
}

// Resumed is false: a new LiveKit connection never continues the previous one.
func (c *Conn) Resumed() bool { return false }

// fail ends the attempt with err (the first error wins).
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disconnected {
		return
	}
	c.disconnected = true
	if c.resumeTimer != nil {
		c.resumeTimer.Stop()
	}
	c.err = err
	c.log.Info("LiveKit connection over", "err", err)
	close(c.failed)
}

// send queues ev, cleaned, unless the Conn is closed or failed. Every event leaves
// through send or queue, which clean it (transport.Clean): the rest of this package
// works with the room's strings as the SDK gives them, which are also the SDK's keys.
func (c *Conn) send(ev transport.Event) {
	select {
	case c.events <- transport.Clean(ev):
	case <-c.closed:
	case <-c.failed:
	}
}

func (c *Conn) heartbeat() {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if c.room.ConnectionState() == lksdk.ConnectionStateConnected {
				c.send(transport.Heartbeat{})
			}
		case <-c.closed:
			return
		case <-c.failed:
			return
		}
	}
}

// refresh recomputes the roster and the listener count from the SDK's view of the
// room and queues what changed. While the SDK is resuming the view is in flux and is
// left alone: a reconnect must not look like everyone leaving.
func (c *Conn) refresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resuming || c.disconnected {
		return
	}
	var speakers []transport.Speaker
	listeners := 1 // this client
	for _, p := range c.room.GetRemoteParticipants() {
		pub := audioPublication(p)
		if pub == nil {
			listeners++
			continue
		}
		speakers = append(speakers, speakerOf(p, pub))
	}
	if c.carried != nil && time.Now().Before(c.carryEnd) {
		for _, sp := range c.carried {
			if !slices.ContainsFunc(speakers, func(s transport.Speaker) bool { return s.ID == sp.ID }) {
				speakers = append(speakers, sp)
			}
		}
	} else {
		c.carried = nil
	}
	slices.SortFunc(speakers, func(a, b transport.Speaker) int { return strings.Compare(a.ID, b.ID) })
	first := c.roster == nil
	if first || listeners != c.listeners {
		name := c.room.Name()
		info := transport.RoomInfo{ID: name, Title: roomTitle(c.room.Metadata(), name), Listeners: listeners, Started: c.found.created}
		if c.queue(info) {
			c.listeners = listeners
		}
	}
	if first || !slices.Equal(speakers, c.roster) {
		if speakers == nil {
			speakers = []transport.Speaker{}
		}
		if c.queue(transport.Roster{Speakers: slices.Clone(speakers)}) {
			c.roster = speakers
		}
	}
	// Live silence would look like a quiet room: say that nobody publishes, and say it
	// no more once someone does.
	if nobody := len(speakers) == 0; nobody != c.nobody {
		st := transport.State{State: transport.StateLive}
		if nobody {
			st.Reason, st.Detail = transport.ReasonNoSpeakers, c.found.nobodyDetail()
		}
		if c.queue(st) {
			c.nobody = nobody
		}
	}
}

// queue is send for callers that must not block (they hold mu, or are the SDK's own
// goroutine). When the queue is full it reports false and has the room looked at again
// shortly, so a room update is late rather than lost.
func (c *Conn) queue(ev transport.Event) bool {
	select {
	case c.events <- transport.Clean(ev):
		return true
	default:
		c.log.Warn("event queue full: a room update waits")
		time.AfterFunc(100*time.Millisecond, c.kick)
		return false
	}
}

func audioPublication(p *lksdk.RemoteParticipant) *lksdk.RemoteTrackPublication {
	var found *lksdk.RemoteTrackPublication
	for _, tp := range p.TrackPublications() {
		pub, ok := tp.(*lksdk.RemoteTrackPublication)
		if !ok || pub.Kind() != lksdk.TrackKindAudio {
			continue
		}
		if found == nil || pub.Source() == livekit.TrackSource_MICROPHONE {
			found = pub
		}
	}
	return found
}

func speakerOf(p *lksdk.RemoteParticipant, pub *lksdk.RemoteTrackPublication) transport.Speaker {
	id, name := p.Identity(), p.Name()
	if transport.Sanitize(name, transport.MaxNameRunes) == "" {
		name = id // a name that would show as nothing shows the ID
	}
	return transport.Speaker{ID: id, Name: name, Role: roleOf(p.Attributes(), p.Metadata()), Muted: pub.IsMuted()}
}

// roleOf is a participant's role: its "role" attribute, else the "role" of its JSON
// metadata.
func roleOf(attrs map[string]string, metadata string) string {
	role := attrs["role"]
	if role == "" {
		var md struct {
			Role string `json:"role"`
		}
		if json.Unmarshal([]byte(metadata), &md) == nil {
			role = md.Role
		}
	}
	return role
}

// roomTitle is the room metadata's "title", else the room name.
func roomTitle(metadata, name string) string {
	var md struct {
		Title string `json:"title"`
	}
	if json.Unmarshal([]byte(metadata), &md) == nil && md.Title != "" {
		return md.Title
	}
	return name
}

// onTrack reads one subscribed audio track until it ends. A speaker has one track at
// a time; a replacement (the publisher rejoined) starts where the last one stopped.
func (c *Conn) onTrack(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, p *lksdk.RemoteParticipant) {
	if track.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	speaker := p.Identity()
	sid := pub.SID()
	if !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeOpus) {
		c.log.Warn("ignoring a non-Opus audio track", "speaker", speaker, "codec", track.Codec().MimeType)
		return
	}
	c.mu.Lock()
	if len(c.owner) >= maxOwners {
		clear(c.owner) // a room that republished this often: forget the old tracks
	}
	c.owner[sid] = speaker
	if prev, ok := c.current[speaker]; ok && prev.sid != sid {
		c.log.Info("audio track replaced", "speaker", speaker, "track", sid, "was", prev.sid)
	}
	// The newest track wins, even a resubscription of the same one after a resume: an
	// older reader stops at its next packet.
	c.readers++
	me := reader{sid: sid, n: c.readers}
	c.current[speaker] = me
	c.mu.Unlock()
	c.log.Info("audio track subscribed", "speaker", speaker, "track", sid)
	go c.read(track, speaker, me)
}

// reader names one goroutine reading one subscription of a track.
type reader struct {
	sid string
	n   int
}

func (c *Conn) read(remote *webrtc.TrackRemote, speaker string, me reader) {
	select {
	case <-c.ready:
	case <-c.closed:
		return
	case <-c.failed:
		return
	}
	var t track
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 || len(pkt.Payload) > wire.MaxPayload {
			continue
		}
		c.mu.Lock()
		if c.current[speaker] != me {
			c.mu.Unlock()
			return
		}
		now := time.Now()
		seq, ts := c.clock.place(speaker, &t, pkt.SequenceNumber, pkt.Timestamp, now)
		c.captions.heard(speaker, c.clock.offset(now), pkt.Payload)
		c.mu.Unlock()
		c.send(transport.AudioFrame{Speaker: speaker, Codec: transport.CodecOpus, Seq: seq, Timestamp: ts,
			Duration: opusDuration(pkt.Payload), Payload: pkt.Payload})
	}
}

// onText turns one "lk.transcription" text stream into a transcript segment. Each
// stream carries a segment's whole text so far; the partials of a segment share its
// lk.segment_id, and the last has lk.transcription_final set.
func (c *Conn) onText(r *lksdk.TextStreamReader, sender string) {
	var b strings.Builder
	for b.Len() < maxTextBytes {
		ch, _, err := r.ReadRune()
		if err != nil {
			break
		}
		b.WriteRune(ch)
	}
	id, final, track := segmentOf(r.Info.Attributes, r.Info.Id)
	now := time.Now()
	c.mu.Lock()
	speaker, ok := c.owner[track]
	if !ok {
		speaker = sender
	}
	start, end := c.captions.place(id, speaker, final, c.clock.offset(now))
	c.mu.Unlock()
	c.send(transport.TranscriptSegment{
		ID:      id,
		Speaker: speaker,
		Start:   start,
		End:     end,
		Text:    b.String(),
		Final:   final,
	})
}

// segmentOf reads a transcription stream's attributes: its segment (the stream's own ID
// when it names none), whether it is final (agents write "true", "1", or a JSON
// boolean), and the track it transcribes.
func segmentOf(attrs map[string]string, streamID string) (id string, final bool, track string) {
	id = attrs[AttrSegmentID]
	if id == "" {
		id = streamID
	}
	final, _ = strconv.ParseBool(attrs[AttrFinal])
	return id, final, attrs[AttrTranscribedTrack]
}

// onParticipantLeft refreshes the roster, unless the SDK is resuming: it empties the
// room itself when it falls back to a full rejoin, which is the Reconnector's job.
// (Without remote participants, the second onReconnecting says the same.)
func (c *Conn) onParticipantLeft(p *lksdk.RemoteParticipant) {
	c.mu.Lock()
	resuming := c.resuming
	c.mu.Unlock()
	if resuming {
		c.lost(errResumeFailed)
		return
	}
	c.kick()
}

// errResumeFailed ends a Conn whose SDK fell back from resuming to a full rejoin.
var errResumeFailed = errors.New("LiveKit session lost (the SDK's resume failed)")

// lost ends the Conn and stops the SDK's own retries: the Reconnector takes over.
func (c *Conn) lost(err error) {
	c.fail(err)
	go c.room.Disconnect() // not on the SDK's goroutine, which may be calling us
}

// onReconnecting is called when the SDK starts to resume, and again when it gives the
// resume up for a full rejoin: that second call ends the Conn, as full rejoins are the
// Reconnector's.
func (c *Conn) onReconnecting() {
	c.mu.Lock()
	if c.disconnected {
		c.mu.Unlock()
		return
	}
	if c.resuming {
		c.mu.Unlock()
		c.lost(errResumeFailed)
		return
	}
	c.resuming, c.lostAt = true, time.Now()
	c.resumeTimer = time.AfterFunc(ResumeBudget, func() {
		c.lost(fmt.Errorf("LiveKit resume took over %s", ResumeBudget))
	})
	c.mu.Unlock()
	c.log.Info("LiveKit connection lost; the SDK is resuming", "budget", ResumeBudget)
	c.send(transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1,
		Detail: "connection lost; resuming the LiveKit session"})
}

func (c *Conn) onReconnected() {
	c.mu.Lock()
	if !c.resuming || c.disconnected {
		c.mu.Unlock()
		return
	}
	c.resuming = false
	c.resumeTimer.Stop()
	lost := c.lostAt
	c.mu.Unlock()
	now := time.Now()
	c.log.Info("LiveKit session resumed", "after", now.Sub(lost).Round(time.Millisecond))
	// LiveKit does not replay what was sent while we were away.
	c.send(transport.Gap{From: lost, To: now, Why: WhyResumed})
	c.send(transport.State{State: transport.StateLive, Detail: "resumed"})
	c.kick()
}

// onDisconnected classifies why the SDK left the room.
func (c *Conn) onDisconnected() {
	reason := c.room.DisconnectReason()
	var err error
	switch reason {
	case livekit.DisconnectReason_ROOM_DELETED, livekit.DisconnectReason_ROOM_CLOSED:
		err = errEnded
	case livekit.DisconnectReason_SERVER_SHUTDOWN:
		err = &transport.RestartError{Reason: "LiveKit server shutting down"}
	case livekit.DisconnectReason_PARTICIPANT_REMOVED:
		err = fmt.Errorf("%s: removed from the room by the server: %w", c.host, transport.ErrUnauthorized)
	case livekit.DisconnectReason_DUPLICATE_IDENTITY:
		err = fmt.Errorf("%s: another client joined with this identity: %w", c.host, transport.ErrUnauthorized)
	case livekit.DisconnectReason_CLIENT_INITIATED:
		err = errors.New("left the room")
	default:
		err = fmt.Errorf("LiveKit connection lost (%s)", strings.ToLower(reason.String()))
	}
	c.fail(err)
}

// opusDuration is the audio an Opus packet carries, from its TOC byte; 0 for a malformed
// packet, which the pipeline conceals like a lost one.
func opusDuration(pkt []byte) time.Duration {
	n, err := audio.PacketSamples(pkt)
	if err != nil {
		return 0
	}
	return time.Duration(n) * time.Second / audio.SampleRate
}
