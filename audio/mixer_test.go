package audio

import (
	"math"
	"testing"
)

func constant(v int16, n int) []int16 {
	p := make([]int16, n)
	for i := range p {
		p[i] = v
	}
	return p
}

func TestMixer(t *testing.T) {
	tests := []struct {
		name   string
		inputs [][]int16
		volume int
		want   func(got int16) bool
		desc   string
	}{
		{"one speaker at 100%", [][]int16{constant(1000, 4)}, 100, func(v int16) bool { return v == 1000 }, "1000"},
		{"two speakers sum", [][]int16{constant(1000, 4), constant(-300, 4)}, 100, func(v int16) bool { return v == 700 }, "700"},
		{"volume 50%", [][]int16{constant(1000, 4)}, 50, func(v int16) bool { return v == 500 }, "500"},
		{"volume 150%", [][]int16{constant(1000, 4)}, 150, func(v int16) bool { return v == 1500 }, "1500"},
		{"volume above 150 is clamped", [][]int16{constant(1000, 4)}, 400, func(v int16) bool { return v == 1500 }, "1500"},
		{"volume 0 is silent", [][]int16{constant(1000, 4)}, 0, func(v int16) bool { return v == 0 }, "0"},
		{"loud sum is limited, not wrapped", [][]int16{constant(30000, 4), constant(30000, 4), constant(30000, 4)}, 150, func(v int16) bool { return v > 32000 }, "just under full scale"},
		{"loud negative sum is limited", [][]int16{constant(-32768, 4), constant(-32768, 4)}, 100, func(v int16) bool { return v < -32000 }, "just over negative full scale"},
		{"a short frame counts as padded", [][]int16{constant(1000, 2), constant(1000, 4)}, 100, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMixer(4)
			for _, in := range tt.inputs {
				m.Add(in)
			}
			out := make([]int16, 4)
			m.Mix(out, tt.volume)
			if tt.want == nil {
				if out[0] != 2000 || out[3] != 1000 {
					t.Errorf("got %v, want [2000 2000 1000 1000]", out)
				}
				return
			}
			for _, v := range out {
				if !tt.want(v) {
					t.Fatalf("got %v, want %s", out, tt.desc)
				}
			}
		})
	}
}

func TestLimiterIsMonotonicAndBounded(t *testing.T) {
	prev := int16(math.MinInt16)
	for x := int64(-200000); x <= 200000; x += 7 {
		y := limit(x)
		if y < prev {
			t.Fatalf("limit(%d) = %d after %d: not monotonic", x, y, prev)
		}
		prev = y
		if x >= -limiterKnee && x <= limiterKnee && int64(y) != x {
			t.Fatalf("limit(%d) = %d below the knee", x, y)
		}
	}
}

func TestMixerReset(t *testing.T) {
	m := NewMixer(2)
	m.Add(constant(100, 2))
	m.Reset()
	out := make([]int16, 2)
	m.Mix(out, 100)
	if out[0] != 0 {
		t.Fatalf("after Reset got %v", out)
	}
}

// BenchmarkMixer mixes four speakers into one 20 ms frame.
func BenchmarkMixer(b *testing.B) {
	m := NewMixer(FrameSamples)
	in := make([][]int16, 4)
	for i := range in {
		in[i] = make([]int16, FrameSamples)
		for j := range in[i] {
			in[i][j] = int16(12000 * math.Sin(float64(j*(i+1))/20))
		}
	}
	out := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		m.Reset()
		for _, p := range in {
			m.Add(p)
		}
		m.Mix(out, 120)
	}
}

// A speaker's own volume scales only its share of the sum, and a speaker turned up past
// full scale goes through the limiter with the rest instead of being clipped alone.
func TestMixerAddAt(t *testing.T) {
	m := NewMixer(2)
	m.AddAt(constant(1000, 2), 50)
	m.AddAt(constant(1000, 2), 100)
	out := make([]int16, 2)
	m.Mix(out, 100)
	if out[0] != 1500 {
		t.Fatalf("half of 1000 plus 1000 = %d, want 1500", out[0])
	}
	m.Reset()
	m.AddAt(constant(30000, 2), 150)
	m.Mix(out, 100)
	if out[0] <= limiterKnee || out[0] >= 32767 || out[0] != limit(45000) {
		t.Fatalf("30000 at 150%% = %d, want the limiter's %d", out[0], limit(45000))
	}
}
