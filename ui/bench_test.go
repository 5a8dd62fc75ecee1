package ui

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/session"
)

// BenchmarkView is the TUI's work per frame in a live room: one playback snapshot
// through Update and the View Bubble Tea asks for after it, on the 20 Hz tick. In the
// talking room Ada and then Grace speak in syllables (their meters fed as the pipeline
// feeds them), then the room pauses; in the quiet room nobody speaks. changed/op is the
// share of frames whose content differs from the frame before: Bubble Tea parses and
// diffs each of those cell by cell, and skips a frame equal to the last one.
func BenchmarkView(b *testing.B) {
	for _, room := range []struct {
		name   string
		frames []session.Snapshot
	}{{"talking", talkingFrames(newPlayback().snap, true)}, {"quiet", talkingFrames(newPlayback().snap, false)}} {
		for _, sz := range []struct{ w, h int }{{80, 24}, {200, 50}} {
			b.Run(fmt.Sprintf("%s/%dx%d", room.name, sz.w, sz.h), func(b *testing.B) {
				f := newFixture(b, false)
				f.size(sz.w, sz.h)
				at := t0
				f.m.now = func() time.Time { return at }
				last, changed := f.view(), 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					at = at.Add(TickInterval)
					f.m.Update(snapshotMsg{snap: room.frames[i%len(room.frames)]})
					if v := f.view(); v != last {
						last = v
						changed++
					}
				}
				b.ReportMetric(float64(changed)/float64(b.N), "changed/op")
			})
		}
	}
}

// talkingFrames is 20 s of snapshots, one per tick: with talk, Ada speaks for 9 s and
// Grace for 9 s, in syllables of -30 to -10 dBFS with short pauses, and then nobody for
// 2 s; without, nobody at all. The levels come from audio.Meter fed 20 ms frames, as the
// pipeline's meters are, the recording clock runs, and the playout delay wanders between
// 35 and 46 ms, as the demo room's does from one tick to the next.
func talkingFrames(base session.Snapshot, talk bool) []session.Snapshot {
	const (
		frame = 20 * time.Millisecond
		total = 20 * time.Second
	)
	rng := rand.New(rand.NewPCG(1, 2))
	meters := []*audio.Meter{audio.NewMeter(), audio.NewMeter(), audio.NewMeter()}
	pcm := make([]int16, 960)
	var amp [3]int16
	var left [3]time.Duration // of the current syllable or pause
	var out []session.Snapshot
	for at := time.Duration(0); at < total; at += frame {
		talker := -1 // ada, grace, or nobody
		switch {
		case !talk:
		case at < 9*time.Second:
			talker = 0
		case at < 18*time.Second:
			talker = 1
		}
		for i, m := range meters {
			if left[i] <= 0 {
				left[i] = time.Duration(50+rng.IntN(200)) * time.Millisecond
				amp[i] = 0
				if i == talker && rng.IntN(3) > 0 { // a syllable; else a pause
					amp[i] = int16(32768 * dBFS(-30+20*rng.Float64()))
				}
			}
			left[i] -= frame
			if i != talker {
				amp[i] = 0
			}
			for k := range pcm {
				pcm[k] = amp[i]
			}
			m.Update(pcm)
		}
		if (at+frame)%TickInterval >= frame { // no tick ends inside this frame
			continue
		}
		s := base
		s.Speakers = []audio.SpeakerLevel{
			{ID: "ada", Level: meters[0].Level(), Talking: meters[0].Talking()},
			{ID: "grace", Level: meters[1].Level(), Talking: meters[1].Talking()},
			{ID: "linus", Level: meters[2].Level(), Talking: meters[2].Talking()},
		}
		s.Recording.Seconds += (at + frame).Seconds()
		s.BufferMs = 35 + rng.IntN(12)
		out = append(out, s)
	}
	return out
}

// dBFS is the amplitude of a level in decibels below full scale.
func dBFS(db float64) float64 { return math.Pow(10, db/20) }
