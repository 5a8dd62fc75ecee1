//go:build cgo

package audio

import (
	"context"
	"testing"
	"time"
)

// TestPortAudioSink plays half a second to the default device. It needs a sound device;
// CI provides PulseAudio with a null sink (scripts/pulse-null.sh), elsewhere it skips.
func TestPortAudioSink(t *testing.T) {
	devs, err := Devices()
	if err != nil || len(devs) == 0 {
		t.Skipf("no audio output devices (%v); CI runs PulseAudio with a null sink", err)
	}
	s, err := OpenSink("default")
	if err != nil {
		t.Skipf("the default device does not open here: %v", err)
	}
	if s.Name() == "" {
		t.Error("no name")
	}
	tone := sine(0.1, FrameSamples)
	start := time.Now()
	for i := 0; i < 25; i++ {
		if err := s.Write(context.Background(), tone); err != nil {
			t.Fatal(err)
		}
	}
	// Write blocks at the device's pace: 500 ms of audio minus the ring's 60 ms. Only
	// the lower bound says anything about pacing; the upper one catches a hang, with
	// room for a sound server that starts slowly on a busy machine.
	if took := time.Since(start); took < 300*time.Millisecond || took > 15*time.Second {
		t.Errorf("25 frames took %v, want about 440 ms", took)
	}
	t.Logf("%s: %d underruns", s.Name(), s.(*portAudioSink).Underruns())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := OpenSink("no such device anywhere"); err == nil {
		t.Error("an unknown device opened")
	}
}
