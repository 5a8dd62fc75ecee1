package main

// End-to-end tests against a real LiveKit server (internal/lktest runs one on free
// ports) into which a publisher in this test process sends the demo's speakers: Opus
// from Ogg files and lk.transcription text streams.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/lktest"
)

// nocgoBin builds the cgo-free spacetui once.
func nocgoBin(t *testing.T) string {
	t.Helper()
	return nocgoBuild.get(t, "CGO_ENABLED=0")
}

func lkAuth(s *lktest.Server) []string {
	return []string{"--api-key", s.APIKey, "--api-secret", s.APISecret}
}

// events reads a recording's events.jsonl.
func events(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("events.jsonl: invalid line %q", line)
		}
		out = append(out, ev)
	}
	return out
}

// TestLiveKitRecord records a LiveKit room with the full build (join --headless
// --record) and, at the same time, with the cgo-free one (record): both recordings are valid Ogg Opus with a track per speaker
// heard and the transcript attributed to them, and both say who is speaking: the full
// build from the decoded audio, the cgo-free one from LiveKit's active speakers.
func TestLiveKitRecord(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "rec")
	const secs = 14
	type run struct {
		name, dir string
		cmd       *exec.Cmd
		stdout    strings.Builder
		stderr    strings.Builder
	}
	runs := []*run{{name: "cgo"}, {name: "nocgo"}}
	bins := map[string]string{"cgo": spacetuiBin(t), "nocgo": nocgoBin(t)}
	for _, r := range runs {
		r.dir = filepath.Join(t.TempDir(), r.name)
		// The full build joins headless and records on the side; the cgo-free one,
		// which cannot play, captures with the record command.
		args := []string{"join", s.RoomURL("rec"), "--headless", "--output", "null", "--record", r.dir}
		if r.name == "nocgo" {
			args = []string{"record", s.RoomURL("rec"), "-o", r.dir}
		}
		args = append(append(args, "--for", strconv.Itoa(secs)+"s", "--json"), lkAuth(s)...)
		r.cmd = exec.Command(bins[r.name], args...)
		r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range runs {
		if err := r.cmd.Wait(); err != nil {
			t.Fatalf("%s record: %v\n%s", r.name, err, r.stderr.String())
		}
		if strings.Contains(r.stderr.String(), "eyJ") {
			t.Errorf("%s: a token reached the log", r.name)
		}
		files := recordFiles(t, r.dir, 2)
		if r.name == "nocgo" {
			files = files[1:] // no encoder: no audio.ogg, only the tracks as received
		}
		for _, f := range files {
			// The recording starts at the join; the publisher may need a moment more.
			if d := probeDuration(t, f, false); d < secs*0.98 || d > secs*1.02 {
				t.Errorf("%s %s: %.3f s, want %d s within 2%%", r.name, filepath.Base(f), d, secs)
			}
		}
		vtt, err := os.ReadFile(filepath.Join(r.dir, "transcript.vtt"))
		if err != nil || !strings.HasPrefix(string(vtt), "WEBVTT") || !strings.Contains(string(vtt), "<v Ada>") || !strings.Contains(string(vtt), "<v Grace>") {
			t.Errorf("%s transcript.vtt: want cues of Ada and Grace; %v\n%s", r.name, err, vtt)
		}
		var partial, final int
		b, _ := os.ReadFile(filepath.Join(r.dir, "transcript.jsonl"))
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var seg struct {
				Final   bool   `json:"final"`
				Speaker string `json:"speaker"`
			}
			if json.Unmarshal([]byte(line), &seg) == nil && seg.Speaker != "" {
				if seg.Final {
					final++
				} else {
					partial++
				}
			}
		}
		if partial == 0 || final == 0 {
			t.Errorf("%s transcript.jsonl: %d partial and %d final segments, want both", r.name, partial, final)
		}
		speaking := map[string]bool{}
		for _, line := range strings.Split(r.stdout.String(), "\n") {
			var ev struct {
				Type     string   `json:"type"`
				Speakers []string `json:"speakers"`
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == "speaking" {
				for _, id := range ev.Speakers {
					speaking[id] = true
				}
			}
		}
		if len(speaking) < 2 {
			t.Errorf("%s: speaking events named %v, want two speakers or more", r.name, speaking)
		}
		t.Logf("%s: %d files, %d partial and %d final segments, heard speaking: %v", r.name, len(files), partial, final, speaking)
	}
}

// TestLiveKitRecordThroughRestart kills the LiveKit server in the middle of a
// recording and starts it again: the publisher rejoins with new tracks, the client
// comes back by itself, and the recording stays one valid file per speaker, as long as
// the session, with the outage logged as a gap.
func TestLiveKitRecordThroughRestart(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "restart")
	dir := filepath.Join(t.TempDir(), "rec")
	const secs = 30
	args := append([]string{"record", s.RoomURL("restart"), "-o", dir, "--for", strconv.Itoa(secs) + "s", "--json"}, lkAuth(s)...)
	cmd := exec.Command(spacetuiBin(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v\n%s", err, stderr.String())
	}
	for _, f := range recordFiles(t, dir, 2) {
		if d := probeDuration(t, f, false); d < secs*0.98 || d > secs*1.02 {
			t.Errorf("%s: %.3f s, want %d s within 2%%", filepath.Base(f), d, secs)
		}
	}
	tracks, _ := filepath.Glob(filepath.Join(dir, "tracks", "*.ogg"))
	if len(tracks) > 3 {
		t.Errorf("%d track files for 3 speakers: a new track id after the restart became a new speaker: %v", len(tracks), tracks)
	}
	var gaps, lives int
	for _, ev := range events(t, dir) {
		switch {
		case ev["type"] == "gap":
			gaps++
		case ev["type"] == "state" && ev["state"] == "live":
			lives++
		}
	}
	if gaps == 0 || lives < 2 {
		t.Errorf("want the outage as a gap and live twice; got %d gaps, %d live states", gaps, lives)
	}
	// After the restart, the speakers are heard again: the stats' frame count keeps
	// growing in the last stats events.
	var frames []float64
	for _, line := range strings.Split(stdout.String(), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil && ev["type"] == "stats" {
			f, _ := ev["frames"].(float64)
			frames = append(frames, f)
		}
	}
	if n := len(frames); n < 3 || frames[n-1]-frames[n-2] < 100 {
		t.Errorf("no audio in the last 5 s after the restart: frames per stats event %v", frames)
	}
	t.Logf("gaps %d, live %d times, frames %v", gaps, lives, frames)
}

// TestLiveKitTUI joins a LiveKit room in the TUI under tmux: the speakers appear and
// light up as they talk, and the transcript follows.
func TestLiveKitTUI(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	need(t, pulseReady(), "no PulseAudio server with a null sink named spk")
	s := lktest.StartT(t, lktest.Options{})
	lktest.PublishT(t, s, "tui")
	logFile := filepath.Join(t.TempDir(), "tui.log")
	tmux, session := tuiSession(t, fmt.Sprintf("%s join %s %s --log %s",
		spacetuiBin(t), s.RoomURL("tui"), strings.Join(lkAuth(s), " "), logFile))

	lit, screen := watchSpeakers(tmux, session, func(lit map[string]bool, screen string) bool {
		return len(lit) >= 2 && transcriptLines(screen) >= 2
	})
	t.Logf("screen:\n%s", screen)
	if len(lit) < 2 {
		t.Errorf("speakers lit up: %v, want two or more", lit)
	}
	for _, want := range []string{"LIVE", "Ada", "Grace"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	if n := transcriptLines(screen); n < 2 {
		t.Errorf("screen shows %d transcript lines, want 2 or more", n)
	}
	for _, noise := range []string{"pion", "ICE", "livekit", "eyJ"} {
		if strings.Contains(screen, noise) {
			t.Errorf("SDK noise on screen: %q", noise)
		}
	}
	quitTUI(t, tmux, session)
}

// TestLiveKitBadCredentials: a LiveKit server that refuses the credentials ends the
// session at once, exit status 1 with one line, and no token anywhere in the output,
// although LiveKit quotes the token it refuses.
func TestLiveKitBadCredentials(t *testing.T) {
	s := lktest.StartT(t, lktest.Options{})
	for _, tt := range []struct {
		name string
		auth []string
		hide string
		why  string // in words, not go-jose's
	}{
		{"wrong secret", []string{"--api-key", s.APIKey, "--api-secret", strings.Repeat("x", 40)}, "eyJ",
			"the API secret does not match the key"},
		{"foreign token", []string{"--token", "sekrit-token"}, "sekrit-token", "the token is not a LiveKit access token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(spacetuiBin(t), append([]string{"join", s.RoomURL("r"), "--headless", "--output", "null"}, tt.auth...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("want exit status 1, got %v; stderr:\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "spacetui: ") || !strings.Contains(last, "not authorized") {
				t.Errorf("want one last line saying not authorized, got %q", last)
			} else if !strings.Contains(last, tt.why) || strings.Contains(last, "go-jose") {
				t.Errorf("want the last line to say %q, got %q", tt.why, last)
			}
			if strings.Contains(stdout.String()+stderr.String(), tt.hide) {
				t.Errorf("the token was printed:\n%s\n%s", stdout.String(), stderr.String())
			}
		})
	}
}
