package server

import (
	"sync"
	"time"
)

// Why a connection attempt was refused (Attempt.Reason, and reason= in the log).
const (
	// ReasonOverloaded: the Overload fault is on (503).
	ReasonOverloaded = "overloaded"
	// ReasonRoomFull: the room has MaxListeners clients (503).
	ReasonRoomFull = "room_full"
	// ReasonNotRunning: the room is not playing, not yet or no longer (503).
	ReasonNotRunning = "not_running"
	// ReasonNotFound: no such room (404).
	ReasonNotFound = "not_found"
	// ReasonBadUpgrade: the WebSocket handshake failed.
	ReasonBadUpgrade = "bad_upgrade"
	// ReasonNoJoin: the client sent no join (in time) or went away first.
	ReasonNoJoin = "no_join"
	// ReasonBadVersion: the client speaks another protocol version (closed 1002).
	ReasonBadVersion = "bad_version"
	// ReasonRestart: the room stopped before the client could join (closed 1012).
	ReasonRestart = "restart"
	// ReasonNoMixer: listen.ogg needs a build with cgo (501).
	ReasonNoMixer = "no_mixer"
)

// maxAttempts bounds the attempts a Server keeps; older ones are forgotten.
const maxAttempts = 100_000

// Attempt is one connection attempt on a room (its WebSocket, or listen.ogg), as the
// server decided it.
type Attempt struct {
	// Time is when the server decided, on its clock.
	Time time.Time
	// Room is the room's id (sanitized, for a room that does not exist).
	Room string
	// Remote is the client's address.
	Remote string
	// Listen is set for a listen.ogg client, clear for a WebSocket one.
	Listen bool
	// Accepted is set when the client got its place: a WebSocket client its hello.
	Accepted bool
	// Session and Resumed describe an accepted WebSocket client's session.
	Session string
	Resumed bool
	// Reason says why the attempt was refused: one of the Reason constants.
	Reason string
	// RetryAfter is the hint sent with a 503, zero otherwise.
	RetryAfter time.Duration
}

// attemptLog is a bounded ring of attempts, oldest first once it has wrapped.
type attemptLog struct {
	mu   sync.Mutex
	ring []Attempt
	next int // where the next attempt goes once the ring is full
}

func (a *attemptLog) add(at Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ring) < maxAttempts {
		a.ring = append(a.ring, at)
		return
	}
	a.ring[a.next] = at
	a.next = (a.next + 1) % maxAttempts
}

// Attempts returns the connection attempts of the server, oldest first: the last
// 100,000 since New.
func (s *Server) Attempts() []Attempt {
	s.attempts.mu.Lock()
	defer s.attempts.mu.Unlock()
	ring := s.attempts.ring
	return append(append(make([]Attempt, 0, len(ring)), ring[s.attempts.next:]...), ring[:s.attempts.next]...)
}

// note records an attempt and logs it as one line a test can parse:
//
//	msg="join accepted" room=demo remote=127.0.0.1:50312 listen=false session=… resumed=true
//	msg="join refused" room=demo remote=127.0.0.1:50313 listen=false reason=overloaded retry_after=7
func (s *Server) note(at Attempt) {
	at.Time = s.clock.Now()
	s.attempts.add(at)
	args := []any{"room", at.Room, "remote", at.Remote, "listen", at.Listen}
	if at.Accepted {
		if !at.Listen {
			args = append(args, "session", at.Session, "resumed", at.Resumed)
		}
		s.log.Info("join accepted", args...)
		return
	}
	args = append(args, "reason", at.Reason)
	if at.RetryAfter > 0 {
		args = append(args, "retry_after", int(at.RetryAfter/time.Second))
	}
	s.log.Info("join refused", args...)
}
