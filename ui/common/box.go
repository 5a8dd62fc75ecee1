package common

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/ui/styles"
)

// BoxInner is the content size of a Box of w x h cells: a frame and one column of
// padding on each side.
func BoxInner(w, h int) (int, int) {
	return max(w-4, 0), max(h-2, 0)
}

// Box draws a rounded frame of exactly w x h cells around lines, with title set into the
// top edge and hint right-aligned in the bottom edge. Lines are cut or padded to fit;
// the frame is drawn by hand because Lip Gloss borders cannot carry a title.
func Box(st *styles.Styles, title, hint string, lines []string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	border, titleStyle := st.Border, st.PaneTitle
	if focused {
		border, titleStyle = st.BorderFocused, st.PaneTitleOn
	}
	iw, ih := BoxInner(w, h)
	var b strings.Builder

	title = Truncate(title, max(w-6, 0))
	b.WriteString(border.Render("╭"))
	used := 1
	if title != "" {
		b.WriteString(border.Render(" ") + titleStyle.Render(title) + border.Render(" "))
		used += lipgloss.Width(title) + 2
	}
	b.WriteString(border.Render(strings.Repeat("─", max(w-used-1, 0)) + "╮"))
	b.WriteByte('\n')

	side := border.Render("│")
	for i := range ih {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		b.WriteString(side + " " + Fit(line, iw) + " " + side + "\n")
	}

	hint = Truncate(hint, max(w-6, 0))
	if hint == "" {
		b.WriteString(border.Render("╰" + strings.Repeat("─", w-2) + "╯"))
	} else {
		left := w - 2 - lipgloss.Width(hint) - 3
		b.WriteString(border.Render("╰"+strings.Repeat("─", max(left, 0))+" ") +
			st.Hint.Render(hint) + border.Render(" ─╯"))
	}
	return b.String()
}
