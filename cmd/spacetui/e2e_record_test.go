package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spacetui/spacetui/internal/webvtt"
)

// probeDuration validates an Ogg Opus file with ffprobe and opusinfo and returns its
// duration in seconds. allowNoEOS accepts a file cut off by a crash (no end-of-stream page).
func probeDuration(t *testing.T, path string, allowNoEOS bool) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate:format=duration", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	if !strings.Contains(string(out), "codec_name=opus") || !strings.Contains(string(out), "sample_rate=48000") {
		t.Fatalf("ffprobe %s: not 48 kHz Opus:\n%s", path, out)
	}
	var dur float64
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "duration="); ok {
			dur, _ = strconv.ParseFloat(v, 64)
		}
	}
	// opusinfo exits non-zero on any warning, including the missing end-of-stream
	// page of a killed recording; the lines say which.
	info, err := exec.Command("opusinfo", path).CombinedOutput()
	if err != nil && !allowNoEOS {
		t.Fatalf("opusinfo %s: %v\n%s", path, err, info)
	}
	if !strings.Contains(string(info), "Playback length") {
		t.Fatalf("opusinfo %s: not a playable Opus stream:\n%s", path, info)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if strings.Contains(line, "WARNING") || strings.Contains(line, "ERROR") {
			if allowNoEOS && strings.Contains(line, "EOS not set") {
				continue
			}
			t.Errorf("opusinfo %s: %s", path, line)
		}
	}
	return dur
}

// probeAudio validates a recorded file and returns its length in seconds: an Ogg Opus
// file's by probeDuration, an ADTS AAC or MP3 track's (its codec named by its
// extension, as ffprobe must name it too) by decoding it with FFmpeg, since ffprobe
// only estimates a raw ADTS file's length from its bit rate (docs/recording.md).
func probeAudio(t *testing.T, path string) float64 {
	t.Helper()
	codec := strings.TrimPrefix(filepath.Ext(path), ".")
	if codec == "ogg" {
		// Opus (audio.ogg, a room's tracks), or a Vorbis stream's own track.
		if out, _ := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "default=nw=1", path).Output(); !strings.Contains(string(out), "codec_name=vorbis") {
			return probeDuration(t, path, false)
		}
		codec = "vorbis"
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "codec_name="+codec+"\n") {
		t.Fatalf("ffprobe %s: %v, want codec %s:\n%s", path, err, codec, out)
	}
	d := float64(len(ffmpegPCM(t, nil, "-i", path))) / 48000
	t.Logf("%s: %s, %.3f s decoded (ffprobe: %s)", filepath.Base(path), codec, d, strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " "))
	return d
}

// ffmpegPCM decodes with FFmpeg what the input options name (stdin, if not nil, is
// its standard input) and returns it as 48 kHz mono samples in [-1, 1].
func ffmpegPCM(t *testing.T, stdin []byte, input ...string) []float64 {
	t.Helper()
	cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error"}, input...), "-f", "s16le", "-ac", "1", "-ar", "48000", "-")...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", input, err, stderr.String())
	}
	return pcmFloats(raw)
}

// pcmFloats reads 16-bit little-endian samples as numbers in [-1, 1].
func pcmFloats(raw []byte) []float64 {
	out := make([]float64, len(raw)/2)
	for i := range out {
		out[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	return out
}

// recordedGaps returns the gaps in a recording's events.jsonl.
func recordedGaps(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var gaps []map[string]any
	for _, ev := range events(t, dir) {
		if ev["type"] == "gap" {
			gaps = append(gaps, ev)
		}
	}
	return gaps
}

// gapsShown fails the test unless every gap the recording in dir logged was also a
// gap event on the client's stdout: the same reasons, as many seconds of each (the
// recording may coalesce gaps of one reason into one line).
func gapsShown(t *testing.T, c *jsonClient, dir string) {
	t.Helper()
	recorded, shown := map[string]float64{}, map[string]float64{}
	for _, g := range recordedGaps(t, dir) {
		why, _ := g["why"].(string)
		secs, _ := g["seconds"].(float64)
		recorded[why] += secs
	}
	for _, e := range c.gaps(0) {
		shown[e.str("why")] += e.num("seconds")
	}
	t.Logf("gaps recorded %v, shown %v", recorded, shown)
	for why, secs := range recorded {
		if d := shown[why] - secs; d < -0.01 || d > 0.01 {
			t.Errorf("the recording logged %.2f s of gaps (%s), stdout showed %.2f s; all shown: %v", secs, why, shown[why], shown)
		}
	}
}

// recordFiles lists a recording's audio files, audio.ogg first, then the tracks of
// every codec, and wants a track for at least minTracks speakers.
func recordFiles(t *testing.T, dir string, minTracks int) []string {
	t.Helper()
	files := []string{filepath.Join(dir, "audio.ogg")}
	tracks, _ := filepath.Glob(filepath.Join(dir, "tracks", "*"))
	if len(tracks) < minTracks {
		t.Fatalf("want a track per speaker heard, got %v", tracks)
	}
	return append(files, tracks...)
}

func TestRecordValidFiles(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	url, _ := startServer(t)
	dir := filepath.Join(t.TempDir(), "capture")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("not yours"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secs = 12
	cmd := exec.Command(spacetuiBin(t), "record", url, "-o", dir, "--for", strconv.Itoa(secs)+"s", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("record: %v\n%s", err, stderr.String())
	}
	// The directory was not empty: the recording went to a sibling.
	got := dir + "-2"
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "not yours" {
		t.Fatalf("the existing directory was touched")
	}
	for _, f := range recordFiles(t, got, 2) {
		d := probeDuration(t, f, false)
		if d < secs*0.99 || d > secs*1.01 {
			t.Errorf("%s: %.3f s, want %d s within 1%%", f, d, secs)
		}
	}
	vtt, err := os.ReadFile(filepath.Join(got, "transcript.vtt"))
	if err != nil || !strings.HasPrefix(string(vtt), "WEBVTT") || !strings.Contains(string(vtt), "<v Ada>") {
		t.Errorf("transcript.vtt: %v\n%s", err, vtt)
	}
	var room map[string]any
	if b, err := os.ReadFile(filepath.Join(got, "room.json")); err != nil || json.Unmarshal(b, &room) != nil {
		t.Errorf("room.json: %v %s", err, b)
	}
	if !strings.Contains(string(out), `"type":"record"`) {
		t.Errorf("no record progress event on stdout")
	}
	for _, f := range []string{"events.jsonl", "transcript.jsonl"} {
		b, err := os.ReadFile(filepath.Join(got, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("%s: invalid line %q", f, line)
			}
		}
	}
}

// A recording killed with SIGKILL plays to within half a second of the kill; one stopped
// with SIGTERM is finalized.
func TestRecordSurvivesSignals(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	url, _ := startServer(t)
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		late float64
	}{{"kill -9", syscall.SIGKILL, 0.5}, {"SIGTERM", syscall.SIGTERM, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rec")
			cmd := exec.Command(spacetuiBin(t), "record", url, "-o", dir, "--log", filepath.Join(t.TempDir(), "log"))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the join (room.json appears at time 0), then record 6 s.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(filepath.Join(dir, "room.json")); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			joined := time.Now()
			time.Sleep(6 * time.Second)
			_ = cmd.Process.Signal(tt.sig)
			killedAt := time.Since(joined).Seconds()
			err := cmd.Wait()
			if tt.sig == syscall.SIGTERM && err != nil {
				t.Fatalf("SIGTERM should finalize and exit 0: %v", err)
			}
			for _, f := range recordFiles(t, dir, 2) {
				d := probeDuration(t, f, tt.sig == syscall.SIGKILL)
				// The files must reach to within 0.5 s of the signal. They may run a
				// little past it: we see the join (room.json) late on a busy machine,
				// and SIGTERM finalizes at the moment it is done, not when it began.
				if d < killedAt-0.5 || d > killedAt+tt.late {
					t.Errorf("%s: plays %.2f s, killed after %.2f s", filepath.Base(f), d, killedAt)
				}
			}
		})
	}
}

// The cgo-free build records tracks and transcripts, says once what the mixed audio
// needs, and exits 0; playback says what it needs.
func TestRecordWithoutCgo(t *testing.T) {
	url, _ := startServer(t)
	bin := nocgoBin(t)
	dir := filepath.Join(t.TempDir(), "rec")
	cmd := exec.Command(bin, "record", url, "-o", dir, "--for", "6s")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("record without cgo: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "need the full build"); n != 1 {
		t.Errorf("want the full-build notice once, got %d times:\n%s", n, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "audio.ogg")); err == nil {
		t.Errorf("audio.ogg written without an encoder")
	}
	tracks, _ := filepath.Glob(filepath.Join(dir, "tracks", "*.ogg"))
	if len(tracks) == 0 {
		t.Fatalf("no tracks recorded")
	}
	if haveTool("ffprobe") {
		for _, f := range tracks {
			if d := probeDuration(t, f, false); d < 5.9 || d > 6.1 {
				t.Errorf("%s: %.2f s, want 6", f, d)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "transcript.jsonl")); err != nil || len(b) == 0 {
		t.Errorf("no transcript.jsonl: %v", err)
	}

	join := exec.Command(bin, "join", url, "--headless", "--for", "1s")
	out, err := join.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "full build") {
		t.Errorf("playback without cgo should fail saying what it needs; err %v:\n%s", err, out)
	}
}

// Each WebVTT cue starts within 250 ms of the onset of its speech in the mixed file.
func TestRecordCuesAlignWithSpeech(t *testing.T) {
	need(t, haveTool("ffmpeg"), "ffmpeg is needed to decode the recording")
	url, _ := startServer(t)
	dir := filepath.Join(t.TempDir(), "rec")
	if out, err := exec.Command(spacetuiBin(t), "record", url, "-o", dir, "--for", "16s").CombinedOutput(); err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	pcm := ffmpegPCM(t, nil, "-i", filepath.Join(dir, "audio.ogg"))
	// Speech onsets: a 10 ms block above -40 dBFS after at least 250 ms below it.
	const block = 480
	var onsets []float64
	quiet := 25
	for i := 0; i+block <= len(pcm); i += block {
		var e float64
		for _, v := range pcm[i : i+block] {
			e += v * v
		}
		if e/block > 1e-4 {
			if quiet >= 25 {
				onsets = append(onsets, float64(i)/48000)
			}
			quiet = 0
		} else {
			quiet++
		}
	}
	vtt, err := os.ReadFile(filepath.Join(dir, "transcript.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := webvtt.Parse(vtt)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Malformed...); err != nil {
		t.Fatalf("transcript.vtt: %v", err)
	}
	cues := 0
	for _, c := range f.Cues {
		at := c.Start.Seconds()
		if at < 0.5 {
			continue // a cue already under way at the join starts at 0 by definition
		}
		cues++
		nearest := 1e9
		for _, o := range onsets {
			nearest = min(nearest, max(o-at, at-o))
		}
		t.Logf("cue at %.3f s: nearest speech onset %.0f ms away", at, nearest*1000)
		if nearest > 0.25 {
			t.Errorf("cue at %.3f s: no speech onset within 250 ms (onsets %v)", at, onsets)
		}
	}
	if cues < 2 {
		t.Fatalf("only %d cues to check in 16 s", cues)
	}
}

// An outage during a capture comes out as silence in every file (each still as long as
// the wall time recorded) and as a gap in events.jsonl.
func TestRecordAcrossAnOutage(t *testing.T) {
	need(t, haveTool("ffprobe") && haveTool("opusinfo"), "ffprobe (ffmpeg) and opusinfo (opus-tools) are needed")
	url, base := startServer(t, "--replay-window", "1s")
	dir := filepath.Join(t.TempDir(), "rec")
	const secs = 16
	cmd := exec.Command(spacetuiBin(t), "record", url, "-o", dir, "--for", strconv.Itoa(secs)+"s", "--log", filepath.Join(t.TempDir(), "log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	faults(t, base, "abruptclose,overload")
	time.Sleep(3 * time.Second)
	faults(t, base, "none")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v", err)
	}
	// Who is heard depends on when the client gets back (Retry-After is 5-15 s): at least
	// the first speaker, before the outage.
	for _, f := range recordFiles(t, dir, 1) {
		if d := probeDuration(t, f, false); d < secs*0.99 || d > secs*1.01 {
			t.Errorf("%s: %.3f s, want %d s within 1%%", filepath.Base(f), d, secs)
		}
	}
	gaps := recordedGaps(t, dir)
	if len(gaps) == 0 {
		t.Fatalf("the outage was not logged as a gap: %v", events(t, dir))
	}
	t.Logf("gaps logged: %v", gaps)
}
