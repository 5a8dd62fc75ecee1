// Package headless is the front end without a TUI: one human line per event on stdout,
// or, with JSON, one JSON event line each (the schema of docs/architecture.md, shared
// with the recording's events.jsonl); who is speaking and the playback figures on their
// own ticks; and, when capturing, a progress line on stderr.
package headless

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/jsonl"
	"github.com/spacetui/spacetui/ui/common"
)

// Intervals of the headless output.
const (
	speakingPoll  = 100 * time.Millisecond
	statsInterval = 5 * time.Second
)

// Frontend prints a room without a TUI. Its zero value prints human lines to nothing;
// set Stdout.
type Frontend struct {
	// Stdout gets the event lines.
	Stdout io.Writer
	// JSON makes Stdout carry only JSON lines.
	JSON bool
	// Progress gets the capture's progress line every 5 s (human lines only); nil
	// prints none.
	Progress io.Writer
	// Now is the clock of the lines' times; nil means time.Now.
	Now func() time.Time
}

var _ session.Frontend = Frontend{}

// output is what the front end prints to: JSON lines or human lines.
type output interface {
	event(ev transport.Event)
	speaking(ids []string)
	stats(snap session.Snapshot)
	record(st record.Stats, state transport.ConnState)
}

// Run prints events until the room's event stream ends or ctx is done, and who is
// speaking and the playback figures on their own ticks.
func (f Frontend) Run(ctx context.Context, h *session.Hub) error {
	now := f.Now
	if now == nil {
		now = time.Now
	}
	var out output
	if f.JSON {
		out = jsonOutput{jsonl.NewWriter(f.Stdout, now)}
	} else {
		progress := f.Progress
		if progress == nil {
			progress = io.Discard
		}
		out = &textOutput{w: f.Stdout, progress: progress, now: now, names: map[string]string{}}
	}
	poll := time.NewTicker(speakingPoll)
	defer poll.Stop()
	stats := time.NewTicker(statsInterval)
	defer stats.Stop()
	var (
		talking   []string
		state     = transport.StateConnecting
		recFailed bool
		decoding  = h.Snapshot().Decoding
	)
	if !decoding {
		poll.Stop() // no decoding, so nobody is heard talking
	}
	for {
		select {
		case ev, ok := <-h.Events():
			if !ok {
				return nil
			}
			switch e := ev.(type) {
			case transport.State:
				state = e.State
			case transport.ActiveSpeakers:
				// The protocol's hint stands in only where nothing is decoded.
				if !decoding && !slices.Equal(e.IDs, talking) {
					talking = e.IDs
					out.speaking(e.IDs)
				}
			}
			out.event(ev)
		case <-poll.C:
			now := talkingIDs(h.Snapshot())
			if !slices.Equal(now, talking) {
				talking = now
				out.speaking(now)
			}
		case <-stats.C:
			snap := h.Snapshot()
			if snap.Decoding {
				out.stats(snap)
			}
			if st := snap.Recording; st.Dir != "" {
				if st.Err != nil && !recFailed {
					recFailed = true
					h.Notice(fmt.Sprintf("recording stopped: %v (the session goes on)", st.Err))
				}
				out.record(st, state)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type jsonOutput struct{ w *jsonl.Writer }

func (o jsonOutput) event(ev transport.Event) { _ = o.w.Event(ev) }

func (o jsonOutput) speaking(ids []string) {
	_ = o.w.Write("speaking", jsonl.Fields{"speakers": ids})
}

func (o jsonOutput) record(st record.Stats, _ transport.ConnState) {
	_ = o.w.Write("record", jsonl.Fields{"path": st.Dir, "bytes": st.Bytes, "seconds": st.Seconds})
}

func (o jsonOutput) stats(st session.Snapshot) {
	_ = o.w.Write("stats", jsonl.Fields{"frames": st.Frames, "lost": st.Lost,
		"duplicates": st.Duplicates, "underruns": st.Underruns, "loss_pct": st.LossPct, "buffer_ms": st.BufferMs})
}

// textOutput prints one human line per transition, final caption and stats tick.
type textOutput struct {
	w        io.Writer
	progress io.Writer // the capture's progress lines (stderr), or io.Discard
	now      func() time.Time
	names    map[string]string // speaker id -> display name
	title    string
}

func (o *textOutput) printf(format string, args ...any) {
	fmt.Fprintf(o.w, o.now().Format("15:04:05")+" "+format+"\n", args...)
}

func (o *textOutput) event(ev transport.Event) {
	switch e := ev.(type) {
	case transport.RoomInfo:
		if e.Title != o.title {
			o.title = e.Title
			o.printf("room %q (%s), %d listening", e.Title, e.ID, e.Listeners)
		}
	case transport.Roster:
		clear(o.names)
		parts := make([]string, 0, len(e.Speakers))
		for _, sp := range e.Speakers {
			o.names[sp.ID] = sp.Name
			p := sp.Name
			if sp.Role != "" {
				p += " (" + sp.Role + ")"
			}
			if sp.Muted {
				p += " [muted]"
			}
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			parts = append(parts, "none yet")
		}
		o.printf("speakers: %s", strings.Join(parts, ", "))
	case transport.TranscriptSegment:
		if e.Final {
			o.printf("%s: %s", o.name(e.Speaker), e.Text)
		}
	case transport.State:
		o.printf("%s", stateLine(e))
	case transport.Gap:
		o.printf("gap: %.1f s lost (%s)", e.Seconds(), e.Why)
	}
}

func (o *textOutput) name(id string) string {
	if n, ok := o.names[id]; ok {
		return n
	}
	return id
}

func (o *textOutput) speaking(ids []string) {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = o.name(id)
	}
	if len(names) == 0 {
		names = []string{"nobody"}
	}
	o.printf("speaking: %s", strings.Join(names, ", "))
}

func (o *textOutput) record(st record.Stats, state transport.ConnState) {
	d := time.Duration(st.Seconds * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(o.progress, "recording %s · %s · %s · %d speakers · %s\n", st.Dir, d, record.ByteSize(st.Bytes), st.Speakers, state)
}

func (o *textOutput) stats(st session.Snapshot) {
	o.printf("stats: %d frames, %d lost (%.1f%%), buffer %d ms", st.Frames, st.Lost, st.LossPct, st.BufferMs)
}

// stateLine says a connection state in the words of the status bar.
func stateLine(e transport.State) string {
	switch e.State {
	case transport.StateReconnecting:
		what := map[string]string{
			transport.ReasonOverloaded:  "server overloaded",
			transport.ReasonRestart:     "server restarting",
			transport.ReasonStalled:     "connection stalled",
			transport.ReasonUnreachable: e.Detail, // "cannot reach HOST:PORT (connection refused)"
		}[e.Reason]
		if what == "" {
			what = "connection lost"
		}
		switch {
		case e.RetryIn <= 0:
			return fmt.Sprintf("%s · retrying (attempt %d)", what, e.Attempt)
		case e.RetryAfter > 0: // a place in the server's queue
			return fmt.Sprintf("server busy · your turn in %s (attempt %d)", common.About(e.RetryIn), e.Attempt)
		}
		return fmt.Sprintf("%s · retry in %s (attempt %d)", what, e.RetryIn.Round(100*time.Millisecond), e.Attempt)
	case transport.StateEnded:
		if e.Detail != "" {
			return fmt.Sprintf("ended · %s: %s", e.Reason, e.Detail) // cleaned by transport.Clean
		}
		return "ended · " + e.Reason
	case transport.StateLive:
		if e.Detail != "" {
			return "live · " + e.Detail // e.g. "nobody is publishing in this room yet"
		}
	}
	return string(e.State)
}

// talkingIDs lists who is talking now, from the decoded audio level, sorted.
func talkingIDs(snap session.Snapshot) []string {
	ids := []string{} // never null in JSON
	for _, sp := range snap.Speakers {
		if sp.Talking {
			ids = append(ids, sp.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
