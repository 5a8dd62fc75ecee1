package main

// End-to-end tests of streams in AAC, MP3 and Vorbis through the binary: an X Space's
// HLS as the streamtest Origin dresses FFmpeg's ADTS chunks, FFmpeg's HLS of MPEG-TS
// AAC, and a real Icecast fed MP3 or Ogg Vorbis by FFmpeg. They play (decoded), show (JSON events, the TUI)
// and record (the stream's own frames in tracks/, the mix in audio.ogg) like any room.
// The sound card is checked in e2e_audio_test.go (TestStreamSoundCard).

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/streamtest"
)

// xSpace serves FFmpeg's live ADTS AAC chunks as an X Space's HLS (ID3 tags before each
// chunk, one holding a fake sync word; version 6, a date on every chunk; a master
// playlist beside the media playlist) and returns the origin's server and the base URL
// of its playlists: an X-shaped path with the token in it.
//
// The playlist lists the newest listSize chunks (0: 6). It returns once it lists
// joinAt: one is a Space just begun, which a client joins holding its first chunk back
// (a chunk plays 3 s, and the next reload may come no sooner than a target duration,
// 4 s, after the last, as RFC 8216 6.3.4 says: without the hold, it hears holes).
func xSpace(t *testing.T, listSize, joinAt int) (*streamtest.OriginServer, string) {
	t.Helper()
	dir := streamtest.HLSDirT(t, streamtest.HLSOptions{Format: streamtest.ADTS, ListSize: listSize})
	srv := streamtest.OriginServerT(t, &streamtest.Origin{Dir: dir, XStyle: true})
	base := srv.URL + streamtest.XPath
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var b []byte
		if resp, err := http.Get(base + streamtest.XMedia); err == nil {
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if pl, err := streamtest.ParsePlaylist(b); err == nil && len(pl.Segments) >= joinAt {
			return srv, base
		}
		if time.Now().After(deadline) {
			t.Fatalf("the playlist lists too few chunks after 20 s:\n%s", b)
		}
	}
}

// TestStreamXSpaceAAC joins an X Space's playlist headless with JSON events and a
// recording, by its media playlist (what a listener is given) and by its master
// playlist, both at once, when it lists one chunk: the stream is a room that speaks,
// with no gap, stall or hole once it plays, and
// the recording holds the mix and the stream's own AAC frames, of the same length,
// named in room.json; the token is in no output, log or file.
func TestStreamXSpaceAAC(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	t.Parallel()
	_, base := xSpace(t, 0, 1)
	const secs = 10
	type join struct {
		playlist, title, dir, log string
		c                         *jsonClient
	}
	joins := []*join{
		{playlist: streamtest.XMedia + "?type=live", title: "127.0.0.1"},
		{playlist: streamtest.XMaster, title: "127.0.0.1 — variant of 101 kbit/s (mp4a.40.2)"},
	}
	for _, j := range joins {
		j.dir, j.log = filepath.Join(t.TempDir(), "rec"), filepath.Join(t.TempDir(), "log")
		j.c = startClient(t, base+j.playlist, "--record", j.dir, "--for", "10s", "--log", j.log)
	}
	// The clients run at once, in one test: a subtest may not fail its parent's client.
	for _, j := range joins {
		t.Logf("joined by %s:", j.playlist)
		c := j.c
		room, _ := c.wait(0, 10*time.Second, "room event", func(e event) bool { return e.typ() == "room" })
		if got := room.str("title"); got != j.title {
			t.Errorf("room title %q, want %q", got, j.title)
		}
		c.wait(0, 10*time.Second, "speaking event", speaking)
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("join: %v", err)
		}
		healthy(t, c, 1024*time.Second/48000)

		meta := streamRecording(t, j.dir, "127.0.0.1", "aac", secs)
		if want := "/…/" + j.playlist; !strings.HasSuffix(meta.URL, want) {
			t.Errorf("room.json's url %q, want the host and %q", meta.URL, want)
		}
		noToken(t, j.log, j.dir)
		for _, e := range c.since(0) {
			if b, _ := json.Marshal(e.fields); strings.Contains(string(b), streamtest.XToken) {
				t.Errorf("the token in an event: %s", b)
			}
		}
	}
}

// TestStreamIcecast records a real Icecast's mount (44.1 kHz, fed by FFmpeg) with the
// record command while a listener joins it headless with JSON events, and the source
// names what is playing half-way through: the recording holds the mix and the stream's
// own frames in a track of its codec, each as long as the capture, which ffprobe reads
// and FFmpeg decodes; the listener's room title follows the source's, and so does
// room.json's. On MP3 the title comes as ICY StreamTitle; on Ogg Vorbis Icecast sends
// it as a new link of the chained stream with the new comments, and the track goes on
// through the new link.
func TestStreamIcecast(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	for _, tc := range []struct {
		name, mount  string
		codec        streamtest.SourceCodec
		track        string // the track's codec in room.json
		first, title string // the room's title at the join, and once retitled
		frame        time.Duration
	}{
		{"mp3", "/live.mp3", streamtest.MP3, "mp3", "Demo Radio", "Demo Radio — Ada - Opening", 1152 * time.Second / 44100},
		// The demo file's ARTIST and TITLE, then its ARTIST and the new TITLE; Vorbis
		// blocks are mostly long, so short ones count as long.
		{"vorbis", "/live.ogg", streamtest.Vorbis, "vorbis", "Demo Radio — spacetui demo - Keeping rooms alive under load",
			"Demo Radio — spacetui demo - Ada - Opening", 1024 * time.Second / 44100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ice := streamtest.IcecastT(t, streamtest.IcecastOptions{BurstSize: 8192})
			src := streamtest.SourceT(t, ice, tc.mount, streamtest.SourceOptions{Codec: tc.codec, Name: "Demo Radio"})
			dir := filepath.Join(t.TempDir(), "capture")
			const secs = 10
			rec := exec.Command(spacetuiBin(t), "record", ice.URL(tc.mount), "-o", dir, "--for", "10s")
			rec.Stderr = &logWriter{t: t, prefix: "record: "}
			if err := rec.Start(); err != nil {
				t.Fatal(err)
			}
			c := startClient(t, ice.URL(tc.mount), "--for", "10s")
			room, i := c.wait(0, 10*time.Second, "room event", func(e event) bool { return e.typ() == "room" })
			if got := room.str("title"); got != tc.first {
				t.Errorf("room title %q, want %q", got, tc.first)
			}
			_, i = c.wait(i, 10*time.Second, "speaking event", speaking)
			if err := src.SetTitle(t.Context(), "Ada - Opening"); err != nil {
				t.Fatal(err)
			}
			set := time.Now()
			retitled, _ := c.wait(i, 8*time.Second, "the new title", func(e event) bool { return e.typ() == "room" && e.str("title") == tc.title })
			t.Logf("title set; the room retitled %v later", retitled.at.Sub(set).Round(10*time.Millisecond))
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("join: %v", err)
			}
			healthy(t, c, tc.frame)
			if err := rec.Wait(); err != nil {
				t.Fatalf("record: %v", err)
			}
			if meta := streamRecording(t, dir, "Demo Radio", tc.track, secs); meta.Room.Title != tc.title {
				t.Errorf("room.json's room title %q, want %q", meta.Room.Title, tc.title)
			}
		})
	}
}

// TestStreamTUI joins FFmpeg's live HLS of MPEG-TS AAC in the TUI under tmux, under a
// path with a token in it as an X Space's: the stream's speaker lights up with its
// meter, the room is live, and no part of the token is on the screen. (MPEG-TS, whose
// first segment is listed 2 s in, rather than an X Space's chunks, listed 3 s in and
// joined when there are two: 4 s less of a test that cannot run beside others.)
func TestStreamTUI(t *testing.T) {
	need(t, haveTool("tmux"), "tmux is not installed")
	need(t, pulseReady(), "no PulseAudio server with a null sink named spk")
	o := &streamtest.Origin{Dir: streamtest.HLSDirT(t, streamtest.HLSOptions{Format: streamtest.TSAAC})}
	url := streamtest.OriginT(t, o) + streamtest.XPath + streamtest.XMedia + "?type=live"
	logFile := filepath.Join(t.TempDir(), "tui.log")
	tmux, session := tuiSession(t, fmt.Sprintf("%s join '%s' --log %s", spacetuiBin(t), url, logFile))
	// The speaker's row: the marker, the name, its role, then the meter's bar.
	meter := regexp.MustCompile(`▶ 127\.0\.0\.1 .*[▏▎▍▌▋▊▉█]`)
	lit, screen := watchSpeakers(tmux, session, func(lit map[string]bool, screen string) bool { return meter.MatchString(screen) })
	t.Logf("screen:\n%s", screen)
	if !lit["127.0.0.1"] || !meter.MatchString(screen) {
		t.Errorf("the stream's speaker never lit up with its meter (lit: %v)", lit)
	}
	if !strings.Contains(screen, "LIVE") {
		t.Errorf("screen lacks LIVE")
	}
	if strings.Contains(screen, streamtest.XToken[:8]) {
		t.Errorf("the token is on the screen")
	}
	quitTUI(t, tmux, session)
	noToken(t, logFile)
}

// TestStreamXSpaceOriginRestart kills an X Space's origin mid-stream while a headless
// listener records it, for longer than the next chunk the listener needs stays in the
// playlist (two chunks of 3 s): the listener says it reconnects, comes back by itself
// and hears the stream again, and what left the playlist meanwhile is a gap, logged in
// the recording, which keeps one AAC track as long as the capture, and shown as a gap
// event on stdout.
func TestStreamXSpaceOriginRestart(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	t.Parallel()
	const listed = 2
	srv, base := xSpace(t, listed, 2)
	dir := filepath.Join(t.TempDir(), "rec")
	c := startClient(t, base+streamtest.XMedia+"?type=live", "--record", dir)
	live, i := c.wait(0, 10*time.Second, "live state", isState("live"))
	_, i = c.wait(i, 10*time.Second, "speaking event", speaking)
	// The listener plays the first chunk listed; the next is listed too, and has left
	// the playlist once FFmpeg has written two more.
	c.outage(i, listed*3008*time.Millisecond+500*time.Millisecond, srv.Stop, srv.Start)
	time.Sleep(time.Second)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	ended := time.Now()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("join: %v", err)
	}
	// SIGTERM finalizes the files when it is done, a little after it came.
	meta := readRoomJSON(t, dir)
	if d := ended.Sub(live.at).Seconds(); meta.Seconds < d-0.5 || meta.Seconds > d+1 {
		t.Errorf("room.json says %.2f s recorded, %.2f s from the join to SIGTERM", meta.Seconds, d)
	}
	streamRecording(t, dir, "127.0.0.1", "aac", meta.Seconds)
	noToken(t, dir)
	gaps := recordedGaps(t, dir)
	if len(gaps) != 1 {
		t.Fatalf("gaps in events.jsonl: %v, want the one", gaps)
	}
	t.Logf("the gap: %.2f s, %s", gaps[0]["seconds"], gaps[0]["why"])
	gapsShown(t, c, dir)
}

// roomJSON is what these tests read of a recording's room.json.
type roomJSON struct {
	URL     string
	Seconds float64
	Room    struct{ Title string }
	Tracks  []struct{ Name, File, Codec string }
}

// readRoomJSON reads the room.json of the recording in dir.
func readRoomJSON(t *testing.T, dir string) roomJSON {
	t.Helper()
	var meta roomJSON
	b, err := os.ReadFile(filepath.Join(dir, "room.json"))
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil {
		t.Fatalf("room.json: %v\n%s", err, b)
	}
	return meta
}

// streamRecording checks the recording of a stream of codec (aac, mp3, vorbis) whose
// speaker is named speaker: audio.ogg and the stream's own frames in tracks/ (.ogg for
// Vorbis), both valid and secs long within 1 %, and room.json naming that one track and
// its codec. It returns room.json.
func streamRecording(t *testing.T, dir, speaker, codec string, secs float64) roomJSON {
	t.Helper()
	ext := codec
	if codec == "vorbis" {
		ext = "ogg"
	}
	file := "tracks/" + strings.ToLower(strings.ReplaceAll(speaker, " ", "-")) + "." + ext
	files := recordFiles(t, dir, 1)
	if len(files) != 2 || files[1] != filepath.Join(dir, file) {
		t.Fatalf("files %v, want audio.ogg and %s", files, file)
	}
	mix, track := probeAudio(t, files[0]), probeAudio(t, files[1])
	t.Logf("recorded %.2f s: audio.ogg %.3f s, the track %.3f s", secs, mix, track)
	if mix < secs*0.99 || mix > secs*1.01 || track < secs*0.99 || track > secs*1.01 {
		t.Errorf("audio.ogg %.3f s, the track %.3f s; want %.2f s within 1%%", mix, track, secs)
	}
	meta := readRoomJSON(t, dir)
	if len(meta.Tracks) != 1 || meta.Tracks[0].File != file || meta.Tracks[0].Codec != codec || meta.Tracks[0].Name != speaker {
		t.Errorf("room.json's tracks %+v, want the one %s track %s of %s", meta.Tracks, codec, file, speaker)
	}
	return meta
}

// healthy fails the test if the client's events show what a healthy stream never
// causes: a gap, a state other than connecting, live and ended, or less audio played
// than the time since playback began allows (a hole the reconnector does not call a
// stall, under 2 s). Playback begins at the first stats that count a frame, not at the
// join: an HLS join that finds little listed holds its first frame back. frame is the
// length of the stream's frames.
func healthy(t *testing.T, c *jsonClient, frame time.Duration) {
	t.Helper()
	var live, first, stats event
	for _, e := range c.since(0) {
		switch {
		case e.typ() == "gap" || e.typ() == "state" && e.str("state") != "connecting" && e.str("state") != "live" && e.str("state") != "ended":
			t.Errorf("%v in a healthy stream", e.fields)
		case e.typ() == "state" && e.str("state") == "live" && live.fields == nil:
			live = e
		case e.typ() == "stats":
			if first.fields == nil && e.num("frames") > 0 {
				first = e
			}
			stats = e
		}
	}
	if live.fields == nil || first.fields == nil {
		t.Fatalf("no live state or no stats of a frame:\n%s", c.dump(0))
	}
	t.Logf("the first frame counted %v after live", first.at.Sub(live.at).Round(time.Millisecond))
	played := time.Duration(stats.num("frames")-first.num("frames")) * frame
	if since := stats.at.Sub(first.at); played < since-time.Second {
		t.Errorf("%v of audio played in the %v from live to the last stats: holes in a healthy stream", played, since.Round(time.Millisecond))
	}
}

// noToken fails the test if the X Space's token is in any file under paths (log files,
// recording directories).
func noToken(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if strings.Contains(string(b), streamtest.XToken) {
				t.Errorf("%s shows the token", path)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
}
