package main

// End-to-end tests: the built binary, a real `spacetui serve`, a real PulseAudio null
// sink and tmux. They skip with a reason when a tool is missing, except where
// SPACETUI_E2E=require (the README's test command, hence CI) turns a skip into a failure.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build is a spacetui binary built once for the whole test run.
type build struct {
	once sync.Once
	path string
	err  error
}

// The full build, and the cgo-free one.
var fullBuild, nocgoBuild build

// get builds the binary the first time, with env added to the environment.
func (b *build) get(t *testing.T, env ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "spacetui-e2e")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "spacetui")
		// -buildvcs=auto names the commit in --version even where GOFLAGS turns it off.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", b.path, ".")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%v go build: %v\n%s", env, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// need skips the test (or fails it under SPACETUI_E2E=require) unless ok.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("SPACETUI_E2E") == "require" {
		t.Fatalf("end-to-end prerequisite missing: %s", why)
	}
	t.Skipf("skipping: %s (scripts/test.sh provides it)", why)
}

func haveTool(name string) bool { _, err := exec.LookPath(name); return err == nil }

// spacetuiBin returns the spacetui binary under test: $SPACETUI_BIN, or one built once.
func spacetuiBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SPACETUI_BIN"); p != "" {
		return p
	}
	return fullBuild.get(t)
}

// pulseReady reports whether a PulseAudio server with the null sink "spk" is reachable.
func pulseReady() bool {
	out, err := exec.Command("pactl", "list", "short", "sinks").Output()
	return err == nil && regexp.MustCompile(`(?m)^\d+\s+spk\s`).Match(out)
}

// startServer runs `spacetui serve` on a free port and returns the demo room URL and the
// server's base HTTP URL.
func startServer(t *testing.T, extra ...string) (url string, base string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serveAt(t, addr, extra...)
	return "ws://" + addr + "/rooms/demo", "http://" + addr
}

// serveAt runs `spacetui serve --addr addr` until the test ends (or the returned process
// is killed) and returns once it listens.
func serveAt(t *testing.T, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, spacetuiBin(t), append([]string{"serve", "--addr", addr}, extra...)...)
	cmd.Stderr = &logWriter{t: t, prefix: "serve: "}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(10*time.Second, cancel)
	defer deadline.Stop()
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "listening on") {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd
		}
	}
	t.Fatalf("spacetui serve did not start on %s", addr)
	return nil
}

// logWriter sends a process's output lines to the test log.
type logWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(b), nil
}

func TestTUIUnderTmux(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	need(t, pulseReady(), "no PulseAudio server with a null sink named spk")
	url, _ := startServer(t)
	logFile := filepath.Join(t.TempDir(), "tui.log")
	tmux, session := tuiSession(t, fmt.Sprintf("%s join %s --log %s", spacetuiBin(t), url, logFile))

	// The demo speaks a line every few seconds: within 20 s the screen must show the
	// room, the speakers and some transcript.
	var screen string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		screen = tmux("capture-pane", "-p", "-t", session)
		if strings.Contains(screen, "LIVE") && transcriptLines(screen) >= 2 {
			break
		}
	}
	t.Logf("screen:\n%s", screen)
	for _, want := range []string{"LIVE", "Ada", "Grace", "Linus", "Speakers", "Transcript"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	if n := transcriptLines(screen); n < 2 {
		t.Errorf("screen shows %d transcript lines, want 2 or more", n)
	}
	for _, noise := range []string{"ALSA", "alsa", "jack", "JACK", "PortAudio", "Expression", "snd_"} {
		if strings.Contains(screen, noise) {
			t.Errorf("sound-library noise on screen: %q", noise)
		}
	}
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("screen has %d lines, want at most 24", len(lines))
	}
	quitTUI(t, tmux, session)
}

// tuiSession runs cmdline in a detached 80x24 tmux session that ends with the test and
// returns a function that runs tmux commands, and the session's name. After cmdline the
// session echoes EXIT=status.
func tuiSession(t *testing.T, cmdline string) (tmux func(args ...string) string, session string) {
	t.Helper()
	session = fmt.Sprintf("spacetui-%s-%d", regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), ""), os.Getpid())
	tmux = func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-e", "XDG_RUNTIME_DIR="+os.Getenv("XDG_RUNTIME_DIR"),
		cmdline+"; echo EXIT=$?; sleep 30")
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })
	return tmux, session
}

// screenWatcher returns a function that polls the session's screen until ok holds, for at
// most d, and fails the test naming what never showed.
func screenWatcher(t *testing.T, tmux func(args ...string) string, session string) func(what string, d time.Duration, ok func(string) bool) string {
	return func(what string, d time.Duration, ok func(string) bool) string {
		t.Helper()
		var screen string
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if screen = tmux("capture-pane", "-p", "-t", session); ok(screen) {
				return screen
			}
		}
		t.Fatalf("the screen never showed %s:\n%s", what, screen)
		return ""
	}
}

// quitTUI presses q and wants the program gone with status 0 within 5 s.
func quitTUI(t *testing.T, tmux func(args ...string) string, session string) {
	t.Helper()
	tmux("send-keys", "-t", session, "q")
	var screen string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !strings.Contains(screen, "EXIT="); {
		time.Sleep(200 * time.Millisecond)
		screen = tmux("capture-pane", "-p", "-t", session)
	}
	if !strings.Contains(screen, "EXIT=0") {
		t.Errorf("q did not quit with status 0; screen:\n%s", screen)
	}
}

// watchSpeakers reads the TUI's screen twice a second for up to 25 s, noting which
// speakers it shows talking (▶, then the name's first word), until done says it has
// seen enough; it returns who lit up and the last screen.
func watchSpeakers(tmux func(args ...string) string, session string, done func(lit map[string]bool, screen string) bool) (map[string]bool, string) {
	talking := regexp.MustCompile(`▶ (\S+)`)
	lit := map[string]bool{}
	var screen string
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline) && !done(lit, screen); {
		time.Sleep(500 * time.Millisecond)
		screen = tmux("capture-pane", "-p", "-t", session)
		for _, m := range talking.FindAllStringSubmatch(screen, -1) {
			lit[m[1]] = true
		}
	}
	return lit, screen
}

// transcriptLines counts lines that look like transcript entries: a clock time followed
// by a speaker name.
func transcriptLines(screen string) int {
	return len(regexp.MustCompile(`\d\d:\d\d\s+(Ada|Grace|Linus)\s`).FindAllString(screen, -1))
}

func TestHeadlessJSON(t *testing.T) {
	url, _ := startServer(t)
	// Flags after the URL: interspersed parsing is part of the contract.
	cmd := exec.Command(spacetuiBin(t), "join", url, "--headless", "--json", "--output", "null", "--for", "7s")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("join: %v\nstderr: %s", err, stderr.String())
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		typ, _ := ev["type"].(string)
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["time"])); err != nil {
			t.Errorf("line without an RFC 3339 time: %q", line)
		}
		seen[typ]++
		switch typ {
		case "room":
			if ev["id"] != "demo" {
				t.Errorf("room event: %q", line)
			}
		case "transcript":
			if _, ok := ev["final"].(bool); !ok || ev["speaker"] == "" {
				t.Errorf("transcript event: %q", line)
			}
		case "stats":
			for _, k := range []string{"frames", "lost", "loss_pct", "buffer_ms"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("stats event lacks %s: %q", k, line)
				}
			}
		}
	}
	for _, typ := range []string{"state", "room", "roster", "transcript", "speaking", "stats"} {
		if seen[typ] == 0 {
			t.Errorf("no %q event in 7 s; saw %v", typ, seen)
		}
	}
}

// A refusal that retrying cannot fix ends the program with status 1 and one clear line:
// an unknown room on the real server, and a bad token or an ended room from a server
// that answers 401 or 410.
func TestPermanentRefusalExitsWithOneLine(t *testing.T) {
	url, _ := startServer(t)
	refuse := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, http.StatusText(code), code)
		}))
		t.Cleanup(srv.Close)
		return "ws" + strings.TrimPrefix(srv.URL, "http") + "/rooms/demo"
	}
	for _, tt := range []struct{ name, url, want string }{
		{"unknown room", strings.Replace(url, "/demo", "/nope", 1), "room not found"},
		{"bad token", refuse(http.StatusUnauthorized), "not authorized"},
		{"ended room", refuse(http.StatusGone), "the room has ended"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(spacetuiBin(t), "join", tt.url, "--headless", "--output", "null", "--token", "sekrit-token")
			var stderr, stdout strings.Builder
			cmd.Stderr, cmd.Stdout = &stderr, &stdout
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("want exit status 1, got %v; stderr:\n%s", err, stderr.String())
			}
			var last string
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.HasPrefix(line, "spacetui: ") {
					last = line
				}
			}
			if !strings.Contains(last, tt.want) {
				t.Fatalf("want one line saying %q, got:\n%s", tt.want, stderr.String())
			}
			if strings.Contains(stderr.String()+stdout.String(), "sekrit-token") {
				t.Fatalf("the token was printed")
			}
		})
	}
}

// A user watching the TUI through a server restart can tell what is happening and hears
// the room again without touching a key.
func TestTUIThroughARestart(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	addr := freeAddr(t)
	srv := serveAt(t, addr)
	tmux, session := tuiSession(t, fmt.Sprintf("%s join ws://%s/rooms/demo --output null --log %s", spacetuiBin(t), addr, filepath.Join(t.TempDir(), "log")))
	screenUntil := screenWatcher(t, tmux, session)
	screenUntil("the live room", 15*time.Second, func(s string) bool { return strings.Contains(s, "● live") })
	_ = srv.Process.Signal(syscall.SIGTERM)
	// The restart (1012) is retried within a spread of 5 s; when that first retry comes
	// early it finds the port closed, and "server restarting" gives way to "cannot reach
	// the server" before a 200 ms poll may see it (the reason itself is checked headless,
	// in TestReconnectAfterServerRestart). Either way the next retry must be announced.
	screen := screenUntil("the outage and the next retry", 5*time.Second, func(s string) bool {
		return (strings.Contains(s, "server restarting") || strings.Contains(s, "connection lost") ||
			strings.Contains(s, "cannot reach the server")) &&
			strings.Contains(s, "retry in")
	})
	t.Logf("during the restart:\n%s", screen)
	if !strings.Contains(screen, "◌ OFFLINE") || strings.Contains(screen, "● LIVE") {
		t.Errorf("during the restart the header should say OFFLINE, not LIVE")
	}
	time.Sleep(time.Second)
	serveAt(t, addr)
	screen = screenUntil("live again", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "● live") && strings.Contains(s, "lost")
	})
	t.Logf("after the restart:\n%s", screen)
	if !strings.Contains(screen, "● LIVE") || strings.Contains(screen, "OFFLINE") {
		t.Errorf("after the restart the header should say LIVE again")
	}
}

// TestVersionNamesTheCommit: a binary built from a checkout says which commit it is, in
// --version (and so in room.json).
func TestVersionNamesTheCommit(t *testing.T) {
	bin := spacetuiBin(t)
	head, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout, so the build names no commit: %v", err)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	if want := "commit " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
		t.Errorf("--version = %q, want it to name %q", out, want)
	}
}
