// Package speakers draws the roster: who is on stage, their role, a live level meter,
// who is talking now (from the decoded audio level) and who is muted. On narrow
// terminals it collapses to a single line. The pane keeps what it drew until something
// it shows changes: a level that does not move a meter by a visible step redraws nothing.
package speakers

import (
	"math"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
)

// Level is one speaker's decoded audio level.
type Level struct {
	Level   float64 // 0..1
	Talking bool    // audibly talking now, from the decoded audio
}

// Model is the speakers pane.
type Model struct {
	c          common.Common
	width      int
	height     int
	speakers   []transport.Speaker
	levels     map[string]Level
	localMuted map[string]bool
	volumes    map[string]int // the user's volume of a speaker, where not 100%
	selected   int
	offset     int // first visible row
	focused    bool
	compact    bool

	view   string // as last drawn; valid unless dirty
	dirty  bool
	meterW int // the meters' width in the last drawing
}

// New returns an empty speakers pane.
func New(c common.Common) *Model {
	return &Model{c: c, localMuted: map[string]bool{}, volumes: map[string]int{}, dirty: true}
}

// SetSize sets the pane's outer size, frame included (the compact line ignores height).
func (m *Model) SetSize(width, height int) {
	if width != m.width || height != m.height {
		m.width, m.height = width, height
		m.scrollToSelected()
	}
}

// SetCompact switches between the framed pane and the one-line list.
func (m *Model) SetCompact(compact bool) { common.Set(&m.dirty, &m.compact, compact) }

// SetFocused says whether the pane has the keyboard.
func (m *Model) SetFocused(focused bool) { common.Set(&m.dirty, &m.focused, focused) }

// SetSpeakers replaces the roster; the selection stays on the same speaker when it is
// still there.
func (m *Model) SetSpeakers(speakers []transport.Speaker) {
	var id string
	if sp, ok := m.Selected(); ok {
		id = sp.ID
	}
	m.speakers = speakers
	m.selected = 0
	for i, sp := range speakers {
		if sp.ID == id {
			m.selected = i
		}
	}
	m.scrollToSelected()
}

// SetLevels sets the current audio levels by speaker id. It reports whether the pane
// shows them differently from the last ones: a speaker shown began or stopped talking,
// or a meter moved by at least one step it can draw (or the pane is to be drawn again
// anyway).
func (m *Model) SetLevels(levels map[string]Level) (moved bool) {
	old := m.levels
	m.levels = levels
	if m.dirty {
		return true
	}
	first, end := m.offset, min(m.offset+m.rows(), len(m.speakers))
	if m.compact {
		first, end = 0, len(m.speakers)
	}
	for _, sp := range m.speakers[first:end] {
		a, b := old[sp.ID], levels[sp.ID]
		if a.Talking != b.Talking || MeterEighths(a.Level, m.meterW) != MeterEighths(b.Level, m.meterW) {
			m.dirty = true
			return true
		}
	}
	return false
}

// rows is how many speakers the framed pane has room for.
func (m *Model) rows() int {
	_, ih := common.BoxInner(m.width, m.height)
	return ih
}

// SetLocalMuted records that the user muted (or unmuted) a speaker on this client.
func (m *Model) SetLocalMuted(id string, muted bool) {
	m.dirty = true
	if muted {
		m.localMuted[id] = true
	} else {
		delete(m.localMuted, id)
	}
}

// SetVolume records the volume the user set for a speaker on this client, in percent.
func (m *Model) SetVolume(id string, pct int) {
	m.dirty = true
	if pct == 100 {
		delete(m.volumes, id)
	} else {
		m.volumes[id] = pct
	}
}

// Volume is the volume the user set for a speaker, in percent (100 unless set).
func (m *Model) Volume(id string) int {
	if v, ok := m.volumes[id]; ok {
		return v
	}
	return 100
}

// role is what the role column says: "muted", the user's volume for the speaker where
// it is not 100%, or the speaker's role.
func (m *Model) role(sp transport.Speaker) string {
	switch v, ok := m.volumes[sp.ID]; {
	case m.muted(sp):
		return "muted"
	case ok:
		return strconv.Itoa(v) + "%"
	}
	return sp.Role
}

// LocalMuted reports whether the user muted a speaker on this client.
func (m *Model) LocalMuted(id string) bool { return m.localMuted[id] }

// Selected returns the selected speaker, if there is one.
func (m *Model) Selected() (transport.Speaker, bool) {
	if m.selected < 0 || m.selected >= len(m.speakers) {
		return transport.Speaker{}, false
	}
	return m.speakers[m.selected], true
}

// MoveUp selects the previous speaker.
func (m *Model) MoveUp() {
	if m.selected > 0 {
		m.selected--
	}
	m.scrollToSelected()
}

// MoveDown selects the next speaker.
func (m *Model) MoveDown() {
	if m.selected < len(m.speakers)-1 {
		m.selected++
	}
	m.scrollToSelected()
}

// scrollToSelected keeps the selection in view. The selection and the scroll position
// are drawn, so every caller has changed what the pane shows.
func (m *Model) scrollToSelected() {
	m.dirty = true
	rows := m.rows()
	if rows <= 0 {
		return
	}
	if m.selected < m.offset {
		m.offset = m.selected
	}
	if m.selected >= m.offset+rows {
		m.offset = m.selected - rows + 1
	}
	m.offset = max(0, min(m.offset, len(m.speakers)-rows))
}

func (m *Model) muted(sp transport.Speaker) bool { return sp.Muted || m.localMuted[sp.ID] }

// View renders the pane: a framed list of exactly the set size, or one line when compact.
func (m *Model) View() string {
	if m.dirty {
		m.view, m.dirty = m.draw(), false
	}
	return m.view
}

func (m *Model) draw() string {
	if m.compact {
		m.meterW = 1
		return m.line()
	}
	st := m.c.Styles
	iw, ih := common.BoxInner(m.width, m.height)
	nameW, roleW := 0, 0
	for _, sp := range m.speakers {
		nameW = max(nameW, lipgloss.Width(sp.Name))
		roleW = max(roleW, lipgloss.Width(m.role(sp)))
	}
	// Columns: marker(2) name role meter; the meter keeps at least 4 cells and the name
	// gives way first, the role second.
	roleW = min(roleW, 8)
	nameW = min(nameW, 14)
	meterW := iw - 2 - nameW - 1 - roleW - 1
	if meterW < 4 {
		nameW = max(nameW-(4-meterW), 3)
		meterW = iw - 2 - nameW - 1 - roleW - 1
	}
	if meterW < 4 {
		roleW = max(roleW-(4-meterW), 0)
		meterW = iw - 2 - nameW - 1 - roleW - 1
	}
	meterW = min(meterW, 16)
	m.meterW = meterW

	var lines []string
	if len(m.speakers) == 0 {
		lines = append(lines, st.Hint.Render("no speakers yet"))
	}
	for i := m.offset; i < len(m.speakers) && len(lines) < ih; i++ {
		sp := m.speakers[i]
		lv := m.levels[sp.ID]
		marker := "  "
		switch {
		case lv.Talking && m.muted(sp):
			marker = st.Hint.Render("▷") + " " // talking, but not heard here: dimmed
		case lv.Talking:
			marker = st.Talking.Render("▶") + " "
		}
		role := common.Fit(m.role(sp), roleW)
		meter := st.Meter.Render(Meter(lv.Level, meterW))
		if m.muted(sp) {
			role = st.Muted.Render(common.Fit("muted", roleW))
			meter = st.Muted.Render("✕")
		} else {
			role = st.Role.Render(role)
		}
		name := common.Fit(sp.Name, nameW)
		if i == m.selected {
			name = m.selectStyle().Render(name)
		} else {
			name = st.Speaker(m.c.Speakers.Slot(sp.ID)).Render(name)
		}
		lines = append(lines, marker+name+" "+role+" "+meter)
	}
	hint := ""
	if below := len(m.speakers) - m.offset - ih; below > 0 {
		hint = "↓ " + common.Thousands(below) + " more"
	}
	return common.Box(st, "Speakers", hint, lines, m.width, m.height, m.focused)
}

// selectStyle marks the selection strongly while the pane has the keyboard.
func (m *Model) selectStyle() lipgloss.Style {
	if m.focused {
		return m.c.Styles.Selected
	}
	return m.c.Styles.Cursor
}

// line is the compact roster: "▶ Ada ▆ · Grace · Linus ✕", cut to the width.
func (m *Model) line() string {
	st := m.c.Styles
	var parts []string
	for i, sp := range m.speakers {
		lv := m.levels[sp.ID]
		name := common.Truncate(sp.Name, 16)
		if i == m.selected {
			name = m.selectStyle().Render(name)
		} else {
			name = st.Speaker(m.c.Speakers.Slot(sp.ID)).Render(name)
		}
		switch {
		case m.muted(sp) && lv.Talking:
			name = st.Hint.Render("▷") + " " + name + " " + st.Muted.Render("✕")
		case m.muted(sp):
			name += " " + st.Muted.Render("✕")
		case lv.Talking:
			name = st.Talking.Render("▶") + " " + name + " " + st.Meter.Render(Meter(lv.Level, 1))
		}
		if v, ok := m.volumes[sp.ID]; ok && !m.muted(sp) {
			name += " " + st.Role.Render(strconv.Itoa(v)+"%")
		}
		parts = append(parts, name)
	}
	if len(parts) == 0 {
		return common.Fit(" "+st.Hint.Render("no speakers yet"), m.width)
	}
	return common.Fit(" "+strings.Join(parts, st.Hint.Render(" · ")), m.width)
}

// eighths are the partial cells of a meter, from one eighth to a full block.
var eighths = []string{"▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"}

// Meter draws level (0..1) as a bar of at most width cells with eighth-cell resolution.
// A level is drawn on a square-root scale so that quiet speech still shows.
func Meter(level float64, width int) string {
	n := MeterEighths(level, width)
	if n == 0 {
		return ""
	}
	bar := strings.Repeat("█", n/8)
	if n%8 != 0 {
		bar += eighths[n%8-1]
	}
	return bar
}

// MeterEighths is the length of the bar Meter draws, in eighths of a cell: two levels
// with the same length draw the same bar, so a change between them need not be drawn.
func MeterEighths(level float64, width int) int {
	if width <= 0 || !(level > 0) {
		return 0
	}
	return max(int(math.Round(math.Sqrt(min(level, 1))*float64(width*8))), 1)
}
