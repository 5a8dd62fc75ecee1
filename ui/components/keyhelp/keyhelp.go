// Package keyhelp draws the one-line key help at the bottom of the screen and the full
// help overlay that "?" toggles, both from the key map so they never disagree with it.
package keyhelp

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/keymap"
)

// Model is the key help.
type Model struct {
	c      common.Common
	keys   *keymap.KeyMap
	help   help.Model
	width  int
	height int
	note   string // a line under the full help, e.g. why there is no sound
	offset int    // first line of the full help shown, when it is taller than the screen

	line  string // the one-line help as last drawn, from drawn
	drawn drawn
}

// drawn is what the one-line help was last drawn from: the width and which of the
// bindings were enabled (a bit each).
type drawn struct {
	width   int
	enabled uint64
}

// New returns the key help for keys; the key map is read at each View, so enabling or
// disabling a binding shows at once.
func New(c common.Common, keys *keymap.KeyMap) *Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.FullSeparator = "    "
	st := c.Styles
	h.Styles = help.Styles{
		Ellipsis:       st.HelpSep,
		ShortKey:       st.HelpKey,
		ShortDesc:      st.HelpDesc,
		ShortSeparator: st.HelpSep,
		FullKey:        st.HelpKey,
		FullDesc:       st.HelpDesc,
		FullSeparator:  st.HelpSep,
	}
	h.SetWidth(0) // never cut by the help model: we choose what to drop
	return &Model{c: c, keys: keys, help: h}
}

// SetSize sets the screen size: the line takes the width, the overlay centres itself.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
}

// SetNote sets a line shown under the full help (the detail the status line has no
// room for), or none when empty.
func (m *Model) SetNote(note string) { m.note = note }

// ScrollUp and ScrollDown move the full help when it is taller than the screen.
func (m *Model) ScrollUp() { m.offset = max(m.offset-1, 0) }

// ScrollDown shows the next line of the full help.
func (m *Model) ScrollDown() { m.offset++ }

// View renders the one-line help, exactly one line of the set width. When the whole line
// does not fit, bindings give way from the one before "? help" backwards, so "? help"
// and "q quit" are the last to go. The line is drawn again only when the width or the
// bindings enabled have changed.
func (m *Model) View() string {
	d := drawn{width: m.width}
	for i, b := range m.keys.ShortHelp() {
		if b.Enabled() {
			d.enabled |= 1 << i
		}
	}
	if d != m.drawn { // never equal at first: the quit key is always enabled
		m.line, m.drawn = m.draw(), d
	}
	return m.line
}

func (m *Model) draw() string {
	bindings := slices.DeleteFunc(slices.Clone(m.keys.ShortHelp()), func(b key.Binding) bool { return !b.Enabled() })
	line := m.help.ShortHelpView(bindings)
	for lipgloss.Width(line) > m.width-1 && len(bindings) > 2 {
		bindings = slices.Delete(bindings, len(bindings)-3, len(bindings)-2)
		line = m.help.ShortHelpView(bindings)
	}
	return common.Fit(" "+line, m.width)
}

// PromptView renders the line being typed (a search) with its keys, in place of the
// one-line help.
func (m *Model) PromptView(prompt string) string {
	keys := m.help.ShortHelpView(m.keys.SearchHelp())
	room := m.width - 2 - lipgloss.Width(keys) - 3
	if room < 10 {
		keys, room = "", m.width-2
	}
	// The end of a long query is what was just typed: keep it in view.
	p := prompt + "█"
	if w := lipgloss.Width(p); w > room && room > 1 {
		p = "…" + ansi.TruncateLeft(p, w-room+1, "")
	}
	return common.Fit(" "+common.Fit(p, room)+"  "+keys, m.width)
}

// Overlay renders the full help framed and centred in an area of w x h cells. Where its
// columns do not fit side by side they are stacked; where the help is taller than the
// area it scrolls (↑/↓), and the frame says there is more.
func (m *Model) Overlay(w, h int) string {
	groups := m.keys.FullHelp()
	body := m.help.FullHelpView(groups)
	if lipgloss.Width(body)+4 > w {
		var all []key.Binding
		for _, g := range groups {
			all = append(all, g...)
		}
		body = m.help.FullHelpView([][]key.Binding{all})
	}
	lines := strings.Split(body, "\n")
	if m.note != "" {
		lines = append(lines, "", m.c.Styles.Error.Render(m.note))
	}
	lines = append(lines, "", m.c.Styles.Hint.Render("? or esc closes this help"))
	bw := 0
	for _, l := range lines {
		bw = max(bw, lipgloss.Width(l))
	}
	bw = min(bw+4, w)
	bh := min(len(lines)+2, h)
	_, ih := common.BoxInner(bw, bh)
	m.offset = max(0, min(m.offset, len(lines)-ih))
	hint := ""
	if m.offset > 0 || m.offset+ih < len(lines) {
		hint = "↑↓ more"
	}
	box := common.Box(m.c.Styles, "Help", hint, lines[m.offset:], bw, bh, true)
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, box)
}
