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

// listener is one joined WebSocket client: a bounded queue the room fills and one
// writer goroutine that drains it.
type listener struct {
	queue     chan message
	lastHeard atomic.Int64 // Unix ns on the room clock of the last message received

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

// drop tells the writer to close the connection with code and reason; the first call wins.
func (l *listener) drop(code websocket.StatusCode, reason string) {
	l.once.Do(func() {
		l.code, l.reason = code, reason
		close(l.dropped)
	})
}

// writeLoop is the connection's only writer: it sends the queued messages, each write
// under its own deadline, until the listener is dropped, then closes with the drop's code.
func (l *listener) writeLoop(ctx context.Context, c *websocket.Conn) {
	for {
		select {
		case <-l.dropped:
			_ = c.Close(l.code, l.reason)
			return
		default:
		}
		select {
		case <-l.dropped:
			_ = c.Close(l.code, l.reason)
			return
		case m := <-l.queue:
			typ := websocket.MessageText
			if m.binary {
				typ = websocket.MessageBinary
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Write(wctx, typ, m.data)
			cancel()
			if err != nil {
				l.drop(websocket.StatusGoingAway, "write failed")
				_ = c.CloseNow()
				return
			}
		}
	}
}

// serveWebSocket runs one listener's connection: place, upgrade, join, hello, then
// the writer goroutine and the read loop (pongs) until either side ends it.
func (s *Server) serveWebSocket(w http.ResponseWriter, req *http.Request, rm *room) {
	stopped, err := rm.reserve()
	if err != nil {
		s.refuse(w, req, rm, err)
		return
	}
	defer rm.release()
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		s.log.Info("websocket upgrade failed", "room", rm.id, "remote", req.RemoteAddr, "err", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(wire.MaxMessage)
	ctx := req.Context()

	if !s.awaitJoin(ctx, c, rm, stopped, req.RemoteAddr) {
		return
	}
	l := newListener()
	session := newID()
	if !rm.add(l, session, s.epoch) {
		_ = c.Close(websocket.StatusServiceRestart, "restart")
		return
	}
	s.log.Info("listener joined", "room", rm.id, "remote", req.RemoteAddr, "session", session)

	var wg sync.WaitGroup
	wg.Go(func() { l.writeLoop(ctx, c) })
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
	rm.remove(l)
	l.drop(websocket.StatusNormalClosure, "")
	wg.Wait()
	s.log.Info("listener left", "room", rm.id, "remote", req.RemoteAddr, "session", session,
		"code", int(l.code), "reason", l.reason)
}

// awaitJoin reads until the client's join arrives. It closes the connection with 1008
// when none comes within joinTimeout, with 1002 on a version it does not speak and with
// 1012 when the room stops first. Other messages before join are ignored.
func (s *Server) awaitJoin(ctx context.Context, c *websocket.Conn, rm *room, stopped <-chan struct{}, remote string) bool {
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
			s.log.Info("connection refused", "room", rm.id, "remote", remote, "why", "no join", "err", err)
			return false
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
			reason := fmt.Sprintf("unsupported version %d; this server speaks %d", join.Version, wire.Version)
			s.log.Info("connection refused", "room", rm.id, "remote", remote, "why", reason)
			_ = c.Close(websocket.StatusProtocolError, reason)
			return false
		}
		return true
	}
}
