// Package transcript draws the live captions: timestamped, speaker-coloured lines,
// partial segments dim and replaced in place, a marker where audio was lost, and a
// scrollback that follows the tail until the user reads back. Each caption is wrapped
// once, and the pane is drawn again only when what it shows changes.
package transcript

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
)

// DefaultMaxEntries bounds the history: older segments and markers are dropped.
const DefaultMaxEntries = 1000

// Gap is a marker line where audio was lost.
type Gap struct {
	At      time.Duration // offset on the room clock where the loss began; <0 if unknown
	Seconds float64       // how much was lost
	Why     string        // the transport's reason, e.g. "dropped"
}

// entry is one segment or one gap marker.
type entry struct {
	seg transport.TranscriptSegment
	gap *Gap
	// lines is the entry as last rendered; nil when it must be rendered again.
	lines []string
}

// Model is the transcript pane.
type Model struct {
	c          common.Common
	width      int
	height     int
	focused    bool
	maxEntries int

	entries []entry
	byID    map[string]int // segment id -> index in entries

	follow bool
	// While not following, the view is anchored to a line of an entry so that it stays
	// put as segments arrive and old ones are dropped.
	anchorEntry int
	anchorLine  int

	// The rendered lines, rebuilt when the entries, the width or the names change.
	lines      []string
	starts     []int // first line of each entry
	dirty      bool
	renderedW  int
	renderedDV int
	nameW      int
	generation int // counts the times lines were rebuilt

	view  string // as last drawn, from drawn
	drawn drawn

	// The search, as in less: query (lower case) and the entries that match it, oldest
	// first; cur indexes matches, -1 when none is shown.
	query   string
	matches []int
	cur     int
}

// drawn is what the pane was last drawn from. The pane compares it, rather than have
// each of its many mutators (every scroll and search key, and the shared speaker
// directory) say whether it changed what is shown.
type drawn struct {
	generation, top, width, height int
	focused, follow                bool
	query                          string
	cur, matches                   int
}

// New returns an empty transcript that follows the tail.
func New(c common.Common) *Model {
	return &Model{c: c, maxEntries: DefaultMaxEntries, byID: map[string]int{}, follow: true, dirty: true, cur: -1}
}

// SetMaxEntries changes the bound on the history (tests use a small one).
func (m *Model) SetMaxEntries(n int) {
	m.maxEntries = max(n, 1)
	m.trim()
}

// SetSize sets the pane's outer size, frame included.
func (m *Model) SetSize(width, height int) {
	if width != m.width {
		m.dirty = true
	}
	m.width, m.height = width, height
}

// SetFocused says whether the pane has the keyboard.
func (m *Model) SetFocused(focused bool) { m.focused = focused }

// Following reports whether the view follows the newest line.
func (m *Model) Following() bool { return m.follow }

// Len is the number of entries (segments and gap markers) held.
func (m *Model) Len() int { return len(m.entries) }

// Add takes a segment: one with a known ID replaces the earlier one in place, unless
// that one is already final; a new one is appended. A segment with no words (empty or
// blank) adds no row: a new one is ignored, and one that replaces a held segment hides
// it (a partial the recognizer took back).
func (m *Model) Add(seg transport.TranscriptSegment) {
	if i, ok := m.byID[seg.ID]; ok && seg.ID != "" {
		if m.entries[i].seg.Final && !seg.Final {
			return // a late partial never undoes a final segment
		}
		m.dirty = true
		m.entries[i].seg, m.entries[i].lines = seg, nil
		m.research()
		return
	}
	if blank(seg.Text) {
		return
	}
	m.dirty = true
	m.entries = append(m.entries, entry{seg: seg})
	if seg.ID != "" {
		m.byID[seg.ID] = len(m.entries) - 1
	}
	m.trim()
	m.research()
}

// Segments returns the segments held, oldest first, without gap markers or taken-back
// partials: the transcript so far, as s saves it.
func (m *Model) Segments() []transport.TranscriptSegment {
	out := make([]transport.TranscriptSegment, 0, len(m.entries))
	for _, e := range m.entries {
		if e.gap == nil && !blank(e.seg.Text) {
			out = append(out, e.seg)
		}
	}
	return out
}

// Search looks for q (case-insensitively) in the captions and their speakers' names and
// shows the newest match; an empty q clears the search. It returns the number of
// matches.
func (m *Model) Search(q string) int {
	m.invalidateCur()
	m.query, m.cur = strings.ToLower(q), -1
	m.research()
	if len(m.matches) > 0 {
		m.cur = len(m.matches) - 1
		m.showCur()
	}
	return len(m.matches)
}

// NextMatch shows the next newer match, wrapping to the oldest.
func (m *Model) NextMatch() { m.step(1) }

// PrevMatch shows the next older match, wrapping to the newest.
func (m *Model) PrevMatch() { m.step(-1) }

// Query is the search in force, in lower case, and the match shown (1-based) of how many.
func (m *Model) Query() (q string, cur, total int) { return m.query, m.cur + 1, len(m.matches) }

func (m *Model) step(d int) {
	if len(m.matches) == 0 {
		return
	}
	m.invalidateCur()
	m.cur = ((max(m.cur, 0)+d)%len(m.matches) + len(m.matches)) % len(m.matches)
	m.showCur()
}

// showCur scrolls the current match to the upper third of the pane and marks it.
func (m *Model) showCur() {
	e := m.matches[m.cur]
	m.entries[e].lines = nil
	m.dirty = true
	m.render()
	m.setTop(m.starts[e]-m.viewHeight()/3, false)
}

func (m *Model) invalidateCur() {
	if m.cur >= 0 && m.cur < len(m.matches) {
		m.entries[m.matches[m.cur]].lines = nil
		m.dirty = true
	}
}

// research finds the matches again after the entries changed, keeping the current one.
func (m *Model) research() {
	if m.query == "" {
		m.matches, m.cur = m.matches[:0], -1
		return
	}
	curEntry := -1
	if m.cur >= 0 && m.cur < len(m.matches) {
		curEntry = m.matches[m.cur]
	}
	m.matches, m.cur = m.matches[:0], -1
	for i, e := range m.entries {
		if e.gap != nil || blank(e.seg.Text) {
			continue
		}
		if strings.Contains(strings.ToLower(common.Reduce(e.seg.Text)), m.query) ||
			strings.Contains(strings.ToLower(m.c.Speakers.Name(e.seg.Speaker)), m.query) {
			if i <= curEntry {
				m.cur = len(m.matches)
			}
			m.matches = append(m.matches, i)
		}
	}
	if m.cur < 0 && len(m.matches) > 0 && curEntry >= 0 {
		m.cur = 0
	}
}

// isCur reports whether entry i is the match shown.
func (m *Model) isCur(i int) bool {
	return m.cur >= 0 && m.cur < len(m.matches) && m.matches[m.cur] == i
}

// AddGap appends a marker where audio was lost.
func (m *Model) AddGap(g Gap) {
	m.dirty = true
	m.entries = append(m.entries, entry{gap: &g})
	m.trim()
}

// Segment returns the segment held under id.
func (m *Model) Segment(id string) (transport.TranscriptSegment, bool) {
	i, ok := m.byID[id]
	if !ok {
		return transport.TranscriptSegment{}, false
	}
	return m.entries[i].seg, true
}

// blank reports text with nothing to show.
func blank(text string) bool { return strings.TrimSpace(text) == "" }

func (m *Model) trim() {
	drop := len(m.entries) - m.maxEntries
	if drop <= 0 {
		return
	}
	m.entries = append(m.entries[:0:0], m.entries[drop:]...)
	clear(m.byID)
	for i, e := range m.entries {
		if e.gap == nil && e.seg.ID != "" {
			m.byID[e.seg.ID] = i
		}
	}
	m.anchorEntry -= drop
	if m.anchorEntry < 0 {
		m.anchorEntry, m.anchorLine = 0, 0
	}
	m.dirty = true
	if m.cur >= 0 && m.cur < len(m.matches) {
		m.matches[m.cur] -= drop // research finds it again, or the oldest match left
	}
}

// bareBelow is the pane height under which the frame goes: a framed pane of 4 rows would
// show only 2 lines of captions, and one of 2 rows none at all.
const bareBelow = 5

// bare reports whether the pane is drawn without its frame.
func (m *Model) bare() bool { return m.height < bareBelow }

// inner is the size of the captions area.
func (m *Model) inner() (int, int) {
	if m.bare() {
		return max(m.width, 0), max(m.height, 0)
	}
	return common.BoxInner(m.width, m.height)
}

// viewHeight is the number of transcript lines visible.
func (m *Model) viewHeight() int {
	_, h := m.inner()
	return max(h, 1)
}

// maxTop is the first line shown when following.
func (m *Model) maxTop() int { return max(len(m.render())-m.viewHeight(), 0) }

// top is the first visible line.
func (m *Model) top() int {
	lines := m.render()
	if m.follow || len(m.entries) == 0 {
		return m.maxTop()
	}
	e := min(m.anchorEntry, len(m.entries)-1)
	t := m.starts[e] + m.anchorLine
	return max(0, min(t, max(len(lines)-m.viewHeight(), 0)))
}

// setTop anchors the view at line t; reaching the bottom resumes following only when
// resume is set (End, or paging down past the end), so reading back stays put.
func (m *Model) setTop(t int, resume bool) {
	m.render()
	if t >= m.maxTop() {
		if resume {
			m.follow = true
			return
		}
		t = m.maxTop()
	}
	t = max(t, 0)
	m.follow = false
	e := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] > t }) - 1
	if e < 0 {
		m.anchorEntry, m.anchorLine = 0, 0
		return
	}
	m.anchorEntry, m.anchorLine = e, t-m.starts[e]
}

// scrollable reports whether there is more than a screen of lines.
func (m *Model) scrollable() bool { return len(m.render()) > m.viewHeight() }

// PageUp scrolls back a page and stops following.
func (m *Model) PageUp() {
	if m.scrollable() {
		m.setTop(m.top()-max(m.viewHeight()-1, 1), false)
	}
}

// PageDown scrolls forward a page; paging past the newest line follows again.
func (m *Model) PageDown() {
	if !m.follow {
		m.setTop(m.top()+max(m.viewHeight()-1, 1), true)
	}
}

// LineUp scrolls back one line and stops following.
func (m *Model) LineUp() {
	if m.scrollable() {
		m.setTop(m.top()-1, false)
	}
}

// LineDown scrolls forward one line; it does not resume following (End does).
func (m *Model) LineDown() {
	if !m.follow {
		m.setTop(m.top()+1, false)
	}
}

// Wheel scrolls by n lines (negative: back), as the mouse wheel does; scrolling forward
// to the newest line follows again, as a pager's tail does.
func (m *Model) Wheel(n int) {
	switch {
	case n < 0 && m.scrollable():
		m.setTop(m.top()+n, false)
	case n > 0 && !m.follow:
		m.setTop(m.top()+n, true)
	}
}

// Home shows the oldest line held and stops following.
func (m *Model) Home() {
	if m.scrollable() {
		m.setTop(0, false)
	}
}

// End shows the newest line and follows the tail again.
func (m *Model) End() { m.follow = true }

// View renders the pane at exactly the set size.
func (m *Model) View() string {
	m.render()
	d := drawn{m.generation, m.top(), m.width, m.height, m.focused, m.follow, m.query, m.cur, len(m.matches)}
	if d != m.drawn { // never equal at first: rendering the lines counted a generation
		m.view, m.drawn = m.draw(d.top), d
	}
	return m.view
}

// draw renders the pane with line top first.
func (m *Model) draw(top int) string {
	lines := m.lines
	vis := lines[top:min(top+m.viewHeight(), len(lines))]
	if len(lines) == 0 {
		vis = []string{m.c.Styles.Hint.Render("waiting for captions…")}
	}
	var hints []string
	if m.query != "" {
		if len(m.matches) == 0 {
			hints = append(hints, "/"+m.query+": no match")
		} else {
			hints = append(hints, fmt.Sprintf("/%s %d/%d", m.query, m.cur+1, len(m.matches)))
		}
	}
	if !m.follow {
		below := len(lines) - top - len(vis)
		hints = append(hints, fmt.Sprintf("↓ %s more · end to follow", common.Thousands(below)))
	}
	hint := strings.Join(hints, " · ")
	if m.bare() {
		out := make([]string, m.height)
		for i := range out {
			if i < len(vis) {
				out[i] = vis[i]
			}
			out[i] = common.Fit(out[i], m.width)
		}
		return strings.Join(out, "\n")
	}
	return common.Box(m.c.Styles, "Transcript", hint, vis, m.width, m.height, m.focused)
}

// render returns the transcript as lines of the pane's content width.
func (m *Model) render() []string {
	w, _ := m.inner()
	dv := m.c.Speakers.Version()
	if !m.dirty && w == m.renderedW && dv == m.renderedDV {
		return m.lines
	}

	// The name column is as wide as the longest name shown, within reason.
	nameW := 3
	for _, e := range m.entries {
		if e.gap == nil {
			nameW = max(nameW, lipgloss.Width(m.c.Speakers.Name(e.seg.Speaker)))
		}
	}
	nameW = min(nameW, 12, max(w/4, 3))

	if w != m.renderedW || dv != m.renderedDV || nameW != m.nameW {
		for i := range m.entries {
			m.entries[i].lines = nil // the layout changed: every entry again
		}
	}
	m.dirty, m.renderedW, m.renderedDV, m.nameW = false, w, dv, nameW
	m.generation++
	m.lines, m.starts = m.lines[:0], m.starts[:0]
	for i := range m.entries {
		e := &m.entries[i]
		if e.lines == nil {
			switch {
			case e.gap != nil:
				e.lines = []string{m.gapLine(*e.gap, w)}
			case blank(e.seg.Text):
				e.lines = []string{} // taken back: no row, but not nil, so not redone
			default:
				e.lines = m.segLines(nil, e.seg, w, nameW, m.isCur(i))
			}
		}
		m.starts = append(m.starts, len(m.lines))
		m.lines = append(m.lines, e.lines...)
	}
	return m.lines
}

func (m *Model) segLines(out []string, seg transport.TranscriptSegment, w, nameW int, current bool) []string {
	st := m.c.Styles
	stamp := common.Clock(seg.Start)
	name := m.c.Speakers.Name(seg.Speaker)
	stampStyle := st.Time
	if current {
		stampStyle = st.Selected // the match the search shows
	}
	prefix := stampStyle.Render(stamp) + " " +
		st.Speaker(m.c.Speakers.Slot(seg.Speaker)).Render(common.Fit(name, nameW)) + " "
	indent := lipgloss.Width(stamp) + 1 + nameW + 1
	textStyle := st.Text
	text := common.Reduce(strings.TrimSpace(seg.Text))
	if !seg.Final {
		textStyle = st.Partial
		text += "…" // partial, and still visible as such without colour or faint
	}
	if seg.Chat {
		text = "[chat] " + text // typed into the room's chat, not said
	}
	// Too narrow for a hanging indent: put the text under the prefix.
	if w-indent < 12 {
		out = append(out, common.Truncate(prefix, w))
		prefix, indent = "  ", 2
	}
	tw := max(w-indent, 1)
	wrapped := strings.Split(ansi.Wrap(text, tw, ""), "\n")
	links := findLinks(text)
	pos := 0 // where the next wrapped line starts in text
	for j, l := range wrapped {
		l = strings.TrimRight(l, " ")
		p := strings.Repeat(" ", indent)
		if j == 0 {
			p = prefix
		}
		body := textStyle.Render(l)
		if len(links) > 0 {
			// Wrapping only breaks lines and drops the spaces at the breaks, so each
			// line is found in text in order, and a URL broken over two lines links
			// both halves to the whole.
			if at := strings.Index(text[pos:], l); at >= 0 {
				start := pos + at
				body = linkify(l, start, links, textStyle)
				pos = start + len(l)
			}
		}
		out = append(out, common.Truncate(p+body, w))
	}
	return out
}

func (m *Model) gapLine(g Gap, w int) string {
	// A gap whose end is before its start (a clock that went back) still lost audio,
	// but how much is unknown: never "-4.0 s".
	text := " audio lost"
	if g.Seconds > 0 {
		text = fmt.Sprintf(" %.1f s of audio lost", g.Seconds)
	}
	if g.At >= 0 {
		text = " " + common.Clock(g.At) + " ·" + text
	}
	if g.Why != "" {
		text += " (" + g.Why + ")"
	}
	text += " "
	line := "╌╌" + common.Truncate(text, max(w-4, 0))
	line += strings.Repeat("╌", max(w-lipgloss.Width(line), 0))
	return m.c.Styles.Gap.Render(line)
}
