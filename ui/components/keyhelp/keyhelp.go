// Package keyhelp draws the one-line key help at the bottom of the screen and the full
// help overlay that "?" toggles, both from the key map so they never disagree with it.
package keyhelp

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

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
	return &Model{c: c, keys: keys, help: h}
}

// SetSize sets the screen size: the line takes the width, the overlay centres itself.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.help.SetWidth(max(width-1, 0))
}

// View renders the one-line help, exactly one line of the set width. When the whole line
// does not fit, the compact set keeps "? help" and "q quit" in view.
func (m *Model) View() string {
	line := m.help.ShortHelpView(m.keys.ShortHelp())
	if lipgloss.Width(line) >= m.width-1 || strings.HasSuffix(line, m.help.Styles.Ellipsis.Render(m.help.Ellipsis)) {
		line = m.help.ShortHelpView(m.keys.CompactHelp())
	}
	return common.Fit(" "+line, m.width)
}

// Overlay renders the full help framed and centred in an area of w x h cells.
func (m *Model) Overlay(w, h int) string {
	body := m.help.FullHelpView(m.keys.FullHelp())
	lines := strings.Split(body, "\n")
	lines = append(lines, "", m.c.Styles.Hint.Render("? or esc closes this help"))
	bw := 0
	for _, l := range lines {
		bw = max(bw, lipgloss.Width(l))
	}
	bw = min(bw+4, w)
	bh := min(len(lines)+2, h)
	box := common.Box(m.c.Styles, "Help", "", lines, bw, bh, true)
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, box)
}
