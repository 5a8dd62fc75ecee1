package main

// End-to-end tests against a real Mumble server (internal/mumbletest runs murmurd on a
// free port) into which a publisher in this test process speaks the demo's speakers,
// one Mumble user each, and types their cues into the channel's chat.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/internal/mumbletest"
)

// mumbleCmd runs spacetui with its own state directory (the remembered certificates).
func mumbleCmd(t *testing.T, state string, args ...string) (cmd *exec.Cmd, stdout, stderr *strings.Builder) {
	cmd = exec.Command(spacetuiBin(t), args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state, "SPACETUI_TOKEN=")
	stdout, stderr = &strings.Builder{}, &strings.Builder{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd, stdout, stderr
}

// TestMumbleJoinRecord joins a Mumble channel headless with JSON events and records it:
// the roster names the three speakers, speaking events name them as they talk, the
// chat is in the transcript, and the recording has one valid Opus track per speaker.
func TestMumbleJoinRecord(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})
	dir := filepath.Join(t.TempDir(), "rec")
	const secs = 16
	cmd, stdout, stderr := mumbleCmd(t, t.TempDir(), "join", s.URL("Demo"), "--headless", "--json", "--output", "null",
		"--record", dir, "--for", strconv.Itoa(secs)+"s")
	if err := cmd.Run(); err != nil {
		t.Fatalf("join: %v\n%s", err, stderr.String())
	}
	roster, speaking := map[string]bool{}, map[string]bool{}
	var remembered bool
	for _, line := range strings.Split(stdout.String(), "\n") {
		var ev struct {
			Type     string          `json:"type"`
			Detail   string          `json:"detail"`
			Speakers json.RawMessage `json:"speakers"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		switch ev.Type {
		case "roster":
			var sps []struct{ ID string }
			_ = json.Unmarshal(ev.Speakers, &sps)
			for _, sp := range sps {
				roster[sp.ID] = true
			}
		case "speaking":
			var ids []string
			_ = json.Unmarshal(ev.Speakers, &ids)
			for _, id := range ids {
				speaking[id] = true
			}
		case "state":
			remembered = remembered || strings.Contains(ev.Detail, "certificate") && strings.Contains(ev.Detail, "remembered")
		}
	}
	if !roster["Ada"] || !roster["Grace"] || !roster["Linus"] || len(speaking) < 2 {
		t.Errorf("roster %v, speaking %v: want the three speakers, two or more heard speaking\n%s", roster, speaking, stdout.String())
	}
	if !remembered {
		t.Error("the first join did not say that it remembered the server's certificate")
	}
	tracks := recordFiles(t, dir, 2)[1:]
	for _, f := range tracks {
		probeDuration(t, f, false)
	}
	var chat int
	b, _ := os.ReadFile(filepath.Join(dir, "transcript.jsonl"))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var seg struct {
			Speaker string `json:"speaker"`
			Final   bool   `json:"final"`
			Text    string `json:"text"`
			Chat    bool   `json:"chat"`
		}
		if json.Unmarshal([]byte(line), &seg) == nil && seg.Final && seg.Chat && roster[seg.Speaker] && seg.Text != "" {
			chat++
		}
	}
	vtt, _ := os.ReadFile(filepath.Join(dir, "transcript.vtt"))
	if chat == 0 || !strings.Contains(string(vtt), "<v.chat ") {
		t.Errorf("no chat from the speakers marked as chat in transcript.jsonl and .vtt:\n%s\n%s", b, vtt)
	}
	t.Logf("roster %v, speaking %v, %d track files, %d chat messages", roster, speaking, len(tracks), chat)
}

// TestMumbleRefusals: a wrong server password exits 1 with one line and never prints the
// password; a server whose certificate changed since the last join is refused the same
// way, naming both fingerprints and how to accept the new one.
func TestMumbleRefusals(t *testing.T) {
	s := mumbletest.StartT(t, mumbletest.Options{Password: "correct-horse"})
	state := t.TempDir()
	check := func(name, want, secret string, args ...string) {
		t.Helper()
		cmd, stdout, stderr := mumbleCmd(t, state, append([]string{"join", s.URL(""), "--headless", "--output", "null"}, args...)...)
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%s: want exit status 1, got %v; stderr:\n%s", name, err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "spacetui: ") || !strings.Contains(last, want) {
			t.Errorf("%s: want one last line saying %q, got %q", name, want, last)
		}
		if secret != "" && strings.Contains(stdout.String()+stderr.String(), secret) {
			t.Errorf("%s: the password was printed:\n%s\n%s", name, stdout.String(), stderr.String())
		}
	}
	check("wrong password", "refused the password", "battery-staple", "--token", "battery-staple")
	if err := s.NewCertificate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("changed certificate", "certificate of "+s.Addr+" changed", "", "--token", "correct-horse")
}

// TestMumbleTUI joins a Mumble channel in the TUI under tmux: the speakers light up as
// they talk, and their chat shows in the transcript marked as chat.
func TestMumbleTUI(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	need(t, pulseReady(), "no PulseAudio server with a null sink named spk")
	s := mumbletest.StartT(t, mumbletest.Options{})
	mumbletest.PublishT(t, s, "Demo", mumbletest.PublishOptions{})
	tmux, session := tuiSession(t, fmt.Sprintf("XDG_STATE_HOME=%s SPACETUI_TOKEN= %s join %s --log %s",
		t.TempDir(), spacetuiBin(t), s.URL("Demo"), filepath.Join(t.TempDir(), "tui.log")))

	lit, screen := watchSpeakers(tmux, session, func(lit map[string]bool, screen string) bool {
		return len(lit) >= 2 && strings.Contains(screen, "[chat]")
	})
	t.Logf("screen:\n%s", screen)
	if len(lit) < 2 {
		t.Errorf("speakers lit up: %v, want two or more", lit)
	}
	for _, want := range []string{"LIVE", "Demo", "[chat]"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	quitTUI(t, tmux, session)
}
