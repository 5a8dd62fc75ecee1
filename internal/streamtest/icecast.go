package streamtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spacetui/spacetui/internal/realserver"
)

// Start-up and shutdown bounds.
const (
	readyTimeout = 20 * time.Second
	stopTimeout  = 5 * time.Second
)

// InstallHint says how to get the programs this kit runs.
const InstallHint = "install Debian's icecast2 and ffmpeg (apt-get install icecast2 ffmpeg, or scripts/setup.sh --test)"

// ErrNoBinary is returned, wrapped with InstallHint, when icecast2 or ffmpeg is missing.
var ErrNoBinary = errors.New("program not found")

// Binary returns the path of name (icecast2, ffmpeg) on $PATH or in /usr/bin.
func Binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: %w: %s", name, ErrNoBinary, InstallHint)
}

// DemoOgg returns the path of the demo room's Ogg Opus file in this source tree.
func DemoOgg() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "server", "demo", "demo.ogg")
}

// IcecastOptions configures an Icecast.
type IcecastOptions struct {
	// Dir holds the config, the pid file and the logs; it must exist.
	Dir string
	// Port is the listening port; zero picks a free one.
	Port int
	// Clients bounds the listeners at once; zero means 20.
	Clients int
	// BurstSize is what a new listener receives at once, in bytes; zero means none.
	BurstSize int
	// Log receives icecast2's own output.
	Log io.Writer
}

// Icecast is a running icecast2.
type Icecast struct {
	opts IcecastOptions
	// Addr is the server's host and port.
	Addr string
	// LogDir holds the server's error.log and access.log: Dir, or as root a directory
	// of its own that the unprivileged user icecast2 switches to can write.
	LogDir string
	// SourcePassword is the password of the source user.
	SourcePassword string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartIcecast writes the server's config into opts.Dir and starts icecast2 in the
// foreground, returning once it accepts connections.
func StartIcecast(ctx context.Context, opts IcecastOptions) (*Icecast, error) {
	bin, err := Binary("icecast2")
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("streamtest: IcecastOptions.Dir is required")
	}
	if opts.Port == 0 {
		if opts.Port, err = realserver.FreeTCPPort(); err != nil {
			return nil, err
		}
	}
	if opts.Clients == 0 {
		opts.Clients = 20
	}
	s := &Icecast{opts: opts, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)), SourcePassword: randomHex(8), LogDir: opts.Dir}
	if os.Geteuid() == 0 {
		// icecast2 refuses to run as root without a changeowner block, and then runs as
		// nobody, who must be able to reach and write the logs: a test's own temporary
		// directory is private to root.
		if s.LogDir, err = os.MkdirTemp("", "streamtest-icecast-"); err != nil {
			return nil, err
		}
		if err := os.Chmod(s.LogDir, 0o777); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(opts.Dir, "icecast.xml")
	if err := os.WriteFile(conf, s.config(), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	cmd.SysProcAttr = realserver.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start icecast2: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := waitListening(ctx, s.Addr, s.done); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("icecast2 on %s: %w (its log: %s)", s.Addr, err, filepath.Join(s.LogDir, "error.log"))
	}
	return s, nil
}

// config is the server's XML: loopback only, random passwords, no relays or YP, short
// timeouts so a test sees a source leave quickly.
func (s *Icecast) config() []byte {
	o := s.opts
	owner := ""
	if os.Geteuid() == 0 {
		owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
	}
	burst := "<burst-on-connect>0</burst-on-connect>"
	if o.BurstSize > 0 {
		burst = "<burst-on-connect>1</burst-on-connect><burst-size>" + strconv.Itoa(o.BurstSize) + "</burst-size>"
	}
	return []byte(`<icecast>
  <location>spacetui test</location><admin>test@localhost</admin>
  <limits><clients>` + strconv.Itoa(o.Clients) + `</clients><sources>4</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>5</source-timeout>` + burst + `</limits>
  <authentication><source-password>` + s.SourcePassword + `</source-password><relay-password>` + randomHex(8) + `</relay-password>
    <admin-user>admin</admin-user><admin-password>` + randomHex(8) + `</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>` + strconv.Itoa(o.Port) + `</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>` + s.LogDir + `</logdir><webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot><pidfile>` + filepath.Join(s.LogDir, "icecast.pid") + `</pidfile></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>` + owner + `</security>
</icecast>
`)
}

// URL returns the listen URL of mount ("/demo.ogg").
func (s *Icecast) URL(mount string) string { return "http://" + s.Addr + mount }

// Stop stops the server: SIGTERM, then SIGKILL after a grace period. It is idempotent.
// A log directory of its own is removed; call Logs first to keep what it holds.
func (s *Icecast) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	stop(s.cmd, s.done)
	s.cmd = nil
	if s.LogDir != s.opts.Dir {
		return os.RemoveAll(s.LogDir)
	}
	return nil
}

// stop ends a process started by this kit and waits for it.
func stop(cmd *exec.Cmd, done <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitListening waits until addr accepts a TCP connection, the process exits, or ctx
// or readyTimeout ends.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before it listened")
		case <-ctx.Done():
			return fmt.Errorf("not listening: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
