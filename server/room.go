package server

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport/wire"
)

// Pacing, queues and liveness.
const (
	// queueLen bounds each listener's queue of messages, about 5 s of ticks.
	queueLen = 250
	// writeTimeout bounds every single write to a client.
	writeTimeout = 10 * time.Second
	// heartbeat is the interval between pings (wire heartbeat_ms).
	heartbeat = 5 * time.Second
	// silenceLimit is how long a client may stay silent before it is closed.
	silenceLimit = 15 * time.Second
	// joinTimeout is how long after the upgrade a client has to send join.
	joinTimeout = 10 * time.Second
	// maxLag is how far behind its schedule a room may fall (a suspended process, a
	// starved machine) before it skips ticks instead of bursting to catch up.
	maxLag = time.Second
	// lagLogEvery is the least interval between two warnings that a room skipped ticks:
	// a machine that stays overloaded would otherwise log every second.
	lagLogEvery = 10 * time.Second
	// stopGrace is how long a stopping room lets its clients' handlers end on their
	// own (a 1012 close handshake) before it cuts their connections, whatever they are
	// doing: a client that reads nothing cannot hold a shutdown up for longer. It is
	// real time, as the deadlines of writes are.
	stopGrace = 5 * time.Second
	// listenersEvery is the least interval between listener count updates.
	listenersEvery = time.Second
	// shedReason is the close reason of a listener dropped because its queue was full.
	shedReason = "listener too slow; retry-after=2"
)

// Reasons a place in a room is refused.
var (
	errRoomFull    = errors.New("room is full")
	errRoomStopped = errors.New("room is not running")
	errOverloaded  = errors.New("server overloaded")
)

// message is one WebSocket message, encoded once, framed once and shared by every
// listener: frame is the whole WebSocket frame a listener's writer copies to its socket,
// data the payload inside it. tick is the room tick it belongs to: where a listener
// stands once it has been written.
type message struct {
	binary bool
	data   []byte
	frame  []byte
	tick   int64
}

// newMessage frames payload as one unmasked, unfragmented WebSocket message (RFC 6455,
// 5.2), as a server sends it.
func newMessage(isBinary bool, payload []byte, tick int64) message {
	op := byte(0x1) // text
	if isBinary {
		op = 0x2
	}
	frame := make([]byte, 0, 10+len(payload))
	frame = append(frame, 0x80|op) // FIN
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, byte(n))
	case n <= 0xFFFF:
		frame = binary.BigEndian.AppendUint16(append(frame, 126), uint16(n))
	default:
		frame = binary.BigEndian.AppendUint64(append(frame, 127), uint64(n))
	}
	head := len(frame)
	frame = append(frame, payload...)
	return message{binary: isBinary, data: frame[head:], frame: frame, tick: tick}
}

// at is m as sent at another tick: the same bytes.
func (m message) at(tick int64) message {
	m.tick = tick
	return m
}

// record is a message of the replay window: an audio message with its frames, or a
// transcript segment with its id and whether it is the final one.
type record struct {
	msg     message
	frames  []wire.Frame
	caption string
	final   bool
}

// room is one live room: content played on the room clock and fanned out to listeners.
// One goroutine (run) paces it; listeners' handlers register with it under mu.
type room struct {
	id, title    string
	content      *content
	clock        Clock
	log          *slog.Logger
	maxListeners int
	replayTicks  int64
	roster       message        // the roster never changes
	speakerOf    map[uint16]int // track number -> index in content.speakers
	faults       *atomic.Pointer[Faults]

	ticks   atomic.Int64 // ticks processed since run started
	skipped atomic.Int64 // ticks skipped since run started: their frames were never sent

	mu        sync.Mutex
	running   bool
	stopped   chan struct{} // closed when run ends
	cut       context.Context
	cutNow    context.CancelFunc // cancels cut: stop does, once its grace has passed
	started   time.Time
	epoch     string // changes each time the room starts: sequence numbers restart
	places    int    // taken: WebSocket clients (from before the upgrade) and listen.ogg clients
	handlers  sync.WaitGroup
	listeners map[*listener]struct{}
	taps      map[chan []wire.Frame]struct{}
	partials  map[string]message // the growing caption segments, by transcript id
	// ring holds the replay window: ring[ringHead:] are the audio and transcript
	// messages of the last replayTicks ticks, oldest first. Resume registers a listener
	// and replays from it under mu, so nothing is lost or doubled at the seam.
	ring     []record
	ringHead int
	last     int64    // the last tick recorded
	seq      []uint32 // per speaker, the last sequence number used; written by run under mu
	expired  []uint32 // per speaker, the newest sequence number that has left the ring
	sessions map[string]*session
	gone     []departure // sessions whose listener left, oldest first

	// Owned by run.
	countSent   int
	countSentAt int64
	lag         lagLog
	rounds      rounds // when the listeners' writers wake

	mixMu   sync.Mutex
	mix     *liveMix // the listen.ogg stream while anyone listens to it
	mixUses int
}

// newRoom prepares a room; faults are the server's, read by the room on its heartbeat.
func newRoom(id, title string, c *content, cfg Config, faults *atomic.Pointer[Faults]) (*room, error) {
	roster, err := wire.Marshal(wire.Roster{Speakers: c.speakers})
	if err != nil {
		return nil, err
	}
	speakerOf := make(map[uint16]int, len(c.speakers))
	for i, sp := range c.speakers {
		speakerOf[sp.Track] = i
	}
	return &room{
		id: id, title: title, content: c,
		clock: cfg.Clock, log: cfg.Logger,
		maxListeners: cfg.MaxListeners,
		replayTicks:  max(int64(cfg.ReplayWindow/tick), 1),
		roster:       newMessage(false, roster, 0),
		speakerOf:    speakerOf,
		faults:       faults,
		listeners:    make(map[*listener]struct{}),
		taps:         make(map[chan []wire.Frame]struct{}),
		partials:     make(map[string]message),
		sessions:     make(map[string]*session),
	}, nil
}

// run plays the room until ctx is cancelled. Tick n happens at start + n × 20 ms on the
// clock: the schedule is absolute, so waiting never accumulates drift. When it ends,
// every listener is closed with 1012 and run waits for their handlers.
func (r *room) run(ctx context.Context) {
	start := r.begin()
	defer r.stop()

	for n := int64(0); ; n++ {
		due := start.Add(time.Duration(n) * tick)
		now := r.clock.Now()
		if wait := due.Sub(now); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.clock.After(wait):
			}
			now = r.clock.Now()
		} else if -wait > maxLag {
			skip := int64(-wait / tick)
			r.skip(n, n+skip)
			r.skipped.Add(skip)
			r.lag.skipped(skip, -wait)
			n += skip
		}
		r.lag.report(now, r.log, r.id)
		if ctx.Err() != nil {
			return
		}
		listeners := r.tick(n)
		late := max(now.Sub(start.Add(time.Duration(n)*tick)), 0)
		if width := r.rounds.tick(n, late, listeners); width != 0 {
			r.log.Info("room paces its listeners' writes", "room", r.id, "every", time.Duration(width)*tick)
		}
		r.ticks.Store(n + 1)
	}
}

// begin opens the room for a new run, a new epoch, and returns when it starts.
func (r *room) begin() time.Time {
	start := r.clock.Now()
	r.mu.Lock()
	r.running, r.started, r.stopped = true, start, make(chan struct{})
	r.cut, r.cutNow = context.WithCancel(context.Background())
	r.epoch, r.last = newID(), -1
	r.seq = make([]uint32, len(r.content.speakers))
	r.expired = make([]uint32, len(r.content.speakers))
	r.countSent, r.countSentAt = 0, -int64(listenersEvery/tick)
	r.lag = lagLog{}
	r.rounds.reset()
	r.ticks.Store(0)
	r.skipped.Store(0)
	r.mu.Unlock()
	return start
}

// lagLog accumulates the ticks a room skips between two warnings, so that a room that
// keeps falling behind logs at most once every lagLogEvery, with what it skipped since
// the last warning, and the first skip is logged at once.
type lagLog struct {
	pending int64         // ticks skipped since the last warning
	worst   time.Duration // the longest lag among them
	total   int64         // ticks skipped since the room started
	at      time.Time     // when the last warning was logged
}

func (g *lagLog) skipped(ticks int64, behind time.Duration) {
	g.pending += ticks
	g.total += ticks
	g.worst = max(g.worst, behind)
}

// report logs the ticks skipped since the last warning, unless that was less than
// lagLogEvery before now.
func (g *lagLog) report(now time.Time, log *slog.Logger, room string) {
	if g.pending == 0 || !g.at.IsZero() && now.Sub(g.at) < lagLogEvery {
		return
	}
	log.Warn("room fell behind its clock; ticks skipped, their audio never sent", "room", room,
		"skipped", g.pending, "skipped_total", g.total, "behind", g.worst)
	g.pending, g.worst, g.at = 0, 0, now
}

// skip passes over ticks [from, to), which the room is too late to play. Their frames
// are never sent, but each still takes its sequence number on its track, so a listener
// sees the hole and counts them lost (docs/protocol.md). The caption segments still
// growing at from are brought to where they stand at to (final when their cue ended in
// between), so no caption is left unfinished and no partial is kept forever.
func (r *room) skip(from, to int64) {
	c := r.content
	r.mu.Lock()
	defer r.mu.Unlock()
	latest := make(map[string]wire.Transcript, len(r.partials))
	finals := 0
	for k := from; k < to; k++ {
		i, loop := k%int64(len(c.packets)), k/int64(len(c.packets))
		if c.packets[i] != nil {
			r.seq[c.owner[i]]++
		}
		if finals == len(r.partials) {
			continue // every caption open at from has ended
		}
		for _, e := range c.events[i] {
			seg := c.transcript(e, loop, k*tick.Milliseconds())
			if _, open := r.partials[seg.ID]; open {
				if seg.Final {
					finals++
				}
				latest[seg.ID] = seg
			}
		}
	}
	var recs []record
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		if b, err := wire.Marshal(latest[id]); err == nil {
			recs = append(recs, record{msg: newMessage(false, b, to-1), caption: id, final: latest[id].Final})
		}
	}
	r.sendLocked(to-1, recs, nil)
}

// stop ends the room: no new places, every listener closed with 1012 (restart), the
// listen.ogg taps closed, the replay window and the sessions forgotten (a new run is a
// new epoch); then it waits for every handler holding a place. The handlers still
// running after stopGrace have their connections cut (see place.cut): a client that
// has stopped reading, or a listener dropped earlier whose last writes are stuck,
// cannot keep the room from stopping.
func (r *room) stop() {
	r.mu.Lock()
	r.running = false
	close(r.stopped)
	for l := range r.listeners {
		l.drop(websocket.StatusServiceRestart, "restart")
	}
	clear(r.listeners)
	for ch := range r.taps {
		close(ch)
	}
	clear(r.taps)
	clear(r.partials)
	clear(r.ring)
	r.ring, r.ringHead = r.ring[:0], 0
	clear(r.sessions)
	r.gone = nil
	cutNow := r.cutNow
	r.mu.Unlock()
	defer cutNow()

	done := make(chan struct{})
	go func() { defer close(done); r.handlers.Wait() }()
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-grace.C:
	}
	r.log.Warn("clients still connected after the grace period; cutting their connections", "room", r.id)
	cutNow()
	<-done
}

// tick sends tick n: its audio frame, its caption segments, and on schedule a ping and
// the listener count. Each message is encoded once; fan-out never blocks. It returns
// how many listeners it was sent to.
func (r *room) tick(n int64) (listeners int) {
	c := r.content
	i, loop := n%int64(len(c.packets)), n/int64(len(c.packets))
	nowMs := n * tick.Milliseconds()

	var frames []wire.Frame
	var recs []record // what goes into the replay window
	speaker := -1
	if p := c.packets[i]; p != nil {
		speaker = c.owner[i]
		frames = []wire.Frame{{
			Track:     c.speakers[speaker].Track,
			Seq:       r.seq[speaker] + 1, // run is the only writer of seq: reading it is safe
			Timestamp: uint32(n * wire.FrameSamples),
			Payload:   p,
		}}
		audio, err := wire.AppendAudio(nil, frames)
		if err != nil { // cannot happen: newContent checked every packet
			r.log.Error("encode audio", "room", r.id, "err", err)
		} else {
			recs = append(recs, record{msg: newMessage(true, audio, n), frames: frames})
		}
	}
	for _, e := range c.events[i] {
		seg := c.transcript(e, loop, nowMs)
		b, err := wire.Marshal(seg)
		if err != nil {
			r.log.Error("encode transcript", "room", r.id, "err", err)
			continue
		}
		recs = append(recs, record{msg: newMessage(false, b, n), caption: seg.ID, final: seg.Final})
	}
	var ping []byte
	if n%int64(heartbeat/tick) == 0 {
		ping, _ = wire.Marshal(wire.Ping{T: r.clock.Now().UnixMilli()})
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if speaker >= 0 {
		r.seq[speaker]++
	}
	r.sendLocked(n, recs, ping)
	for ch := range r.taps {
		select {
		case ch <- frames:
		default: // the mixer is behind: it misses this tick rather than stall the room
		}
	}
	return len(r.listeners)
}

// sendLocked records tick n's records in the replay window and sends them to every
// listener, with the ping (nil: none) and, when due, the listener count.
func (r *room) sendLocked(n int64, recs []record, ping []byte) {
	r.record(n, recs)
	msgs := make([]message, 0, len(recs)+2)
	for _, rec := range recs {
		msgs = append(msgs, rec.msg)
		if rec.caption == "" {
			continue
		}
		if rec.final {
			delete(r.partials, rec.caption)
		} else {
			r.partials[rec.caption] = rec.msg
		}
	}
	if ping != nil {
		if f := r.faults.Load(); f == nil || !f.silencing() {
			r.expireSilentLocked()
		}
		r.forgetLocked(r.clock.Now())
		msgs = append(msgs, newMessage(false, ping, n))
	}
	if r.places != r.countSent && n-r.countSentAt >= int64(listenersEvery/tick) {
		if b, err := wire.Marshal(wire.Listeners{Count: r.places}); err == nil {
			msgs = append(msgs, newMessage(false, b, n))
			r.countSent, r.countSentAt = r.places, n
		}
	}
	for _, m := range msgs {
		r.broadcastLocked(m)
	}
}

// record appends tick n's records to the replay window and forgets what left it.
func (r *room) record(n int64, recs []record) {
	r.ring = append(r.ring, recs...)
	r.last = n
	horizon := n - r.replayTicks
	for r.ringHead < len(r.ring) && r.ring[r.ringHead].msg.tick <= horizon {
		for _, f := range r.ring[r.ringHead].frames {
			r.expired[r.speakerOf[f.Track]] = f.Seq
		}
		r.ringHead++
	}
	if r.ringHead > 256 && r.ringHead >= len(r.ring)/2 {
		k := copy(r.ring, r.ring[r.ringHead:])
		clear(r.ring[k:]) // let the old payloads go
		r.ring, r.ringHead = r.ring[:k], 0
	}
}

// broadcastLocked queues m for every listener; one whose queue is full is dropped with
// 1013 at once, so a slow listener never holds the room back.
func (r *room) broadcastLocked(m message) {
	for l := range r.listeners {
		if !l.enqueue(m) {
			delete(r.listeners, l)
			l.drop(websocket.StatusTryAgainLater, shedReason)
		}
	}
}

// expireSilentLocked drops the listeners that have sent nothing (no pong) for too long.
func (r *room) expireSilentLocked() {
	now := r.clock.Now().UnixNano()
	for l := range r.listeners {
		if time.Duration(now-l.lastHeard.Load()) > silenceLimit {
			delete(r.listeners, l)
			l.drop(websocket.StatusPolicyViolation, "no message for 15 s")
		}
	}
}

// place is a client's place in a running room.
type place struct {
	// stopped is closed when the room stops: the client is to be closed with 1012.
	stopped <-chan struct{}
	// cut is done when the room has stopped and the client's handler is still running
	// stopGrace later: whatever it still does on its connection is to be abandoned.
	cut context.Context
}

// reserve takes a place in the room for a client about to be served; release gives it
// back. The room waits for every place to be released when it stops.
func (r *room) reserve() (place, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return place{}, errRoomStopped
	}
	if r.maxListeners > 0 && r.places >= r.maxListeners {
		return place{}, errRoomFull
	}
	r.places++
	r.handlers.Add(1)
	return place{stopped: r.stopped, cut: r.cut}, nil
}

func (r *room) release() {
	r.mu.Lock()
	r.places--
	r.mu.Unlock()
	r.handlers.Done()
}

// add registers a listener that has sent join and gives it what it gets before the
// broadcasts: hello, the roster, then for a fresh join the captions still growing, for a
// resumed session what it missed (see appendMissedLocked). The session is resumed when
// the room knows join.Session and join.Epoch is the room's epoch; otherwise it is a
// fresh one. Registering and taking the replay happen under one lock, so nothing is
// lost or doubled at the seam. ok is false when the room has stopped.
func (r *room) add(l *listener, join *wire.Join) (id string, resumed, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return "", false, false
	}
	s := r.sessions[join.Session]
	resumed = s != nil && join.Epoch == r.epoch
	if resumed {
		id = join.Session
		if old := s.l; old != nil { // its connection died, and the room has not noticed yet
			delete(r.listeners, old)
			old.drop(websocket.StatusPolicyViolation, "session resumed on another connection")
			s.sent = old.sent.Load()
		}
	} else {
		id = newID()
		s = &session{start: slices.Clone(r.seq), sent: r.last}
		r.sessions[id] = s
	}
	hello, err := wire.Marshal(wire.Hello{
		Version:        wire.Version,
		Session:        id,
		Epoch:          r.epoch,
		Resumed:        resumed,
		ReplayWindowMs: int(time.Duration(r.replayTicks) * tick / time.Millisecond),
		HeartbeatMs:    int(heartbeat / time.Millisecond),
		Room: wire.Room{
			ID: r.id, Title: r.title, Listeners: r.places,
			Started: r.started.UTC().Format(time.RFC3339),
		},
	})
	if err != nil { // cannot happen: every field is bounded
		r.log.Error("encode hello", "room", r.id, "err", err)
		return "", false, false
	}
	s.l = l
	l.sent.Store(s.sent)
	l.lastHeard.Store(r.clock.Now().UnixNano())
	l.backlog = []message{newMessage(false, hello, s.sent), r.roster.at(s.sent)}
	if resumed {
		l.backlog = r.appendMissedLocked(l.backlog, s, join.Last)
	} else {
		for _, id := range slices.Sorted(maps.Keys(r.partials)) {
			l.backlog = append(l.backlog, r.partials[id].at(s.sent))
		}
	}
	l.rounds = &r.rounds
	r.listeners[l] = struct{}{}
	return id, resumed, true
}

// leave unregisters a listener that has left, once its writer has stopped, and keeps
// its session for resuming unless a newer connection has taken the session over.
func (r *room) leave(l *listener, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.listeners, l)
	s := r.sessions[id]
	if s == nil || s.l != l {
		return
	}
	now := r.clock.Now()
	s.l, s.sent, s.left = nil, l.sent.Load(), now
	r.gone = append(r.gone, departure{id: id, left: now})
	r.forgetLocked(now)
}

// closeListeners drops a fraction (0 to 1) of the listeners, chosen arbitrarily, with
// code and a reason from reason (called once per listener), and returns how many.
func (r *room) closeListeners(fraction float64, code websocket.StatusCode, reason func() string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := int(math.Ceil(min(max(fraction, 0), 1) * float64(len(r.listeners))))
	n := 0
	for l := range r.listeners {
		if n == k {
			break
		}
		delete(r.listeners, l)
		l.drop(code, reason())
		n++
	}
	return n
}

// heardAll counts every listener as heard from now: the silence a Stall or BlackHole
// fault caused (no pings, so no pongs) is not the clients' fault.
func (r *room) heardAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now().UnixNano()
	for l := range r.listeners {
		l.lastHeard.Store(now)
	}
}

// tap registers ch to receive every tick's frames (shared, read-only; empty for a
// silent tick) until untap or the room stops, which close it.
func (r *room) tap(ch chan []wire.Frame) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return false
	}
	r.taps[ch] = struct{}{}
	return true
}

func (r *room) untap(ch chan []wire.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.taps[ch]; ok {
		delete(r.taps, ch)
		close(ch)
	}
}

// info is the room's public description.
func (r *room) info(baseURL string) roomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return roomInfo{ID: r.id, Title: r.title, Listeners: r.places, Speakers: len(r.content.speakers),
		URL: baseURL + "/rooms/" + r.id, SkippedTicks: r.skipped.Load()}
}

// roomInfo is one room in GET /rooms.
type roomInfo struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Listeners int    `json:"listeners"`
	Speakers  int    `json:"speakers"`
	URL       string `json:"url"`
	// SkippedTicks counts the ticks the room skipped since it started because it had
	// fallen behind its clock: a load test reads it to tell whether the server kept up.
	SkippedTicks int64 `json:"skipped_ticks"`
}
