package main

// End-to-end tests of streams in AAC and MP3 through the binary: an X Space's HLS as
// the streamtest Origin dresses FFmpeg's ADTS chunks, and a real Icecast fed MP3 by
// FFmpeg. They play (decoded), show (JSON events, the TUI) and record (the stream's own
// frames in tracks/, the mix in audio.ogg) like any room. The sound card is checked in
// e2e_audio_test.go (TestStreamSoundCard).

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
)

// xSpace serves FFmpeg's live ADTS AAC chunks as an X Space's HLS (ID3 tags before each
// chunk, one holding a fake sync word; version 6, a date on every chunk; a master
// playlist beside the media playlist) and returns the origin and the base URL of its
// playlists: an X-shaped path with the token in it.
func xSpace(t *testing.T) (*streamtest.Origin, string) {
	t.Helper()
	o := &streamtest.Origin{Dir: streamtest.HLSDirT(t, streamtest.HLSOptions{Format: streamtest.ADTS}), XStyle: true}
	return o, streamtest.OriginT(t, o) + streamtest.XPath
}

// TestStreamXSpaceAAC joins an X Space's playlist headless with JSON events and a
// recording, by its media playlist (what a listener is given) and by its master
// playlist: the stream is a room that speaks, with no gap or stall, and the recording
// holds the mix and the stream's own AAC frames, of the same length, named in
// room.json; the token is in no output, log or file.
func TestStreamXSpaceAAC(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	_, base := xSpace(t)
	for _, tt := range []struct{ playlist, title string }{
		{streamtest.XMedia + "?type=live", "127.0.0.1"},
		{streamtest.XMaster, "127.0.0.1 — variant of 101 kbit/s (mp4a.40.2)"},
	} {
		t.Run(strings.TrimSuffix(tt.playlist, "?type=live"), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "rec")
			logFile := filepath.Join(t.TempDir(), "log")
			const secs = 10
			c := startClient(t, base+tt.playlist, "--record", dir, "--for", "10s", "--log", logFile)
			room, _ := c.wait(0, 10*time.Second, "room event", func(e event) bool { return e.typ() == "room" })
			if got := room.str("title"); got != tt.title {
				t.Errorf("room title %q, want %q", got, tt.title)
			}
			c.wait(0, 10*time.Second, "speaking event", speaking)
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("join: %v", err)
			}
			healthy(t, c)

			files := recordFiles(t, dir, 1)
			if len(files) != 2 || filepath.Base(files[1]) != "127.0.0.1.aac" {
				t.Fatalf("files %v, want audio.ogg and tracks/127.0.0.1.aac", files)
			}
			mix, track := probeAudio(t, files[0]), probeAudio(t, files[1])
			t.Logf("recorded %d s: audio.ogg %.3f s, the track %.3f s", secs, mix, track)
			if mix < secs*0.99 || mix > secs*1.01 || track < secs*0.99 || track > secs*1.01 {
				t.Errorf("audio.ogg %.3f s, the track %.3f s; want %d s within 1%%", mix, track, secs)
			}
			var meta struct {
				URL    string
				Tracks []struct{ Name, File, Codec string }
			}
			b, err := os.ReadFile(filepath.Join(dir, "room.json"))
			if err != nil || json.Unmarshal(b, &meta) != nil || len(meta.Tracks) != 1 ||
				meta.Tracks[0].File != "tracks/127.0.0.1.aac" || meta.Tracks[0].Codec != "aac" || meta.Tracks[0].Name != "127.0.0.1" {
				t.Errorf("room.json (%v) does not name the one AAC track:\n%s", err, b)
			}
			if want := "/…/" + tt.playlist; !strings.HasSuffix(meta.URL, want) {
				t.Errorf("room.json's url %q, want the host and %q", meta.URL, want)
			}
			noToken(t, logFile, dir)
			for _, e := range c.since(0) {
				if b, _ := json.Marshal(e.fields); strings.Contains(string(b), streamtest.XToken) {
					t.Errorf("the token in an event: %s", b)
				}
			}
		})
	}
}

// healthy fails the test if the client's events show a gap, or a state other than
// connecting, live and ended: what a healthy stream never causes.
func healthy(t *testing.T, c *jsonClient) {
	t.Helper()
	for _, e := range c.since(0) {
		if e.typ() == "gap" || e.typ() == "state" && e.str("state") != "connecting" && e.str("state") != "live" && e.str("state") != "ended" {
			t.Errorf("%v in a healthy stream", e.fields)
		}
	}
}

// noToken fails the test if the X Space's token is in the log or in any file of the
// recording.
func noToken(t *testing.T, logFile, dir string) {
	t.Helper()
	files := []string{logFile}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
		}
		if strings.Contains(string(b), streamtest.XToken) {
			t.Errorf("%s shows the token", f)
		}
	}
}
