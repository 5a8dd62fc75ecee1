package lktest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// Start-up and shutdown bounds of a Server.
const (
	// readyTimeout bounds one start, from exec to the first 200 on "/": the server
	// starts in about a second, more on a loaded 2-core CI machine under -race.
	readyTimeout = 30 * time.Second
	// restartTimeout bounds Restart's retries while the old process's ports free up.
	restartTimeout = 15 * time.Second
	// stopTimeout is how long Stop lets the server shut down before killing it.
	stopTimeout = 10 * time.Second
	// defaultUDPPorts is the size of a server's own ICE port range, unless set.
	defaultUDPPorts = 60
	// udpBase and udpTop bound where the ranges are taken from: below Linux's ephemeral
	// range (32768-60999), so the kernel does not hand their ports to other sockets.
	udpBase, udpTop = 20000, 32000
)

// Options configures a Server. The zero value runs the server found by Binary on free
// ports, with a fresh key and secret, its output discarded.
type Options struct {
	// Binary is the LiveKit server to run; empty means the one Binary finds.
	Binary string
	// Dir is where the config file (livekit.yaml) is written; empty means a temporary
	// directory that Stop removes.
	Dir string
	// Log receives the server's output (stdout and stderr). The last lines are kept
	// apart and quoted in start-up errors either way.
	Log io.Writer
	// Port is the signalling and API port; zero picks a free one. A port in use is an
	// error, never a server silently not started.
	Port int
	// UDPPorts is the size of the server's range of ICE ports; zero means 60. The
	// server takes one port per peer connection and address, and each participant has
	// two peer connections: 60 carry a room of about 30.
	UDPPorts int
	// MaxParticipants, when positive, limits every room the server creates
	// (room.max_participants in its config).
	MaxParticipants int
	// APIKey and APISecret are the credentials the server accepts; empty means a key
	// "spacetui" and a random secret of 48 characters (LiveKit wants 32 or more).
	APIKey, APISecret string
}

// Server is a LiveKit server process run for tests and demos: single node, development
// mode, bound to 127.0.0.1 and advertising 127.0.0.1 to clients, on its own ports, so
// several can run side by side. Kill and Restart simulate a crash and a restart on the
// same address. A Server is safe for concurrent use.
type Server struct {
	// URL is the signalling URL clients join: ws://127.0.0.1:Port.
	URL string
	// Port is the signalling and API port.
	Port int
	// APIKey and APISecret are the credentials the server accepts.
	APIKey, APISecret string

	bin, config string
	ownDir      string // removed by Stop: the Server made it
	udpFirst    int    // the UDP range to release when stopped for good
	out         io.Writer
	tail        *tailWriter

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

// Start writes the server's config and runs it until it answers on its HTTP port. ctx
// bounds the start only; the server runs until Stop or Kill.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	}
	s := &Server{bin: bin, APIKey: opts.APIKey, APISecret: opts.APISecret, tail: &tailWriter{}}
	s.out = io.MultiWriter(s.tail, orDiscard(opts.Log))
	if s.APIKey == "" {
		s.APIKey = "spacetui"
	}
	if s.APISecret == "" {
		s.APISecret = randomHex(24)
	}
	if len(s.APISecret) < 32 {
		return nil, errors.New("livekit: the API secret must have 32 characters or more")
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lktest-"); err != nil {
			return nil, err
		}
		s.ownDir = dir
	}
	s.config = filepath.Join(dir, "livekit.yaml")
	// Ports picked here are free a moment before the server binds them; if another
	// process takes one in between, pick again.
	for try := 1; ; try++ {
		ports, err := pickPorts(opts.Port, cmp.Or(opts.UDPPorts, defaultUDPPorts))
		if err != nil {
			s.release()
			return nil, err
		}
		s.Port, s.URL, s.udpFirst = ports.signal, "ws://127.0.0.1:"+strconv.Itoa(ports.signal), ports.udpFirst
		if err := os.WriteFile(s.config, config(ports, s.APIKey, s.APISecret, opts.MaxParticipants), 0o600); err != nil {
			s.release()
			return nil, err
		}
		err = s.start(ctx)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) || opts.Port != 0 || try == 3 {
			s.release()
			return nil, err
		}
		releaseUDP(s.udpFirst)
	}
}

// RoomURL returns the spacetui URL of a room on this server: livekit://127.0.0.1:Port/ROOM.
func (s *Server) RoomURL(room string) string {
	return "livekit://127.0.0.1:" + strconv.Itoa(s.Port) + "/" + room
}

// Kill ends the server at once with SIGKILL, as a crash would, and waits for the process
// to be gone. Killing a server that is not running does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killLocked()
}

func (s *Server) killLocked() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Kill() // fails only if it has exited already
	<-s.exited
	s.cmd = nil
	return nil
}

// Stop shuts the server down for good, removing the directory Start made for it: SIGTERM, and
// half a second later a second SIGTERM, which LiveKit takes as "now" (after the first
// it waits for every participant to leave, however long that takes, and it ignores one
// that comes in its first 100 ms); if it is still running 10 s later, SIGKILL. Stopping
// twice does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.release()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		s.cmd = nil
		return nil
	case <-time.After(500 * time.Millisecond):
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		s.cmd = nil
		return nil
	case <-time.After(stopTimeout):
		return s.killLocked()
	}
}

// Restart starts the server again with the same config, ports and keys, as an operator
// restarting a crashed server would; a server still running is killed first. While the
// old process's ports are not yet free it retries, for up to 15 s. The new server knows
// nothing of the old one's rooms and participants.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.killLocked(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	for {
		err := s.startLocked(ctx)
		if !errors.Is(err, errAddrInUse) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(ctx)
}

// errAddrInUse marks a start that failed because a port was taken.
var errAddrInUse = errors.New("address already in use")

// startLocked runs the server and waits until GET / answers 200.
func (s *Server) startLocked(ctx context.Context) error {
	if inUse(s.Port) {
		return fmt.Errorf("livekit: port %d: %w", s.Port, errAddrInUse)
	}
	s.tail.Reset()
	cmd := exec.Command(s.bin, "--dev", "--config", s.config)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("livekit: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status says nothing the log does not
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	url := "http://127.0.0.1:" + strconv.Itoa(s.Port) + "/"
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			s.cmd = nil
			err := fmt.Errorf("livekit server exited during start-up; its log ends:\n%s", s.tail.String())
			if strings.Contains(s.tail.String(), "address already in use") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-ctx.Done():
			_ = s.killLocked()
			return fmt.Errorf("livekit server not ready on port %d (%w); its log ends:\n%s", s.Port, ctx.Err(), s.tail.String())
		case <-tick.C:
			if ready(ctx, client, url) {
				return nil
			}
		}
	}
}

func ready(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// release gives back what Start took: its UDP range and the directory it made.
func (s *Server) release() {
	if s.udpFirst != 0 {
		releaseUDP(s.udpFirst)
		s.udpFirst = 0
	}
	if s.ownDir != "" {
		os.RemoveAll(s.ownDir)
		s.ownDir = ""
	}
}

// ports are the ports one server binds.
type ports struct {
	signal, tcp      int // HTTP/WebSocket, and ICE over TCP
	udpFirst, udpEnd int // ICE over UDP, inclusive
}

// config is the server's YAML config. Keys from the file are kept in --dev mode (only a
// config without keys gets the "devkey" placeholder), and node_ip with use_external_ip
// false keeps the server from advertising an address other than 127.0.0.1.
func config(p ports, key, secret string, maxParticipants int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "port: %d\n", p.signal)
	b.WriteString("bind_addresses: [\"127.0.0.1\"]\n")
	fmt.Fprintf(&b, "rtc:\n  tcp_port: %d\n  port_range_start: %d\n  port_range_end: %d\n", p.tcp, p.udpFirst, p.udpEnd)
	b.WriteString("  node_ip: 127.0.0.1\n  use_external_ip: false\n")
	fmt.Fprintf(&b, "keys:\n  %q: %q\n", key, secret)
	if maxParticipants > 0 {
		fmt.Fprintf(&b, "room:\n  max_participants: %d\n", maxParticipants)
	}
	b.WriteString("logging:\n  level: info\n")
	return b.Bytes()
}

// udpRanges are the UDP ranges this process's running Servers have, so two Servers of
// one test binary never share a port even before either has bound it.
var udpRanges struct {
	sync.Mutex
	taken map[int]int // first port -> last port
}

// reserveUDP records first..last as a Server's unless it overlaps one already given.
func reserveUDP(first, last int) bool {
	udpRanges.Lock()
	defer udpRanges.Unlock()
	for f, l := range udpRanges.taken {
		if first <= l && f <= last {
			return false
		}
	}
	if udpRanges.taken == nil {
		udpRanges.taken = map[int]int{}
	}
	udpRanges.taken[first] = last
	return true
}

func releaseUDP(first int) {
	udpRanges.Lock()
	delete(udpRanges.taken, first)
	udpRanges.Unlock()
}

// pickPorts chooses the ports of a server: signal (or a free one if zero), a free TCP
// port, and a range of udpPorts free UDP ports, which the caller releases with
// releaseUDP once the server is stopped for good.
func pickPorts(signal, udpPorts int) (ports, error) {
	var p ports
	if signal != 0 {
		if inUse(signal) {
			return p, fmt.Errorf("livekit: port %d is in use", signal)
		}
		p.signal = signal
	}
	for p.signal == 0 || p.tcp == 0 || p.tcp == p.signal {
		port, err := realserver.FreeTCPPort()
		if err != nil {
			return p, err
		}
		if p.signal == 0 {
			p.signal = port
		} else {
			p.tcp = port
		}
	}
	blocks := (udpTop - udpBase) / udpPorts
	if blocks < 1 {
		return p, fmt.Errorf("livekit: %d UDP ports asked for, at most %d", udpPorts, udpTop-udpBase)
	}
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(blocks)))
		if err != nil {
			return p, err
		}
		first := udpBase + int(n.Int64())*udpPorts
		last := first + udpPorts - 1
		if !reserveUDP(first, last) {
			continue
		}
		if udpFree(first, last) {
			p.udpFirst, p.udpEnd = first, last
			return p, nil
		}
		releaseUDP(first)
	}
	return p, errors.New("livekit: no free range of UDP ports")
}

// inUse reports whether something listens on the TCP port on any address the server
// binds (the signal port on 127.0.0.1, the ICE TCP port on all addresses).
func inUse(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

func udpFree(first, last int) bool {
	for port := first; port <= last; port++ {
		c, err := net.ListenPacket("udp", ":"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// tailWriter keeps the last lines written to it, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 4 << 10

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if i := strings.IndexByte(s, '\n'); len(t.buf) == tailBytes && i >= 0 {
		s = s[i+1:] // drop the partial first line
	}
	return strings.TrimRight(s, "\n")
}

func (t *tailWriter) Reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}
