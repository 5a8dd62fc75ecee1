package transport

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors a protocol returns (wrapped) so the session and the reconnect policy can
// classify a failure without knowing the protocol.
var (
	// ErrUnauthorized: the server refused the credentials (HTTP 401/403). Permanent.
	ErrUnauthorized = errors.New("not authorized to join this room")
	// ErrNotFound: no such room (HTTP 404). Permanent.
	ErrNotFound = errors.New("room not found")
	// ErrRoomEnded: the room is over. Permanent.
	ErrRoomEnded = errors.New("the room has ended")
	// ErrStalled: the connection is open but nothing arrived for too long.
	ErrStalled = errors.New("connection stalled: no data from the server")
	// ErrProtocol: the peer speaks a protocol version or dialect we do not.
	ErrProtocol = errors.New("protocol mismatch")
)

// OverloadError says the server is at capacity or shedding load (HTTP 503 or 429,
// WebSocket close 1013, room full). RetryAfter is the server's hint, zero if none.
type OverloadError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *OverloadError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("server overloaded (%s), retry after %s", e.Reason, e.RetryAfter)
	}
	return fmt.Sprintf("server overloaded (%s)", e.Reason)
}

// RestartError says the server is restarting (WebSocket close 1012).
type RestartError struct{ Reason string }

func (e *RestartError) Error() string { return "server restarting: " + e.Reason }
