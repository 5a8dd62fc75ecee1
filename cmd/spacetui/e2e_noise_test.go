package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// soundNoise matches what ALSA and JACK print while PortAudio probes for devices.
var soundNoise = regexp.MustCompile(`(?m)^(ALSA lib |jack server |Jack|Cannot connect to server)`)

// TestSoundLibrariesKeepQuiet runs what opens PortAudio and checks that the sound
// libraries' probing (80 lines of "ALSA lib ..." and "jack server is not running" on a
// machine with PulseAudio and no card) stays off stderr.
func TestSoundLibrariesKeepQuiet(t *testing.T) {
	need(t, pulseReady(), "PulseAudio with the null sink spk (scripts/pulse-null.sh)")
	bin := spacetuiBin(t)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\nstderr: %s", args[0], err, stderr.String())
		}
		if noise := soundNoise.FindAllString(stderr.String(), -1); len(noise) > 0 {
			t.Errorf("%s: %d lines of sound library noise on stderr:\n%s", args[0], len(noise), stderr.String())
		}
		return string(out)
	}
	t.Run("devices", func(t *testing.T) {
		if out := run(t, "devices"); !strings.Contains(out, "[default]") {
			t.Errorf("devices lists no default output:\n%s", out)
		}
	})
	t.Run("headless join", func(t *testing.T) {
		url, _ := startServer(t)
		if out := run(t, "join", url, "--headless", "--for", "2s"); !strings.Contains(out, "live") {
			t.Errorf("the headless join never went live:\n%s", out)
		}
	})
}
