package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/spacetui/spacetui/transport/wire"
)

// closeAbrupt is the drop code that closes the TCP connection without a close frame
// (the AbruptClose fault). 0 is not a valid WebSocket close code, so it cannot clash.
const closeAbrupt websocket.StatusCode = 0

// listener is one joined WebSocket client: what it gets first (backlog), then a bounded
// queue the room fills, and one writer goroutine that drains both.
type listener struct {
	backlog   []message // set by room.add before the writer starts; the writer's after
	queue     chan message
	lastHeard atomic.Int64 // Unix ns on the room clock of the last message received
	sent      atomic.Int64 // the tick of the last message written

	dropped chan struct{} // closed by drop
	once    sync.Once
	code    websocket.StatusCode // why it was dropped; read after dropped is closed
	reason  string
}

func newListener() *listener {
	return &listener{queue: make(chan message, queueLen), dropped: make(chan struct{})}
}

// enqueue queues m without blocking; false means the queue is full.
func (l *listener) enqueue(m message) bool {
	select {
	case l.queue <- m:
		return true
	default:
		return false
	}
}

// drop tells the writer to close the connection with code and reason (closeAbrupt: no
// close frame); the first call wins.
func (l *listener) drop(code websocket.StatusCode, reason string) {
	l.once.Do(func() {
		l.code, l.reason = code, reason
		close(l.dropped)
	})
}

// writeLoop is the connection's only writer: it sends the backlog, then the queued
// messages, each write under its own deadline, until the listener is dropped, then
// closes with the drop's code. With no fault set, a message costs one atomic load more.
func (l *listener) writeLoop(ctx context.Context, c *websocket.Conn, faults *atomic.Pointer[Faults]) {
	backlog := l.backlog
	var ff frameFaults
	for {
		var m message
		select {
		case <-l.dropped:
			l.close(c)
			return
		default:
		}
		if len(backlog) > 0 {
			m, backlog = backlog[0], backlog[1:]
		} else {
			select {
			case <-l.dropped:
				l.close(c)
				return
			case m = <-l.queue:
			}
		}
		var err error
		if f := faults.Load(); f == nil && ff.held == nil {
			err = l.write(ctx, c, m)
		} else {
			err = ff.send(ctx, l, c, m, f)
		}
		if err != nil {
			l.drop(websocket.StatusGoingAway, "write failed")
			_ = c.CloseNow()
			return
		}
	}
}

// write sends one message under its own deadline and notes its tick once it is out.
func (l *listener) write(ctx context.Context, c *websocket.Conn, m message) error {
	typ := websocket.MessageText
	if m.binary {
		typ = websocket.MessageBinary
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := c.Write(wctx, typ, m.data); err != nil {
		return err
	}
	l.sent.Store(m.tick)
	return nil
}

// close ends the connection as drop asked.
func (l *listener) close(c *websocket.Conn) {
	if l.code == closeAbrupt {
		_ = c.CloseNow()
		return
	}
	_ = c.Close(l.code, l.reason)
}

// serveWebSocket runs one listener's connection: place, upgrade, join, hello, then
// the writer goroutine and the read loop (pongs) until either side ends it.
func (s *Server) serveWebSocket(w http.ResponseWriter, req *http.Request, rm *room) {
	pl, ok := s.admit(w, req, rm, false)
	if !ok {
		return
	}
	defer rm.release()
	stopped := pl.stopped
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Reason: ReasonBadUpgrade})
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(wire.MaxMessage)
	// Every read and write of the connection runs under ctx, which the room cancels
	// when it has stopped and this handler is still running after stopGrace: the
	// connection is then closed under whatever read or write is blocked, so the writer
	// and the read loop end and the room's stop never waits on a stuck client.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	defer context.AfterFunc(pl.cut, cancel)()

	if f := s.faults.Load(); f != nil && f.BlackHole && !s.holdBlackHoled(stopped) {
		s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Reason: ReasonRestart})
		return
	}
	join, reason := s.awaitJoin(ctx, c, rm, stopped)
	if join == nil {
		s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Reason: reason})
		return
	}
	l := newListener()
	session, resumed, ok := rm.add(l, join)
	if !ok {
		_ = c.Close(websocket.StatusServiceRestart, "restart")
		s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Reason: ReasonRestart})
		return
	}
	s.note(Attempt{Room: rm.id, Remote: req.RemoteAddr, Accepted: true, Session: session, Resumed: resumed})

	var wg sync.WaitGroup
	wg.Go(func() { l.writeLoop(ctx, c, &s.faults) })
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			break
		}
		l.lastHeard.Store(rm.clock.Now().UnixNano())
		if typ == websocket.MessageText {
			_, _ = wire.Unmarshal(data) // pong, or something newer: any message is a sign of life
		}
	}
	l.drop(websocket.StatusNormalClosure, "")
	wg.Wait()
	rm.leave(l, session) // after the writer: the session keeps the last tick written
	s.log.Info("listener left", "room", rm.id, "remote", req.RemoteAddr, "session", session,
		"code", int(l.code), "reason", l.reason)
}

// awaitJoin reads until the client's join arrives and returns it, or nil and the reason
// of the refusal. It closes the connection with 1008 when no join comes within
// joinTimeout, with 1002 on a version it does not speak and with 1012 when the room
// stops first. Other messages before join are ignored.
func (s *Server) awaitJoin(ctx context.Context, c *websocket.Conn, rm *room, stopped <-chan struct{}) (*wire.Join, string) {
	joined := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-joined:
		case <-rm.clock.After(joinTimeout):
			_ = c.Close(websocket.StatusPolicyViolation, "no join within 10 s")
		case <-stopped:
			_ = c.Close(websocket.StatusServiceRestart, "restart")
		}
	})
	defer wg.Wait()
	defer close(joined)
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			select {
			case <-stopped:
				return nil, ReasonRestart
			default:
				return nil, ReasonNoJoin
			}
		}
		if typ != websocket.MessageText {
			continue
		}
		v, err := wire.Unmarshal(data)
		join, ok := v.(*wire.Join)
		if err != nil || !ok {
			continue
		}
		if join.Version != wire.Version {
			_ = c.Close(websocket.StatusProtocolError,
				fmt.Sprintf("unsupported version %d; this server speaks %d", join.Version, wire.Version))
			return nil, ReasonBadVersion
		}
		if len(join.Last) > wire.MaxSpeakers {
			join.Session, join.Last = "", nil // more tracks than a room has: join fresh
		}
		return join, ""
	}
}
