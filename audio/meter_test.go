package audio

import (
	"math"
	"testing"
)

func sine(amp float64, n int) []int16 {
	p := make([]int16, n)
	for i := range p {
		p[i] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(i)/SampleRate))
	}
	return p
}

func TestLevel(t *testing.T) {
	tests := []struct {
		name     string
		pcm      []int16
		min, max float64
	}{
		{"silence", make([]int16, FrameSamples), 0, 0},
		{"nothing", nil, 0, 0},
		{"full-scale square", constant(32767, FrameSamples), 0.999, 1},
		{"sine at -20 dBFS peak (-23 dBFS RMS)", sine(0.1, FrameSamples), 0.60, 0.63},
		{"sine at -60 dBFS peak is the floor", sine(0.001, FrameSamples), 0, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Level(tt.pcm); got < tt.min || got > tt.max {
				t.Errorf("Level = %.3f, want %.3f..%.3f", got, tt.min, tt.max)
			}
		})
	}
}

func TestMeterTalkingHangover(t *testing.T) {
	m := NewMeter()
	if m.Talking() || m.Level() != 0 {
		t.Fatal("a new meter is not silent")
	}
	loud := sine(0.3, FrameSamples)
	m.Update(loud)
	if !m.Talking() || m.Level() < 0.7 {
		t.Fatalf("after a loud frame: talking %v, level %.2f", m.Talking(), m.Level())
	}
	peak := m.Level()
	for i := 1; i <= 16; i++ {
		m.Update(nil)
		wantTalking := i < talkingHangover // 300 ms
		if m.Talking() != wantTalking {
			t.Fatalf("%d quiet frames later: talking %v, want %v", i, m.Talking(), wantTalking)
		}
	}
	if got := m.Level(); got >= peak || got < peak-16*meterRelease-1e-9 {
		t.Errorf("level fell from %.3f to %.3f in 320 ms, want a smooth release", peak, got)
	}
}
