// Package statusbar draws the status line: the connection state in a listener's words
// (docs/reliability.md) and what comes next, the playback figures, the output device or its error,
// and the recording indicator.
package statusbar

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
)

// Conn is the connection as the status line tells it. The root model computes the
// time-dependent parts (RetryIn counts down, NoDataFor counts up) so this stays pure.
type Conn struct {
	State     transport.ConnState // the phase; its wording is chosen here
	Reason    string              // transport.Reason*, said in words
	Detail    string              // shown after the reason once the room has ended
	Attempt   int                 // failed attempts in this outage
	RetryIn   time.Duration       // time left before the next attempt
	NoDataFor time.Duration       // while stalled
	Note      string              // a passing remark once live again, e.g. "resumed, nothing lost"
	CanRetry  bool                // the r key works
}

// Model is the status line.
type Model struct {
	c     common.Common
	width int
	conn  Conn
	audio session.Snapshot
	flash string // a passing word: "saved FILE", "Ada 60%"
	isErr bool
}

// New returns a status line that says "connecting".
func New(c common.Common) *Model {
	return &Model{c: c, conn: Conn{State: transport.StateConnecting}}
}

// SetSize sets the width; the status line is one line high.
func (m *Model) SetSize(width, _ int) { m.width = width }

// SetConn sets the connection state.
func (m *Model) SetConn(c Conn) { m.conn = c }

// SetFlash sets a passing word shown after the state (in the error style when isErr),
// or none when empty. The root model decides how long it stays.
func (m *Model) SetFlash(text string, isErr bool) { m.flash, m.isErr = text, isErr }

// SetAudio sets the playback figures, the output and the recording.
func (m *Model) SetAudio(s session.Snapshot) { m.audio = s }

// reasonWords says a reconnect reason the way a listener would.
var reasonWords = map[string]string{
	transport.ReasonOverloaded:   "server overloaded",
	transport.ReasonDropped:      "connection lost",
	transport.ReasonUnreachable:  "cannot reach the server",
	transport.ReasonRestart:      "server restarting",
	transport.ReasonStalled:      "connection stalled",
	transport.ReasonUnauthorized: "not authorized",
	transport.ReasonNotFound:     "room not found",
	transport.ReasonRoomEnded:    "the room has ended",
	transport.ReasonLeft:         "you left",
}

// words is the listener's wording of reason, or the reason itself when it is new to us.
func words(reason, fallback string) string {
	if w, ok := reasonWords[reason]; ok {
		return w
	}
	if reason != "" {
		return reason
	}
	return fallback
}

// seconds rounds a wait up to whole seconds, so "retry in 0 s" is never shown early.
func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// left is the state and the figures, joined by " · ".
func (m *Model) left() string {
	st := m.c.Styles
	sep := st.Status.Render(" · ")
	c, a := m.conn, m.audio
	var parts []string
	add := func(s string) { parts = append(parts, st.Status.Render(s)) }
	// Without a sound device nothing is heard: say so, shortly; the detail is in the
	// help (?) and the log, for the status line has no room for a driver's sentence.
	outErr := func() {
		if a.OutputErr != "" {
			parts = append(parts, st.Error.Render("no sound"))
		}
	}
	switch c.State {
	case transport.StateLive:
		parts = append(parts, st.Live.Render("● live"))
		if c.Reason == transport.ReasonNoSpeakers && c.Detail != "" {
			add(c.Detail) // joined, but nobody is publishing yet: say so rather than sound like silence
		}
		if c.Note != "" {
			add(c.Note)
		}
		outErr() // before the figures: they mean little without it
		add(behind(a.BufferMs))
		add(fmt.Sprintf("loss %.1f%%", a.LossPct))
		m.volume(add)
		if a.OutputErr == "" && a.Output != "" {
			add("out: " + a.Output)
		}
	case transport.StateReconnecting:
		what := words(c.Reason, "reconnecting")
		if c.Reason == transport.ReasonUnreachable && c.Detail != "" {
			what = c.Detail // "cannot reach HOST:PORT (connection refused)": names the host
		}
		parts = append(parts, st.Trouble.Render("◌ "+what))
		if s := seconds(c.RetryIn); s > 0 {
			add(fmt.Sprintf("retry in %d s (attempt %d)", s, c.Attempt))
		} else {
			add(fmt.Sprintf("retrying (attempt %d)", c.Attempt))
		}
		if c.CanRetry {
			add("r retry now")
		}
		outErr()
	case transport.StateStalled:
		parts = append(parts, st.Trouble.Render("◌ stalled"))
		add(fmt.Sprintf("no data for %d s", int(c.NoDataFor/time.Second)))
		outErr()
	case transport.StateEnded:
		text := "■ ended · " + words(c.Reason, "the room has ended")
		if c.Detail != "" && c.Reason != transport.ReasonLeft {
			text += ": " + c.Detail
		}
		parts = append(parts, st.Ended.Render(text))
	default:
		parts = append(parts, st.Trouble.Render("◌ connecting…"))
		outErr()
	}
	if m.flash != "" {
		flash := st.Status.Render(m.flash)
		if m.isErr {
			flash = st.Error.Render(m.flash)
		}
		parts = slices.Insert(parts, 1, flash)
	}
	return " " + strings.Join(parts, sep)
}

// behind says how far playback is behind the live edge: the jitter buffer's delay.
func behind(ms int) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms behind", ms)
	}
	return fmt.Sprintf("%.1f s behind", float64(ms)/1000)
}

func (m *Model) volume(add func(string)) {
	if m.audio.Muted {
		add(fmt.Sprintf("muted (vol %d%%)", m.audio.Volume))
		return
	}
	add(fmt.Sprintf("vol %d%%", m.audio.Volume))
}

// View renders the status line, exactly one line of the set width. The recording
// indicator keeps its place on the right; the left part is cut first.
func (m *Model) View() string {
	right := ""
	if rec := m.audio.Recording; rec.Dir != "" && rec.Err == nil {
		right = m.c.Styles.Rec.Render("● REC "+common.Clock(time.Duration(rec.Seconds*float64(time.Second)))) + " "
	}
	rw := lipgloss.Width(right)
	left := common.Truncate(m.left(), max(m.width-rw-1, 0))
	gap := m.width - lipgloss.Width(left) - rw
	if gap < 0 {
		return common.Fit(right, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}
