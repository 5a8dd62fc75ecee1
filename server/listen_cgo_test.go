//go:build cgo

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListenOgg fetches 3 s of the live mix and checks it with ffprobe (and opusinfo
// when installed). It runs on the real clock.
func TestListenOgg(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe not installed (apt-get install ffmpeg)")
	}
	ts := startServer(t, Config{}, nil)
	rm := ts.rooms[DemoRoomID]

	fetch := func(path string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ts.addr+"/rooms/demo/listen.ogg", nil)
		if err != nil {
			t.Error(err)
			return ""
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "audio/ogg" {
			t.Errorf("%s, Content-Type %q", resp.Status, ct)
		}
		b, _ := io.ReadAll(resp.Body) // ends with the deadline: the stream never does
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Error(err)
		}
		return path
	}
	dir := t.TempDir()
	paths := make(chan string, 2)
	for i := range 2 { // two clients share one mix, each with its own stream
		go func() { paths <- fetch(filepath.Join(dir, []string{"a.ogg", "b.ogg"}[i])) }()
	}
	a, b := <-paths, <-paths
	if t.Failed() {
		return
	}
	for _, path := range []string{a, b} {
		out, err := exec.Command(ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", path).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", path, err)
		}
		var probe struct {
			Streams []struct {
				CodecName  string `json:"codec_name"`
				SampleRate string `json:"sample_rate"`
				Channels   int    `json:"channels"`
			} `json:"streams"`
			Format struct {
				Duration string `json:"duration"`
			} `json:"format"`
		}
		if err := json.Unmarshal(out, &probe); err != nil {
			t.Fatal(err)
		}
		if len(probe.Streams) != 1 || probe.Streams[0].CodecName != "opus" || probe.Streams[0].SampleRate != "48000" ||
			probe.Streams[0].Channels != 1 {
			t.Errorf("%s: %s", path, out)
		}
		var secs float64
		if _, err := fmt.Sscan(probe.Format.Duration, &secs); err != nil || secs < 2 || secs > 3.5 {
			t.Errorf("%s lasts %q s", path, probe.Format.Duration)
		}
		// The mix carries speech, not silence: the demo speaks within its first 0.3 s.
		if ffmpeg, err := exec.LookPath("ffmpeg"); err == nil {
			out, _ := exec.Command(ffmpeg, "-hide_banner", "-i", path, "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
			var maxDB float64
			if _, after, ok := strings.Cut(string(out), "max_volume: "); !ok {
				t.Errorf("ffmpeg volumedetect: %s", out)
			} else if _, err := fmt.Sscan(after, &maxDB); err != nil || maxDB < -30 {
				t.Errorf("%s: max volume %v dB: silent?", path, maxDB)
			}
		}
		if opusinfo, err := exec.LookPath("opusinfo"); err == nil {
			// opusinfo exits 1 for a stream without EOS, which is every cut live stream;
			// any other warning or error is a real fault.
			out, _ := exec.Command(opusinfo, path).CombinedOutput()
			for _, line := range strings.Split(string(out), "\n") {
				if (strings.Contains(line, "WARNING") || strings.Contains(line, "ERROR")) && !strings.Contains(line, "EOS not set") {
					t.Errorf("opusinfo %s: %s", path, line)
				}
			}
		}
	}
	// The mix stops with its last client.
	eventually(t, "the mix to stop", func() bool {
		rm.mixMu.Lock()
		defer rm.mixMu.Unlock()
		return rm.mix == nil && rm.mixUses == 0
	})
}
