package session

import (
	"context"
	"errors"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/ui"
)

// runTUI runs the Bubble Tea program until the user quits, the event stream ends or ctx
// is done (--for, SIGTERM).
func (s *Session) runTUI(ctx context.Context) error {
	m := ui.New(ui.Options{
		Events:   s.events,
		Playback: playback{s},
		RetryNow: s.retryNow,
		NoColor:  s.cfg.NoColor,
	})
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler()}
	if s.cfg.Stdin != nil {
		opts = append(opts, tea.WithInput(s.cfg.Stdin))
	}
	if s.cfg.Stdout != nil {
		opts = append(opts, tea.WithOutput(s.cfg.Stdout))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// playback is the UI's view of the audio pipeline.
type playback struct{ s *Session }

var _ ui.Playback = playback{}

func (p playback) Snapshot() ui.PlaybackSnapshot {
	snap := p.s.pipe.Snapshot()
	levels := make(map[string]ui.SpeakerLevel, len(snap.Speakers))
	for _, sp := range snap.Speakers {
		levels[sp.ID] = ui.SpeakerLevel{Level: sp.Level, Talking: sp.Talking}
	}
	var recDir string
	var recFor time.Duration
	if rec := p.s.rec.Load(); rec != nil {
		st := rec.Stats()
		if st.Err == nil {
			recDir, recFor = st.Dir, time.Duration(st.Seconds*float64(time.Second))
		}
	}
	return ui.PlaybackSnapshot{
		Recording: recDir, RecordingFor: recFor,
		Levels:    levels,
		BufferMs:  snap.BufferMs,
		LossPct:   snap.LossPct,
		Volume:    snap.Volume,
		Muted:     snap.Muted,
		Output:    p.s.output,
		OutputErr: p.s.outErr,
	}
}

func (p playback) SetVolume(pct int)                     { p.s.pipe.SetVolume(pct) }
func (p playback) SetMuted(muted bool)                   { p.s.pipe.SetMuted(muted) }
func (p playback) SetSpeakerMuted(id string, muted bool) { p.s.pipe.SetSpeakerMuted(id, muted) }

// talkingIDs lists who is talking now, from the decoded audio level, sorted.
func talkingIDs(snap audio.Snapshot) []string {
	ids := []string{} // never null in JSON
	for _, sp := range snap.Speakers {
		if sp.Talking {
			ids = append(ids, sp.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
