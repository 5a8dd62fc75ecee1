package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
	rounds    *rounds   // the room's, set by room.add: when to wake
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

// closer is what a listener's writer needs of its WebSocket connection besides the
// socket: the closing handshake. *websocket.Conn is one; the benchmarks fake it.
type closer interface {
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// maxBatch bounds the bytes a writer gathers into one write: a listener that has fallen
// behind catches up a few ticks per system call, with a bounded buffer.
const maxBatch = 8 << 10

// writeLoop is the connection's only writer of messages: it sends the backlog, then the
// queued messages, until the listener is dropped, then closes with the drop's code.
// Whatever has queued up by the time it wakes goes out in one write (w, the socket),
// the frames encoded by the room once for every listener; a write that makes no
// progress for writeTimeout fails (see frameConn). With no fault set, a message costs
// one atomic load more.
func (l *listener) writeLoop(ctx context.Context, c closer, w io.Writer, faults *atomic.Pointer[Faults]) {
	backlog := l.backlog
	var (
		ff      frameFaults
		pending []message
		batch   []byte
	)
	// next takes the next message: when wait is set, waiting for the end of a round
	// with a message queued (see rounds), else only one already there.
	next := func(wait bool) (message, bool) {
		if len(backlog) > 0 {
			m := backlog[0]
			backlog = backlog[1:]
			return m, true
		}
		for wait {
			round := l.rounds.wait()
			if round == nil {
				break
			}
			select {
			case <-l.dropped:
				return message{}, false
			case <-ctx.Done():
				return message{}, false
			case <-round:
			}
			select {
			case m := <-l.queue:
				return m, true
			default: // nothing this round
			}
		}
		if !wait {
			select {
			case m := <-l.queue:
				return m, true
			default:
				return message{}, false
			}
		}
		select {
		case <-l.dropped:
		case <-ctx.Done():
		case m := <-l.queue:
			return m, true
		}
		return message{}, false
	}
	for {
		select {
		case <-l.dropped:
			l.close(c)
			return
		default:
		}
		m, ok := next(true)
		if !ok {
			select {
			case <-l.dropped:
				l.close(c)
			default: // the room stopped long ago and cut this connection
				_ = c.CloseNow()
			}
			return
		}
		pending = pending[:0]
		size := 0
		for {
			pending = ff.add(pending, m, faults.Load())
			if size += len(m.frame); size >= maxBatch {
				break
			}
			if m, ok = next(false); !ok {
				break
			}
		}
		if len(pending) == 0 { // held back by a fault
			continue
		}
		var err error
		if len(pending) == 1 {
			_, err = w.Write(pending[0].frame)
		} else {
			batch = batch[:0]
			for _, p := range pending {
				batch = append(batch, p.frame...)
			}
			_, err = w.Write(batch)
		}
		if err != nil {
			l.drop(websocket.StatusGoingAway, "write failed")
			_ = c.CloseNow()
			return
		}
		l.sent.Store(pending[len(pending)-1].tick)
		clear(pending) // let the payloads go
	}
}

// close ends the connection as drop asked.
func (l *listener) close(c closer) {
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
	hw := &hijackWriter{ResponseWriter: w}
	c, err := websocket.Accept(hw, req, nil)
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
	wg.Go(func() { l.writeLoop(ctx, c, hw.conn, &s.faults) })
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

// hijackWriter hands the WebSocket library the connection it hijacks wrapped in a
// frameConn, and keeps that frameConn for the listener's writer.
type hijackWriter struct {
	http.ResponseWriter
	conn *frameConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &frameConn{Conn: c}
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(w.conn)), nil
}

// frameConn is a listener's socket. The listener's writer writes whole WebSocket frames
// to it, framed once by the room for every listener, several in one call when it has
// fallen behind: the library's writer would take a lock, a context, a timer and a
// system call per message, which was most of the server's CPU with thousands of
// listeners. The library still reads, answers pings and writes the close handshake
// through it; every write takes mu, so frames never interleave.
type frameConn struct {
	net.Conn
	mu       sync.Mutex
	deadline time.Time // of writes; renewed once half of writeTimeout has passed
}

// Write writes p whole, or fails once a write has made no progress for writeTimeout
// (between half of it and all of it: the deadline is not moved on every write, each
// move costs a timer update).
func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.deadline.Sub(now) < writeTimeout/2 {
		c.deadline = now.Add(writeTimeout)
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}
