// Package statusbar draws the status line: the connection state in a listener's words
// (docs/reliability.md) and what comes next, the playback figures, the output device or its error,
// and the recording indicator. It keeps the figures as they are shown (whole seconds, a
// tenth of a percent), so the line is drawn again only when what it says changes.
package statusbar

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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
	// Queued says the wait is our turn in the server's queue (it gave a Retry-After):
	// the line says "server busy · your turn in ~40 s" rather than a retry countdown.
	Queued bool
	// ConfirmRetry says r was pressed once while queued: the line says what a second r
	// gives up.
	ConfirmRetry bool
}

// Model is the status line.
type Model struct {
	c     common.Common
	width int
	conn  conn
	audio audio
	flash string // a passing word: "saved FILE", "Ada 60%"
	isErr bool

	view  string // as last drawn; valid unless dirty
	dirty bool
}

// conn is the connection as shown: its clocks in whole seconds, or our turn as said.
type conn struct {
	Conn             // with RetryIn and NoDataFor zero
	retryIn   int    // rounded up, so "retry in 0 s" is never shown early; 0 while turn is said
	turn      string // "~40 s", "~3 min": when queued, until the turn comes
	noDataFor int
}

// audio is the part of a playback snapshot the line shows, as it shows it.
type audio struct {
	behindMs          int    // the room's delay behind live and playback's buffer
	loss              string // the loss in percent, to a tenth
	volume            int
	muted             bool
	output, outputErr string
	recording         bool
	recorded          time.Duration // in whole seconds
}

// New returns a status line that says "connecting".
func New(c common.Common) *Model {
	return &Model{c: c, conn: conn{Conn: Conn{State: transport.StateConnecting}}, dirty: true}
}

// SetSize sets the width; the status line is one line high.
func (m *Model) SetSize(width, _ int) { common.Set(&m.dirty, &m.width, width) }

// SetConn sets the connection state.
func (m *Model) SetConn(c Conn) {
	shown := conn{retryIn: int(math.Ceil(c.RetryIn.Seconds())), noDataFor: int(c.NoDataFor / time.Second)}
	if c.Queued && shown.retryIn > 0 {
		shown.turn, shown.retryIn = common.About(c.RetryIn), 0 // drawn again when the words change
	}
	c.RetryIn, c.NoDataFor = 0, 0
	shown.Conn = c
	common.Set(&m.dirty, &m.conn, shown)
}

// SetFlash sets a passing word shown after the state (in the error style when isErr),
// or none when empty. The root model decides how long it stays.
func (m *Model) SetFlash(text string, isErr bool) {
	common.Set(&m.dirty, &m.flash, text)
	common.Set(&m.dirty, &m.isErr, isErr)
}

// SetAudio sets the playback figures, the output and the recording.
func (m *Model) SetAudio(s session.Snapshot) {
	rec := s.Recording
	common.Set(&m.dirty, &m.audio, audio{
		behindMs:  int(s.BehindLive.Milliseconds()) + s.BufferMs,
		loss:      strconv.FormatFloat(s.LossPct, 'f', 1, 64),
		volume:    s.Volume,
		muted:     s.Muted,
		output:    s.Output,
		outputErr: s.OutputErr,
		recording: rec.Dir != "" && rec.Err == nil,
		recorded:  time.Duration(rec.Seconds * float64(time.Second)).Truncate(time.Second),
	})
}

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
		if a.outputErr != "" {
			parts = append(parts, st.Error.Render("no sound"))
		}
	}
	switch c.State {
	case transport.StateLive:
		parts = append(parts, st.Live.Render("● live"))
		if c.Detail != "" {
			// What the protocol says of this join: nobody publishes yet (so silence is not
			// mistaken for a quiet room), or a certificate remembered or not checked.
			add(c.Detail)
		}
		if c.Note != "" {
			add(c.Note)
		}
		outErr() // before the figures: they mean little without it
		add(behind(a.behindMs))
		add("loss " + a.loss + "%")
		m.volume(add)
		if a.outputErr == "" && a.output != "" {
			add("out: " + a.output)
		}
	case transport.StateReconnecting:
		what := words(c.Reason, "reconnecting")
		switch {
		case c.Queued:
			what = "server busy" // and it keeps us a place: no alarm in the words
		case c.Reason == transport.ReasonUnreachable && c.Detail != "":
			what = c.Detail // "cannot reach HOST:PORT (connection refused)": names the host
		}
		parts = append(parts, st.Trouble.Render("◌ "+what))
		switch {
		case c.turn != "":
			add("your turn in " + c.turn)
		case c.retryIn > 0:
			add(fmt.Sprintf("retry in %d s (attempt %d)", c.retryIn, c.Attempt))
		default:
			add(fmt.Sprintf("retrying (attempt %d)", c.Attempt))
		}
		switch {
		case c.CanRetry && c.ConfirmRetry:
			parts = append(parts, st.Error.Render("r again gives up your turn"))
		case c.CanRetry:
			add("r retry now")
		}
		outErr()
	case transport.StateStalled:
		parts = append(parts, st.Trouble.Render("◌ stalled"))
		add(fmt.Sprintf("no data for %d s", c.noDataFor))
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

// behind says how far playback is behind the live edge: the room's own delay (an HLS
// stream's few segments) and the jitter buffer's.
func behind(ms int) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms behind", ms)
	}
	return fmt.Sprintf("%.1f s behind", float64(ms)/1000)
}

func (m *Model) volume(add func(string)) {
	if m.audio.muted {
		add(fmt.Sprintf("muted (vol %d%%)", m.audio.volume))
		return
	}
	add(fmt.Sprintf("vol %d%%", m.audio.volume))
}

// View renders the status line, exactly one line of the set width. The recording
// indicator keeps its place on the right; the left part is cut first.
func (m *Model) View() string {
	if m.dirty {
		m.view, m.dirty = m.draw(), false
	}
	return m.view
}

func (m *Model) draw() string {
	right := ""
	if m.audio.recording {
		right = m.c.Styles.Rec.Render("● REC "+common.Clock(m.audio.recorded)) + " "
	}
	rw := lipgloss.Width(right)
	left := common.Truncate(m.left(), max(m.width-rw-1, 0))
	gap := m.width - lipgloss.Width(left) - rw
	if gap < 0 {
		return common.Fit(right, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}
