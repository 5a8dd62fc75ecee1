package audio

import (
	"math"
	"sync/atomic"
)

// Meter scale and talking detection.
const (
	// MeterFloorDB is the level shown as an empty meter, in dBFS; 0 dBFS is a full one.
	MeterFloorDB = -60
	// TalkingLevel is the meter level, on the 0..1 scale, above which a speaker is
	// talking: -39 dBFS, well above a quiet room's noise and PLC tails.
	TalkingLevel = 0.35
	// talkingHangover is how many frames a speaker stays talking after the last loud
	// one: 300 ms, so the indicator does not flicker between words.
	talkingHangover = 15
	// meterRelease is how far the shown level may fall per 20 ms frame: a bar that
	// drops smoothly (about 70 dB per second) instead of flickering.
	meterRelease = 0.025
)

// Level returns the loudness of a frame for a bar meter: its RMS in dBFS mapped from
// MeterFloorDB..0 onto 0..1.
func Level(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	rms := math.Sqrt(sum/float64(len(pcm))) / 32768
	if rms == 0 {
		return 0
	}
	db := 20 * math.Log10(rms)
	return min(max((db-MeterFloorDB)/-MeterFloorDB, 0), 1)
}

// Meter follows one speaker's level and whether they are talking. Update is called by
// the playout goroutine once per frame; Level and Talking may be read from any goroutine
// at any rate, without locks.
type Meter struct {
	level   atomic.Uint64 // math.Float64bits of the shown level
	talking atomic.Bool
	shown   float64 // owned by the updating goroutine
	quiet   int     // frames since the last loud one
	instant float64 // level of the last frame
}

// NewMeter returns a meter at silence.
func NewMeter() *Meter {
	return &Meter{quiet: talkingHangover}
}

// Update measures the next 20 ms frame; nil means silence.
func (m *Meter) Update(pcm []int16) {
	m.instant = Level(pcm)
	m.shown = max(m.instant, m.shown-meterRelease)
	if m.instant >= TalkingLevel {
		m.quiet = 0
	} else if m.quiet < talkingHangover {
		m.quiet++
	}
	m.level.Store(math.Float64bits(m.shown))
	m.talking.Store(m.quiet < talkingHangover)
}

// Quiet reports whether the last frame was below the talking level. It is for the
// updating goroutine: the jitter buffer corrects its delay in quiet frames.
func (m *Meter) Quiet() bool { return m.instant < TalkingLevel }

// Level returns the level to show, 0..1, falling smoothly after a peak.
func (m *Meter) Level() float64 { return math.Float64frombits(m.level.Load()) }

// Talking reports whether the speaker is talking: a frame above TalkingLevel within the
// last 300 ms.
func (m *Meter) Talking() bool { return m.talking.Load() }
