package main

// End-to-end tests against a real Icecast (internal/streamtest runs Debian's icecast2 on
// a free port) whose mount FFmpeg feeds with the demo room's Ogg Opus, looped.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
)

// icecastDemo starts an Icecast with the demo's Ogg Opus on /demo.ogg, named Demo Radio.
func icecastDemo(t *testing.T) (*streamtest.Icecast, *streamtest.Source) {
	t.Helper()
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
	src := streamtest.SourceT(t, ice, "/demo.ogg", streamtest.SourceOptions{Name: "Demo Radio", Description: "a test stream"})
	return ice, src
}

// TestStreamRecord records an Icecast stream with the record command: one valid Ogg
// Opus track for the stream's one speaker, a mixed audio.ogg of the right length, and
// the room's title from the stream's name and tags in room.json.
func TestStreamRecord(t *testing.T) {
	ice, _ := icecastDemo(t)
	dir := filepath.Join(t.TempDir(), "capture")
	const secs = 10
	cmd := exec.Command(spacetuiBin(t), "record", ice.URL("/demo.ogg"), "-o", dir, "--for", "10s", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("record: %v\n%s", err, stderr.String())
	}
	files := recordFiles(t, dir, 1)
	if len(files) != 2 {
		t.Errorf("files %v, want audio.ogg and one track", files)
	}
	for _, f := range files {
		if d := probeDuration(t, f, false); d < secs-1.5 || d > secs+0.5 {
			t.Errorf("%s: %.2f s, want about %d s", f, d, secs)
		}
	}
	if len(files) > 1 && filepath.Base(files[1]) != "demo-radio.ogg" {
		t.Errorf("track %s, want tracks/demo-radio.ogg: the stream's name as a file name", files[1])
	}
	b, err := os.ReadFile(filepath.Join(dir, "room.json"))
	if err != nil || !strings.Contains(string(b), "Demo Radio") {
		t.Errorf("room.json: %v\n%s", err, b)
	}
	if !strings.Contains(string(out), `"type":"record"`) {
		t.Errorf("no record progress event on stdout:\n%s", out)
	}
}

// TestStreamJoinThroughARestart joins an Icecast stream headless with JSON events and a
// recording, and stops its source mid-stream for 2 s: the client says it reconnects,
// comes back by itself, hears the stream again, and the recording keeps one valid
// track with the outage in events.jsonl as a gap, which stdout shows too.
func TestStreamJoinThroughARestart(t *testing.T) {
	ice, src := icecastDemo(t)
	dir := filepath.Join(t.TempDir(), "rec")
	c := startClient(t, ice.URL("/demo.ogg"), "--record", dir, "--for", "24s")
	room, _ := c.wait(0, 10*time.Second, "room event", func(e event) bool { return e.typ() == "room" })
	if title := room.str("title"); !strings.Contains(title, "Demo Radio") || !strings.Contains(title, "Keeping rooms alive") {
		t.Errorf("room title %q, want the stream's name and its tags' title", title)
	}
	_, i := c.wait(0, 10*time.Second, "speaking event", speaking)
	c.outage(i, 2*time.Second, src.Stop, func() error { return src.Start(t.Context()) })
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("join: %v", err)
	}
	files := recordFiles(t, dir, 1)
	if len(files) != 2 {
		t.Errorf("files %v, want audio.ogg and one track through the restart", files)
	}
	for _, f := range files {
		probeDuration(t, f, false)
	}
	if gaps := recordedGaps(t, dir); len(gaps) == 0 {
		t.Errorf("no gap in events.jsonl")
	}
	gapsShown(t, c, dir)
}

// TestStreamHLS joins FFmpeg's live HLS output (fMP4 Opus) headless with JSON events and
// a recording: the stream is heard speaking, nothing is lost or stalled, and the
// recording holds one valid Opus track.
func TestStreamHLS(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	u := streamtest.HLST(t, streamtest.HLSOptions{})
	dir := filepath.Join(t.TempDir(), "rec")
	c := startClient(t, u, "--record", dir, "--for", "10s")
	c.wait(0, 10*time.Second, "room event", func(e event) bool { return e.typ() == "room" })
	c.wait(0, 10*time.Second, "speaking event", speaking)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("join: %v", err)
	}
	healthy(t, c, 20*time.Millisecond)
	files := recordFiles(t, dir, 1)
	if len(files) != 2 {
		t.Errorf("files %v, want audio.ogg and one track", files)
	}
	for _, f := range files {
		if d := probeDuration(t, f, false); d < 8.5 || d > 10.5 {
			t.Errorf("%s: %.2f s, want about 10 s", f, d)
		}
	}
}
