package mumbletest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"layeh.com/gumble/gumble"

	"github.com/spacetui/spacetui/internal/realserver"
)

// Start-up and shutdown bounds of a Server.
const (
	// readyTimeout bounds one start, from exec to a TLS handshake on the port.
	readyTimeout = 20 * time.Second
	// stopTimeout is how long Stop lets the server shut down before killing it.
	stopTimeout = 5 * time.Second
)

// InstallHint says how to get a Mumble server this kit can run.
const InstallHint = "install Debian's mumble-server (apt-get install mumble-server, or scripts/setup.sh --test)"

// ErrNoBinary is returned, wrapped with InstallHint, when murmurd is not found.
var ErrNoBinary = errors.New("no Mumble server (murmurd) found")

// Binary returns the murmurd to run: on $PATH, or Debian's /usr/sbin/murmurd.
func Binary() (string, error) {
	if p, err := exec.LookPath("murmurd"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/sbin/murmurd"); err == nil && fi.Mode()&0o111 != 0 {
		return "/usr/sbin/murmurd", nil
	}
	return "", fmt.Errorf("%w: %s", ErrNoBinary, InstallHint)
}

// Options configures a Server.
type Options struct {
	// Binary is the murmurd to run; empty means the one Binary finds.
	Binary string
	// Dir holds the server's ini, database, certificate and log; it must exist.
	Dir string
	// Port is the TCP and UDP port; zero picks a free one.
	Port int
	// Password is the server password, "" for none.
	Password string
	// Users limits the users connected at once; zero means murmurd's default (100).
	Users int
	// Name is the root channel's name; empty means "Root".
	Name string
	// Log receives murmurd's output.
	Log io.Writer
}

// Server is a running murmurd.
type Server struct {
	opts Options
	// Addr is the server's host and port, Port its port.
	Addr string
	Port int
	// SuperUserPassword is the password of the server's SuperUser, who makes channels.
	SuperUserPassword string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start writes the server's ini and certificate into opts.Dir, sets the SuperUser's
// password and starts murmurd in the foreground, returning once it accepts TLS.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Binary == "" {
		bin, err := Binary()
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	if opts.Dir == "" {
		return nil, errors.New("mumbletest: Options.Dir is required")
	}
	if opts.Port == 0 {
		p, err := realserver.FreeTCPPort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	s := &Server{opts: opts, Port: opts.Port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)),
		SuperUserPassword: randomHex(8)}
	if err := s.NewCertificate(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.ini(), s.config(), 0o600); err != nil {
		return nil, err
	}
	supw := exec.CommandContext(ctx, opts.Binary, "-ini", s.ini(), "-supw", s.SuperUserPassword)
	if out, err := supw.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("murmurd -supw: %v: %s", err, out)
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) ini() string { return filepath.Join(s.opts.Dir, "murmur.ini") }

// config is the server's ini: loopback only, no Ice or D-Bus, no automatic bans of a
// test that reconnects often, names and text as free as murmurd allows (a hostile
// server's text is the client's problem), Opus for everyone.
func (s *Server) config() []byte {
	d := s.opts.Dir
	lines := []string{
		"database=" + filepath.Join(d, "murmur.sqlite"),
		"host=127.0.0.1",
		"port=" + strconv.Itoa(s.Port),
		"serverpassword=" + s.opts.Password,
		"sslCert=" + filepath.Join(d, "cert.pem"),
		"sslKey=" + filepath.Join(d, "key.pem"),
		"logfile=",
		"pidfile=",
		"welcometext=",
		"bandwidth=72000",
		"opusthreshold=0",
		"autobanAttempts=0",
		"username=.*",
		"channelname=.*",
		"textmessagelength=0",
		"allowhtml=true",
		"certrequired=false",
	}
	if os.Geteuid() == 0 {
		// As root, murmurd switches to its package's user, who cannot open the test's
		// files; staying root is the test's choice.
		lines = append(lines, "uname=root")
	}
	if s.opts.Users > 0 {
		lines = append(lines, "users="+strconv.Itoa(s.opts.Users))
	}
	if s.opts.Name != "" {
		lines = append(lines, "registerName="+s.opts.Name)
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// NewCertificate gives the server a new self-signed certificate, used from its next
// start (Restart).
func (s *Server) NewCertificate() error {
	cert, err := selfSigned("spacetui test murmur")
	if err != nil {
		return err
	}
	der := cert.Certificate[0]
	kder, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.opts.Dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.opts.Dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// selfSigned makes a self-signed certificate for name, good for a day, as a server's or
// as a Mumble client's own (Mumble identifies users by their certificate).
func selfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// URL is the mumble:// URL of a channel path ("" for the root).
func (s *Server) URL(channel string) string {
	return "mumble://" + s.Addr + "/" + channel
}

func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.opts.Binary, "-ini", s.ini(), "-fg")
	cmd.Dir = s.opts.Dir
	cmd.Stdout, cmd.Stderr = orDiscard(s.opts.Log), orDiscard(s.opts.Log)
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start murmurd: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		if ready(s.Addr) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("murmurd exited at start (%s); see its log", cmd.ProcessState)
		case <-ctx.Done():
			s.killLocked()
			return fmt.Errorf("murmurd not ready on %s: %w", s.Addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ready reports whether the server completes a TLS handshake.
func ready(addr string) bool {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Kill kills the server at once, as a crash would: clients see their connections reset.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
	return nil
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Stop stops the server (SIGTERM, then SIGKILL after stopTimeout). Stopping a stopped
// server is a no-op.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		s.cmd = nil
	case <-time.After(stopTimeout):
		s.killLocked()
	}
	return nil
}

// Restart starts a killed or stopped server again, on the same port with the same
// database (its channels) and the certificate it has now.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

// admin connects as the SuperUser; the caller disconnects.
func (s *Server) admin() (*gumble.Client, error) {
	cfg := gumble.NewConfig()
	cfg.Username, cfg.Password = "SuperUser", s.SuperUserPassword
	return dial(s.Addr, cfg, nil, nil)
}

// MakeChannel makes a permanent channel under the root, with a description, unless
// one of that name is there.
func (s *Server) MakeChannel(name, description string) error {
	c, err := s.admin()
	if err != nil {
		return fmt.Errorf("make channel %q: %w", name, err)
	}
	defer c.Disconnect()
	var exists bool
	c.Do(func() { exists = c.Channels[0].Find(name) != nil })
	if !exists {
		c.Do(func() { c.Channels[0].Add(name, false) })
	}
	var ch *gumble.Channel
	for end := time.Now().Add(5 * time.Second); ch == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			return fmt.Errorf("make channel %q: the server did not make it", name)
		}
		c.Do(func() { ch = c.Channels[0].Find(name) })
	}
	if description != "" {
		c.Do(func() { ch.SetDescription(description) })
		// The server applies the description before it answers a ping sent after it.
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// dial connects a gumble client to addr, any server certificate accepted, presenting
// cert and connecting from local if not nil.
func dial(addr string, cfg *gumble.Config, cert *tls.Certificate, local net.Addr) (*gumble.Client, error) {
	tc := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return gumble.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}, addr, cfg, tc)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
