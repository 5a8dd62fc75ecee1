package httpstream

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
)

// Bounds of a subtitle rendition. Subtitles are read on the audio's goroutine, between
// two audio segments, so one load of them (the playlist and its new segments) has a
// short deadline: a slow or broken subtitle server costs the audio at most that, and
// what was not read is read at the next reload.
const (
	maxSubtitleBytes = 1 << 20 // a subtitle segment
	maxSubtitleCues  = 2000    // cues waiting for their audio (a segment's cues among them)
	subtitleTimeout  = time.Second
)

// subtitles is the WebVTT subtitle rendition of a master playlist: its cues become
// final transcript segments, handed on among the frames of the audio they belong to.
//
// Both playlists are put on one time axis (timeline): by PROGRAM-DATE-TIME when both
// have it, else by their EXTINFs from the live edge at the join (both playlists end
// there), or from their start for a playlist that has ended. A cue's time in its file
// is on the media's timeline (shifted by X-TIMESTAMP-MAP); the first cue read fixes
// that timeline's offset to the axis by taking it to begin at the start of its segment,
// and every cue is kept within its own segment's span, so a cue is placed at most a
// segment from where it belongs.
type subtitles struct {
	u       *url.URL // the subtitle media playlist
	speaker string   // the stream's speaker, for cues without a voice

	started     bool // the audio's timeline
	loaded      bool // the subtitles' timeline
	audio, subs timeline
	from        time.Duration // the axis time of the first audio segment played
	next        uint64        // the number of the next subtitle segment to read
	recent      recentURIs

	anchored bool
	off      time.Duration // a cue's media time plus off is its time on the axis
	last     map[cueKey]bool
	pending  []subCue // cues read whose audio has not been handed on, by start

	failed bool // a failure was logged: later ones go to the debug log
}

// cueKey is what makes a cue listed in two segments (one that spans their boundary)
// the same cue.
type cueKey struct {
	start, end time.Duration // media time
	text       string
}

// subCue is a cue waiting for its audio, on the time axis.
type subCue struct {
	id, speaker, text string
	start, end        time.Duration
}

// timeline puts the segments of one playlist, over its reloads, on a time axis: by
// PROGRAM-DATE-TIME since date0 when dates are used and the segment has one, else
// right after the segment before it. The first load's end is at edge for a live
// playlist (its live edge then), its start at 0 for one that has ended.
type timeline struct {
	edge  time.Duration
	dates bool
	date0 time.Time
	at    map[uint64]time.Duration // the start of each segment of the last load
	next  uint64                   // the number after the last segment placed
	end   time.Duration            // where segment next starts
}

// newTimeline is the timeline of a playlist whose first load is pl and whose live
// edge is at edge: dated if pl's first segment is.
func newTimeline(pl *playlist, edge time.Duration) timeline {
	t := timeline{edge: edge}
	if len(pl.segments) > 0 && !pl.segments[0].date.IsZero() {
		t.dates, t.date0 = true, pl.segments[0].date.Add(-t.firstStart(pl))
	}
	return t
}

// firstStart is the time of the first segment of the first load, pl.
func (t *timeline) firstStart(pl *playlist) time.Duration {
	if pl.ended {
		return 0
	}
	d := t.edge
	for _, s := range pl.segments {
		d -= s.duration
	}
	return d
}

// load places the segments of pl.
func (t *timeline) load(pl *playlist) {
	if len(pl.segments) == 0 {
		return
	}
	at := make(map[uint64]time.Duration, len(pl.segments))
	for i, s := range pl.segments {
		p, ok := t.at[s.seq]
		switch {
		case ok:
		case t.dates && !s.date.IsZero():
			p = s.date.Sub(t.date0)
		case i > 0:
			prev := pl.segments[i-1]
			p = at[prev.seq] + prev.duration
		case len(t.at) == 0:
			p = t.firstStart(pl)
		case s.seq > t.next: // segments left the window unseen: a target duration each
			p = t.end + time.Duration(s.seq-t.next)*pl.target
		default:
			p = t.end
		}
		at[s.seq] = p
	}
	t.at = at
	last := pl.segments[len(pl.segments)-1]
	t.next, t.end = last.seq+1, at[last.seq]+last.duration
}

// newSubtitles is the subtitle rendition r of the master playlist at master, or nil
// when its URI is not one.
func newSubtitles(master *url.URL, r rendition, speaker string, log *slog.Logger) *subtitles {
	u, err := master.Parse(r.uri)
	if err != nil {
		log.Warn("httpstream: subtitles left out", "err", fmt.Errorf("URI %q: %w", clip(r.uri), err))
		return nil
	}
	return &subtitles{u: u, speaker: speaker}
}

// loadSubtitles reads the subtitle playlist and the segments it lists that are new and
// not before the audio's start, and keeps their cues for the audio. A failure is
// logged and left for the next reload; it never fails the audio.
func (c *hlsConn) loadSubtitles(ctx context.Context) {
	s := c.subs
	if s == nil {
		return
	}
	if !s.started {
		s.audio, s.started = newTimeline(c.pl, 0), true
	}
	s.audio.load(c.pl)
	ctx, cancel := context.WithTimeout(ctx, subtitleTimeout)
	defer cancel()
	b, err := c.getFrom(ctx, s.u, s.u.String(), maxPlaylistBytes)
	if err != nil {
		c.subtitleFailed(ctx, "playlist", err)
		return
	}
	pl, err := parsePlaylist(b)
	if err != nil {
		c.subtitleFailed(ctx, "playlist", err)
		return
	}
	if !s.loaded {
		s.subs = newTimeline(pl, s.audio.end)
		s.subs.dates, s.subs.date0 = s.audio.dates && s.subs.dates, s.audio.date0
		s.from = s.audio.end
		if len(c.queue) > 0 {
			s.from = s.audio.at[c.queue[0].seq]
		}
		s.loaded = true
	}
	s.subs.load(pl)
	for _, seg := range pl.segments {
		start := s.subs.at[seg.seq]
		if seg.seq < s.next || start+seg.duration <= s.from {
			continue
		}
		s.next = seg.seq + 1
		if s.recent.has(seg.uri) {
			continue
		}
		s.recent.add(seg.uri)
		b, err := c.getFrom(ctx, s.u, seg.uri, maxSubtitleBytes)
		if err == nil {
			err = s.read(seg, start, b)
		}
		if err != nil {
			c.subtitleFailed(ctx, fmt.Sprintf("segment %d", seg.seq), err)
		}
		if ctx.Err() != nil {
			return // the rest at the next reload
		}
	}
}

// read keeps the cues of the subtitle segment seg, which starts at start on the axis.
func (s *subtitles) read(seg segment, start time.Duration, b []byte) error {
	f, err := webvtt.Parse(b)
	if err != nil {
		return err
	}
	var shift time.Duration
	if f.TimestampMap != nil {
		shift = f.TimestampMap.Offset()
	}
	s.anchored = s.anchored && !seg.discont
	seen := make(map[cueKey]bool, len(f.Cues))
	for i, cue := range f.Cues {
		key := cueKey{cue.Start + shift, cue.End + shift, cue.Text}
		seen[key] = true
		if s.last[key] {
			continue // listed in the segment before too
		}
		if !s.anchored {
			s.off, s.anchored = start-key.start, true
		}
		if len(s.pending) == maxSubtitleCues {
			return fmt.Errorf("over %d cues waiting for their audio", maxSubtitleCues)
		}
		at := min(max(key.start+s.off, start), start+seg.duration)
		s.pending = append(s.pending, subCue{id: fmt.Sprintf("vtt-%d-%d", seg.seq, i),
			speaker: cmp(transport.Sanitize(cue.Voice, transport.MaxNameRunes), s.speaker),
			text:    cue.Text, start: at, end: at + cue.End - cue.Start})
	}
	s.last = seen
	slices.SortStableFunc(s.pending, func(a, b subCue) int { return int(a.start - b.start) })
	return nil
}

// due takes the cues that start by upTo into the audio segment seg, which starts
// at room time start, as final transcript segments on the room clock.
func (s *subtitles) due(seg segment, start uint64, upTo time.Duration) []transport.Event {
	if s == nil {
		return nil
	}
	p, ok := s.audio.at[seg.seq]
	if !ok {
		return nil
	}
	var evs []transport.Event
	for len(s.pending) > 0 && s.pending[0].start <= p+upTo {
		cue := s.pending[0]
		s.pending = s.pending[1:]
		at := max(samples(start)+cue.start-p, 0)
		evs = append(evs, transport.TranscriptSegment{ID: cue.id, Speaker: cue.speaker,
			Start: at, End: at + cue.end - cue.start, Text: cue.text, Final: true})
	}
	return evs
}

// subtitleFailed logs a failure to read the subtitles: the first as a warning, the
// rest at debug level, for a rendition that fails fails at every reload.
func (c *hlsConn) subtitleFailed(ctx context.Context, what string, err error) {
	level := slog.LevelDebug
	if !c.subs.failed {
		level, c.subs.failed = slog.LevelWarn, true
	}
	c.log.Log(ctx, level, "httpstream: subtitles left out", "what", what, "err", err)
}
