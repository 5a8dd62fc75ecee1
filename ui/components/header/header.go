// Package header draws the top line: program name, LIVE badge, room title, listener
// count and the time since the room started. The line is drawn again only when one of
// these changes, the clock once a second.
package header

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/ui/common"
)

// Model is the header line.
type Model struct {
	c         common.Common
	width     int
	title     string
	listeners int
	known     bool // a RoomInfo has arrived
	ended     bool
	offline   bool          // reconnecting or stalled: the room goes on without us
	elapsed   time.Duration // in whole seconds, as the clock shows it
	started   bool          // the room's start time is known

	view  string // as last drawn; valid unless dirty
	dirty bool
}

// New returns an empty header.
func New(c common.Common) *Model { return &Model{c: c, dirty: true} }

// SetSize sets the width; the header is always one line high.
func (m *Model) SetSize(width, _ int) { common.Set(&m.dirty, &m.width, width) }

// SetRoom sets the room title (already bounded) and listener count.
func (m *Model) SetRoom(title string, listeners int) {
	common.Set(&m.dirty, &m.title, title)
	common.Set(&m.dirty, &m.listeners, listeners)
	common.Set(&m.dirty, &m.known, true)
}

// SetEnded marks the room as over: the badge reads ENDED.
func (m *Model) SetEnded(ended bool) { common.Set(&m.dirty, &m.ended, ended) }

// SetOffline says the connection is in trouble (reconnecting or stalled): the badge
// reads OFFLINE rather than claiming LIVE while nothing is heard.
func (m *Model) SetOffline(offline bool) { common.Set(&m.dirty, &m.offline, offline) }

// SetElapsed sets the time since the room started; known is false when the start time
// is not known, and then no time is shown.
func (m *Model) SetElapsed(d time.Duration, known bool) {
	common.Set(&m.dirty, &m.elapsed, d.Truncate(time.Second))
	common.Set(&m.dirty, &m.started, known)
}

// View renders the header, exactly one line of the set width.
func (m *Model) View() string {
	if m.dirty {
		m.view, m.dirty = m.draw(), false
	}
	return m.view
}

func (m *Model) draw() string {
	st := m.c.Styles
	left := " " + st.Brand.Render("spacetui") + "  "
	switch {
	case m.ended:
		left += st.Ended.Render("■ ENDED") + "  "
	case m.known && m.offline:
		left += st.Trouble.Render("◌ OFFLINE") + "  "
	case m.known:
		left += st.LiveBadge.Render("● LIVE") + "  "
	}
	var right []string
	// Offline, the count is an old one: the room goes on without us, so none is claimed.
	if m.known && !m.offline {
		right = append(right, common.Thousands(m.listeners)+" listening")
	}
	if m.started {
		right = append(right, common.Clock(m.elapsed))
	}
	r := st.Meta.Render(strings.Join(right, "  "))
	if r != "" {
		r += " "
	}
	// The title gets what is left; the counts matter more than the end of a long title.
	room := m.width - lipgloss.Width(left) - lipgloss.Width(r) - 2
	title := ""
	if room > 0 {
		title = st.Title.Render(common.Truncate(m.title, room))
	}
	line := left + title
	gap := m.width - lipgloss.Width(line) - lipgloss.Width(r)
	if gap < 1 {
		return common.Fit(line, m.width)
	}
	return line + strings.Repeat(" ", gap) + r
}
