// Package mumble joins Mumble channels (mumble://[user@]HOST[:PORT]/[Channel/Sub]) as a
// listener: it speaks Mumble's control protocol over TLS itself (the messages are
// gumble's generated MumbleProto), joins the channel of the URL self-muted and never
// transmits, and maps the channel onto the room model: the channel is the room, the
// users in it are the speakers, their Opus voice packets (tunnelled over TCP) are the
// audio frames as received, and the channel's text messages are transcript segments
// marked as chat. It owns the trust-on-first-use store of server certificates.
package mumble

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"layeh.com/gumble/gumble/MumbleProto"

	"github.com/spacetui/spacetui/transport"
)

// DefaultPort is the port of a Mumble server whose URL names none.
const DefaultPort = 64738

// OptInsecure is the option that turns off the certificate check.
const OptInsecure = "insecure"

// Timing of a connection.
const (
	// handshakeTimeout bounds the TLS handshake, the authentication and the move into
	// the channel.
	handshakeTimeout = 15 * time.Second
	// pingEvery is how often the listener pings the server. Mumble clients ping every
	// 5 s; this is more often so that a quiet channel still shows a live connection
	// (transport.StallQuiet).
	pingEvery = 2 * time.Second
	// pingTimeout is how long the listener waits for anything from the server, pings
	// answered included, before it gives the connection up.
	pingTimeout = 10 * time.Second
	// inUseRetries is how many times a user name the server says is in use is tried
	// again as it is (our own previous session may linger until the server times it
	// out), before a suffix is added.
	inUseRetries = 2
	// RosterGrace is how long, after a reconnect, the speakers of the previous
	// connection stay in the roster while they come back.
	RosterGrace = 15 * time.Second
)

// clientVersion is the Mumble protocol version the listener announces: 1.3.0, whose
// servers tunnel voice over TCP to a client without UDP in the legacy packet format.
const clientVersion = 1<<16 | 3<<8 | 0

func init() {
	transport.Register("mumble", &dialer{inUse: map[string]int{}})
}

// dialer is the transport.Dialer of mumble://. Its lock guards the file of known
// certificates and the count of refusals of a user name in use.
type dialer struct {
	mu    sync.Mutex
	inUse map[string]int // by server address and user name
}

var (
	_ transport.Dialer       = (*dialer)(nil)
	_ transport.Configurable = (*dialer)(nil)
)

func (*dialer) Options() []transport.Option {
	return []transport.Option{{Name: OptInsecure, Bool: true,
		Usage: "Mumble: accept any server certificate, without remembering it (trust on first use is the default)"}}
}

// Check validates the value of --insecure.
func (*dialer) Check(_ *url.URL, opts transport.DialOptions) error {
	if v, ok := opts.Params[OptInsecure]; ok {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("--%s=%s: want true or false", OptInsecure, v)
		}
	}
	return nil
}

// kept is what a Conn hands the next one (transport.Resume.Private).
type kept struct {
	name   string    // the user name we joined as
	origin time.Time // the room clock's zero
	tracks map[string]track
	roster transport.Roster
	chats  int // chat messages seen, which number their segment IDs
}

func (d *dialer) Dial(ctx context.Context, u *url.URL, opts transport.DialOptions) (transport.Conn, error) {
	log := opts.Log()
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var prev kept
	if opts.Resume != nil {
		prev, _ = opts.Resume.Private.(kept)
	}
	name := u.User.Username()
	switch {
	case name != "":
	case prev.name != "":
		name = prev.name
	default:
		name = "spacetui-" + randomHex(2)
	}
	d.mu.Lock()
	inUseKey := addr + "/" + name
	if n := d.inUse[inUseKey]; n > inUseRetries {
		name += "-" + strconv.Itoa(n-inUseRetries)
	}
	d.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	nd := net.Dialer{}
	raw, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ue := transport.Unreachable(addr, err); ue != nil {
			return nil, ue
		}
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// The certificate is checked below, against what was remembered, not against a CA:
	// Mumble servers mostly present self-signed certificates.
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12})
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	c, err := d.handshake(ctx, tc, u, addr, name, opts, prev)
	stop()
	if err != nil {
		_ = raw.Close()
		if ctx.Err() != nil && !errors.Is(err, transport.ErrUnauthorized) {
			err = fmt.Errorf("%s: no answer within %s: %w", addr, handshakeTimeout, err)
		}
		var rej *usernameInUseError
		d.mu.Lock()
		if errors.As(err, &rej) {
			d.inUse[inUseKey]++
		}
		d.mu.Unlock()
		return nil, err
	}
	d.mu.Lock()
	delete(d.inUse, inUseKey)
	d.mu.Unlock()
	_ = raw.SetDeadline(time.Time{})
	log.Info("mumble: joined", "server", addr, "channel", c.room.path(c.room.here), "user", name)
	c.start()
	return c, nil
}

// handshake checks the certificate, authenticates, waits for the server's state and
// moves into the channel of the URL. It returns a Conn ready to start.
func (d *dialer) handshake(ctx context.Context, tc *tls.Conn, u *url.URL, addr, name string, opts transport.DialOptions, prev kept) (*Conn, error) {
	log := opts.Log()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	c := newConn(tc, opts, prev)
	c.name = name
	var notice string
	insecure, _ := strconv.ParseBool(opts.Params[OptInsecure])
	if insecure || opts.InsecureSkipVerify {
		notice = "the server's certificate is not checked (--insecure)"
	} else {
		first, file, err := d.trust(addr, tc.ConnectionState().PeerCertificates)
		if err != nil {
			log.Warn("mumble: certificate refused", "server", addr, "err", err)
			return nil, err
		}
		if first != "" {
			notice = fmt.Sprintf("first connection to %s: its certificate (sha256 %s) is now remembered in %s", addr, short(first), file)
			log.Info("mumble: server certificate remembered (trust on first use)", "server", addr, "sha256", first, "file", file)
		}
	}

	hello, err := appendMessage(nil, msgVersion, &MumbleProto.Version{
		Version: proto.Uint32(clientVersion), Release: proto.String("spacetui"),
		Os: proto.String(runtime.GOOS), OsVersion: proto.String(runtime.GOARCH),
	})
	if err == nil {
		hello, err = appendMessage(hello, msgAuthenticate, &MumbleProto.Authenticate{
			Username: proto.String(name), Password: proto.String(opts.Token), Opus: proto.Bool(true),
		})
	}
	if err != nil {
		return nil, err
	}
	if _, err := tc.Write(hello); err != nil {
		return nil, fmt.Errorf("authenticate to %s: %w", addr, err)
	}

	path := strings.Trim(u.Path, "/")
	synced, moved := false, false
	for !moved {
		typ, body, err := readPacket(tc)
		if err != nil {
			if synced {
				return nil, fmt.Errorf("joining channel %q on %s: %w", path, addr, err)
			}
			return nil, fmt.Errorf("authenticate to %s: %w", addr, err)
		}
		switch typ {
		case msgReject:
			var m MumbleProto.Reject
			if err := unmarshal(body, &m); err != nil {
				return nil, err
			}
			return nil, rejection(&m, addr, name, opts.Token != "")
		case msgChannelState:
			var m MumbleProto.ChannelState
			if err := unmarshal(body, &m); err != nil {
				return nil, err
			}
			c.room.channelState(&m)
		case msgUserState:
			var m MumbleProto.UserState
			if err := unmarshal(body, &m); err != nil {
				return nil, err
			}
			c.room.userState(&m)
			moved = synced && m.GetSession() == c.room.self && c.room.users[c.room.self].channel == c.room.here
		case msgServerSync:
			var m MumbleProto.ServerSync
			if err := unmarshal(body, &m); err != nil {
				return nil, err
			}
			synced, c.room.self = true, m.GetSession()
			here, ok := c.room.find(path)
			if !ok {
				if prev.origin.IsZero() {
					return nil, fmt.Errorf("channel %q on %s: %w", path, addr, transport.ErrNotFound)
				}
				// A temporary channel may come back after the server restarted.
				return nil, fmt.Errorf("channel %q is not on %s (yet)", path, addr)
			}
			c.room.here = here
			state := &MumbleProto.UserState{Session: proto.Uint32(c.room.self), SelfMute: proto.Bool(true)}
			me := c.room.users[c.room.self]
			moved = me != nil && me.channel == here
			if !moved {
				state.ChannelId = proto.Uint32(here)
			}
			if err := c.send(msgUserState, state); err != nil {
				return nil, fmt.Errorf("joining channel %q on %s: %w", path, addr, err)
			}
		case msgPermissionDenied:
			var m MumbleProto.PermissionDenied
			if err := unmarshal(body, &m); err != nil {
				return nil, err
			}
			if synced {
				return nil, fmt.Errorf("the server does not let us into channel %q (%s): %w", path, denial(&m), transport.ErrUnauthorized)
			}
		}
	}
	c.first(notice)
	return c, nil
}

// trust checks the server's certificate against the one remembered for addr and, the
// first time, remembers it: first is its fingerprint then, "" otherwise.
func (d *dialer) trust(addr string, certs []*x509.Certificate) (first, file string, err error) {
	if len(certs) == 0 {
		return "", "", fmt.Errorf("%s presented no certificate: %w", addr, transport.ErrUnauthorized)
	}
	dir, err := StateDir()
	if err != nil {
		return "", "", err
	}
	k := knownHosts{path: filepath.Join(dir, knownHostsFile)}
	fp := fingerprint(certs[0])
	d.mu.Lock()
	isFirst, err := k.trust(addr, fp)
	d.mu.Unlock()
	if err != nil || !isFirst {
		return "", k.path, err
	}
	return fp, k.path, nil
}

// usernameInUseError is the refusal of a user name another session holds; it is
// retried (as a drop), and with a suffix if it persists.
type usernameInUseError struct{ name, addr string }

func (e *usernameInUseError) Error() string {
	return fmt.Sprintf("the user name %q is in use on %s (our previous session may still be there)", e.name, e.addr)
}

// rejection classifies the server's Reject message.
func rejection(m *MumbleProto.Reject, addr, name string, password bool) error {
	reason := m.GetReason()
	switch m.GetType() {
	case MumbleProto.Reject_ServerFull:
		return &transport.OverloadError{Reason: "the Mumble server is full"}
	case MumbleProto.Reject_UsernameInUse:
		return &usernameInUseError{name: name, addr: addr}
	case MumbleProto.Reject_WrongServerPW, MumbleProto.Reject_WrongUserPW:
		if !password {
			return fmt.Errorf("%s needs a password (--token or $SPACETUI_TOKEN): %w", addr, transport.ErrUnauthorized)
		}
		return fmt.Errorf("%s refused the password: %w", addr, transport.ErrUnauthorized)
	case MumbleProto.Reject_InvalidUsername:
		return fmt.Errorf("%s does not accept the user name %q (%s): %w", addr, name, reason, transport.ErrUnauthorized)
	case MumbleProto.Reject_NoCertificate, MumbleProto.Reject_AuthenticatorFail:
		return fmt.Errorf("%s refused us (%s): %w", addr, reason, transport.ErrUnauthorized)
	case MumbleProto.Reject_WrongVersion:
		return fmt.Errorf("%s (%s): %w", addr, reason, transport.ErrProtocol)
	}
	if strings.Contains(strings.ToLower(reason), "ban") {
		return fmt.Errorf("%s: %s: %w", addr, reason, transport.ErrUnauthorized)
	}
	return fmt.Errorf("%s refused the connection: %s", addr, reason)
}

// denial says why the server denied a permission, in its words where it gave some.
func denial(m *MumbleProto.PermissionDenied) string {
	if r := m.GetReason(); r != "" {
		return r
	}
	return strings.ToLower(m.GetType().String())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
