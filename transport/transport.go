package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"sync"
)

// Conn is one attempt at a room connection. Recv returns the room's events in order; an
// error from Recv ends the attempt and says why (see the typed errors in errors.go), and
// the caller decides whether and when to dial again. Close is idempotent and leaves the
// room cleanly so the server frees the place at once.
type Conn interface {
	Recv(ctx context.Context) (Event, error)
	Close() error
}

// Resume is what a client remembers between attempts so the server can send exactly what
// it missed: the session, the stream epoch, and the last sequence number per speaker.
type Resume struct {
	Session string
	Epoch   string
	Last    map[string]uint32
	// Private is whatever else the protocol that made this Resume wants back on the next
	// attempt (a protocol that rejoins from scratch may keep its last roster there). The
	// Reconnector hands it back untouched; nothing else reads it.
	Private any
}

// DialOptions are the per-attempt settings a Dialer receives.
type DialOptions struct {
	// Resume, when set, asks the server to continue a previous session.
	Resume *Resume
	// Token authenticates the listener where the protocol needs it. Never log it.
	Token string
	// Params are the values of the protocol's own Options, by Option.Name; an option
	// not given is absent or empty. Never log the values of secret options.
	Params map[string]string
	// Logger receives the attempt's log, the protocol's and its libraries'; nil
	// discards it.
	Logger *slog.Logger
	// InsecureSkipVerify turns TLS verification off; it is on by default.
	InsecureSkipVerify bool
}

// Log returns the attempt's logger: Logger, or one that discards when it is nil.
func (o DialOptions) Log() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Dialer makes one connection attempt to a room URL of its scheme.
type Dialer interface {
	Dial(ctx context.Context, u *url.URL, opts DialOptions) (Conn, error)
}

// DialerFunc adapts a function to Dialer.
type DialerFunc func(ctx context.Context, u *url.URL, opts DialOptions) (Conn, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, u *url.URL, opts DialOptions) (Conn, error) {
	return f(ctx, u, opts)
}

var registry = struct {
	sync.RWMutex
	m map[string]Dialer
}{m: map[string]Dialer{}}

// Register makes a Dialer available for a URL scheme. Protocol packages call it in init;
// registering a scheme twice panics, as it is a programming error.
func Register(scheme string, d Dialer) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[scheme]; dup {
		panic("transport: scheme registered twice: " + scheme)
	}
	registry.m[scheme] = d
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for s := range registry.m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Lookup parses a room URL and returns the Dialer registered for its scheme.
func Lookup(rawURL string) (*url.URL, Dialer, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, nil, fmt.Errorf("room URL %q: want SCHEME://HOST/..., e.g. ws://127.0.0.1:8080/rooms/demo", RedactURL(rawURL))
	}
	if err := checkHost(u); err != nil {
		return nil, nil, fmt.Errorf("room URL %q: %w", RedactURL(rawURL), err)
	}
	registry.RLock()
	d, ok := registry.m[u.Scheme]
	registry.RUnlock()
	if !ok {
		return nil, nil, fmt.Errorf("unsupported URL scheme: %q (supported: %v)", u.Scheme, Schemes())
	}
	return u, d, nil
}

// checkHost rejects a host and port no attempt could ever reach (url.Parse takes any
// digits for a port), so that the mistake is told at once instead of retried forever.
func checkHost(u *url.URL) error {
	if u.Hostname() == "" {
		return errors.New("no host name")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s: want 1-65535", p)
		}
	}
	return nil
}

// parseURL parses a room URL. url.Parse's errors quote the URL, credentials and all;
// this one names only what is wrong with it.
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("room URL: %w", err)
	}
	return u, nil
}

// Dial makes one connection attempt to rawURL with the Dialer of its scheme.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (Conn, error) {
	u, d, err := Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	return d.Dial(ctx, u, opts)
}
