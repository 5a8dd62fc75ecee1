package transport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
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
	// ErrNoRoom: the URL names a server but no room on it. A protocol's Check returns
	// it (wrapped), so that a command can list the server's rooms instead.
	ErrNoRoom = errors.New("the URL names no room")
	// ErrNoListing: the protocol cannot list a server's rooms (it is no Lister).
	ErrNoListing = errors.New("this protocol cannot list rooms")
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

// UnreachableError says that no connection to the server could be opened at all:
// nothing listens on the port, there is no route to the host, its name does not
// resolve, or the connection timed out. Unlike a lost connection it means the server
// never accepted us on this attempt; it is retried as a drop.
type UnreachableError struct {
	Addr string // the host and port dialled, as the room URL names them
	Err  error
}

// Unreachable returns an *UnreachableError for addr when err is a failure to open a
// connection to it (a *net.OpError of op "dial"), and nil when err is anything else.
func Unreachable(addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &UnreachableError{Addr: addr, Err: err}
	}
	return nil
}

// Error says which server and, in the system's words, why: "cannot reach
// 127.0.0.1:8080 (connection refused)".
func (e *UnreachableError) Error() string {
	why := e.Err.Error()
	var (
		dns   *net.DNSError
		errno syscall.Errno
		ne    net.Error
	)
	switch {
	case errors.As(e.Err, &dns):
		why = dns.Err
	case errors.As(e.Err, &errno):
		why = errno.Error()
	case errors.As(e.Err, &ne) && ne.Timeout():
		why = "timed out"
	}
	return fmt.Sprintf("cannot reach %s (%s)", e.Addr, why)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
