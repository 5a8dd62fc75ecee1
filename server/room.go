package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
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
	// listenersEvery is the least interval between listener count updates.
	listenersEvery = time.Second
	// shedReason is the close reason of a listener dropped because its queue was full.
	shedReason = "listener too slow; retry-after=2"
)

// Reasons a place in a room is refused.
var (
	errRoomFull    = errors.New("room is full")
	errRoomStopped = errors.New("room is not running")
)

// message is one WebSocket message, encoded once and shared by every listener.
type message struct {
	binary bool
	data   []byte
}

// record is a message of the replay window with the tick that sent it.
type record struct {
	tick int64
	msg  message
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
	roster       []byte // the encoded roster message; the roster never changes

	ticks atomic.Int64 // ticks processed since run started

	mu        sync.Mutex
	running   bool
	stopped   chan struct{} // closed when run ends
	started   time.Time
	places    int // taken: WebSocket clients (from before the upgrade) and listen.ogg clients
	handlers  sync.WaitGroup
	listeners map[*listener]struct{}
	taps      map[chan []wire.Frame]struct{}
	partials  map[string][]byte // the growing caption segments, by transcript id
	// ring holds the replay window: ring[ringHead:] are the audio and transcript
	// messages of the last replayTicks ticks, oldest first. Resume registers a listener
	// and replays from it under mu, so nothing is lost or doubled at the seam.
	ring     []record
	ringHead int

	// Owned by run.
	seq         []uint32 // per speaker, the last sequence number sent
	countSent   int
	countSentAt int64

	mixMu   sync.Mutex
	mix     *liveMix // the listen.ogg stream while anyone listens to it
	mixUses int
}

func newRoom(id, title string, c *content, cfg Config) (*room, error) {
	roster, err := wire.Marshal(wire.Roster{Speakers: c.speakers})
	if err != nil {
		return nil, err
	}
	return &room{
		id: id, title: title, content: c,
		clock: cfg.Clock, log: cfg.Logger,
		maxListeners: cfg.MaxListeners,
		replayTicks:  int64(cfg.ReplayWindow / tick),
		roster:       roster,
		listeners:    make(map[*listener]struct{}),
		taps:         make(map[chan []wire.Frame]struct{}),
		partials:     make(map[string][]byte),
	}, nil
}

// run plays the room until ctx is cancelled. Tick n happens at start + n × 20 ms on the
// clock: the schedule is absolute, so waiting never accumulates drift. When it ends,
// every listener is closed with 1012 and run waits for their handlers.
func (r *room) run(ctx context.Context) {
	start := r.clock.Now()
	r.mu.Lock()
	r.running, r.started, r.stopped = true, start, make(chan struct{})
	r.seq = make([]uint32, len(r.content.speakers))
	r.countSent, r.countSentAt = 0, -int64(listenersEvery/tick)
	r.ticks.Store(0)
	r.mu.Unlock()
	defer r.stop()

	for n := int64(0); ; n++ {
		due := start.Add(time.Duration(n) * tick)
		if wait := due.Sub(r.clock.Now()); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.clock.After(wait):
			}
		} else if -wait > maxLag {
			skip := int64(-wait / tick)
			r.log.Warn("room fell behind its clock; skipping", "room", r.id, "behind", -wait, "ticks", skip)
			n += skip
		}
		if ctx.Err() != nil {
			return
		}
		r.tick(n)
		r.ticks.Store(n + 1)
	}
}

// stop ends the room: no new places, every listener closed with 1012 (restart), the
// listen.ogg taps closed; then it waits for every handler holding a place.
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
	r.mu.Unlock()
	r.handlers.Wait()
}

// tick sends tick n: its audio frame, its caption segments, and on schedule a ping and
// the listener count. Each message is encoded once; fan-out never blocks.
func (r *room) tick(n int64) {
	c := r.content
	i, loop := n%int64(len(c.packets)), n/int64(len(c.packets))
	nowMs := n * tick.Milliseconds()

	var frames []wire.Frame
	var msgs []message
	if p := c.packets[i]; p != nil {
		sp := c.owner[i]
		r.seq[sp]++
		frames = []wire.Frame{{
			Track:     c.speakers[sp].Track,
			Seq:       r.seq[sp],
			Timestamp: uint32(n * wire.FrameSamples),
			Payload:   p,
		}}
		audio, err := wire.AppendAudio(nil, frames)
		if err != nil { // cannot happen: newContent checked every packet
			r.log.Error("encode audio", "room", r.id, "err", err)
		} else {
			msgs = append(msgs, message{binary: true, data: audio})
		}
	}
	type caption struct {
		id    string
		final bool
		data  []byte
	}
	var captions []caption
	for _, e := range c.events[i] {
		seg := c.transcript(e, loop, nowMs)
		b, err := wire.Marshal(seg)
		if err != nil {
			r.log.Error("encode transcript", "room", r.id, "err", err)
			continue
		}
		captions = append(captions, caption{seg.ID, seg.Final, b})
		msgs = append(msgs, message{data: b})
	}
	var ping []byte
	if n%int64(heartbeat/tick) == 0 {
		ping, _ = wire.Marshal(wire.Ping{T: r.clock.Now().UnixMilli()})
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(n, msgs)
	for _, cp := range captions {
		if cp.final {
			delete(r.partials, cp.id)
		} else {
			r.partials[cp.id] = cp.data
		}
	}
	if ping != nil {
		r.expireSilentLocked()
		msgs = append(msgs, message{data: ping})
	}
	if r.places != r.countSent && n-r.countSentAt >= int64(listenersEvery/tick) {
		if b, err := wire.Marshal(wire.Listeners{Count: r.places}); err == nil {
			msgs = append(msgs, message{data: b})
			r.countSent, r.countSentAt = r.places, n
		}
	}
	for _, m := range msgs {
		r.broadcastLocked(m)
	}
	for ch := range r.taps {
		select {
		case ch <- frames:
		default: // the mixer is behind: it misses this tick rather than stall the room
		}
	}
}

// record appends a tick's messages to the replay window and forgets what left it.
func (r *room) record(n int64, msgs []message) {
	for _, m := range msgs {
		r.ring = append(r.ring, record{tick: n, msg: m})
	}
	horizon := n - r.replayTicks
	for r.ringHead < len(r.ring) && r.ring[r.ringHead].tick <= horizon {
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

// reserve takes a place in the room for a client about to be served; release gives it
// back. The room waits for every place to be released when it stops.
func (r *room) reserve() (stopped <-chan struct{}, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return nil, errRoomStopped
	}
	if r.maxListeners > 0 && r.places >= r.maxListeners {
		return nil, errRoomFull
	}
	r.places++
	r.handlers.Add(1)
	return r.stopped, nil
}

func (r *room) release() {
	r.mu.Lock()
	r.places--
	r.mu.Unlock()
	r.handlers.Done()
}

// add registers a listener that has joined and queues its hello, the roster and the
// captions still growing; from then on it gets every broadcast. It returns false when
// the room has stopped.
func (r *room) add(l *listener, session, epoch string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return false
	}
	hello, err := wire.Marshal(wire.Hello{
		Version:        wire.Version,
		Session:        session,
		Epoch:          epoch,
		ReplayWindowMs: int(time.Duration(r.replayTicks) * tick / time.Millisecond),
		HeartbeatMs:    int(heartbeat / time.Millisecond),
		Room: wire.Room{
			ID: r.id, Title: r.title, Listeners: r.places,
			Started: r.started.UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		r.log.Error("encode hello", "room", r.id, "err", err)
		return false
	}
	l.lastHeard.Store(r.clock.Now().UnixNano())
	l.enqueue(message{data: hello})
	l.enqueue(message{data: r.roster})
	for _, id := range slices.Sorted(maps.Keys(r.partials)) {
		l.enqueue(message{data: r.partials[id]})
	}
	r.listeners[l] = struct{}{}
	return true
}

// remove unregisters a listener that has left.
func (r *room) remove(l *listener) {
	r.mu.Lock()
	delete(r.listeners, l)
	r.mu.Unlock()
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
	return roomInfo{ID: r.id, Title: r.title, Listeners: r.places, URL: baseURL + "/rooms/" + r.id}
}

// roomInfo is one room in GET /rooms.
type roomInfo struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Listeners int    `json:"listeners"`
	URL       string `json:"url"`
}
