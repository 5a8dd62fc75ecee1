package audio

import "math"

// Volume bounds, in percent.
const (
	// MaxVolume is the loudest volume: 150 %.
	MaxVolume = 150
)

// limiterKnee is where the soft limiter starts bending the curve, 3/4 of full scale:
// below it samples pass untouched, above it they approach full scale but never reach it.
const limiterKnee = 24576

// Mixer sums speakers' frames into one, applies a volume and keeps the sum in range with
// a soft limiter, so that loud speakers together never wrap around int16. A Mixer is for
// one goroutine.
type Mixer struct {
	acc []int32
}

// NewMixer returns a mixer for frames of the given number of samples.
func NewMixer(samples int) *Mixer {
	return &Mixer{acc: make([]int32, samples)}
}

// Add sums one speaker's frame into the mix. A frame shorter than the mixer's counts as
// padded with silence; extra samples are ignored.
func (m *Mixer) Add(pcm []int16) {
	acc := m.acc[:min(len(m.acc), len(pcm))]
	for i, s := range pcm[:len(acc)] {
		acc[i] += int32(s)
	}
}

// AddAt sums one speaker's frame at volume percent (clamped to 0..MaxVolume), before the
// limiter, so a speaker turned up is bent with the rest rather than clipped on its own.
func (m *Mixer) AddAt(pcm []int16, volume int) {
	volume = min(max(volume, 0), MaxVolume)
	if volume == 100 {
		m.Add(pcm)
		return
	}
	acc := m.acc[:min(len(m.acc), len(pcm))]
	for i, s := range pcm[:len(acc)] {
		acc[i] += int32(s) * int32(volume) / 100
	}
}

// Mix writes the sum at volume percent (clamped to 0..MaxVolume) through the limiter
// into out, which must hold the mixer's frame. It leaves the sum in place: Reset starts
// the next frame.
func (m *Mixer) Mix(out []int16, volume int) {
	out = out[:len(m.acc)]
	volume = min(max(volume, 0), MaxVolume)
	if volume == 0 {
		clear(out)
		return
	}
	for i, s := range m.acc {
		out[i] = limit(int64(s) * int64(volume) / 100)
	}
}

// Reset clears the sum for the next frame.
func (m *Mixer) Reset() { clear(m.acc) }

// limit maps a sample of any size into int16: linear below the knee, then a tanh curve
// that approaches full scale smoothly.
func limit(x int64) int16 {
	if x >= -limiterKnee && x <= limiterKnee {
		return int16(x)
	}
	const room = math.MaxInt16 - limiterKnee
	a := float64(x)
	if a < 0 {
		a = -a
	}
	y := limiterKnee + room*math.Tanh((a-limiterKnee)/room)
	if x < 0 {
		return -int16(y)
	}
	return int16(y)
}
