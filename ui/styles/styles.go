// Package styles holds every Lip Gloss style the UI draws with, in one place, so that
// NO_COLOR is honoured by construction: New(true) builds styles with no colour at all.
package styles

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles is the UI's look. Components read it and never build styles of their own.
type Styles struct {
	// NoColor is true when the styles carry no colour (NO_COLOR); only text attributes
	// such as bold, faint and reverse remain, as no-color.org allows.
	NoColor bool

	Brand     lipgloss.Style // the program name in the header
	LiveBadge lipgloss.Style // "● LIVE"
	Ended     lipgloss.Style // "■ ENDED" and the ended status
	Title     lipgloss.Style // the room title
	Meta      lipgloss.Style // listener count and elapsed time

	Border        lipgloss.Style // the frame of an unfocused pane
	BorderFocused lipgloss.Style // the frame of the focused pane
	PaneTitle     lipgloss.Style // a pane's title, unfocused
	PaneTitleOn   lipgloss.Style // a pane's title, focused
	Hint          lipgloss.Style // scroll hints on a frame

	Talking  lipgloss.Style // the "▶" marker
	Role     lipgloss.Style // a speaker's role
	Muted    lipgloss.Style // "muted" and the "✕" meter
	Meter    lipgloss.Style // the filled part of a level meter
	Selected lipgloss.Style // the selected speaker while the speakers pane has focus
	Cursor   lipgloss.Style // the selected speaker while another pane has focus

	Time    lipgloss.Style // transcript timestamps
	Text    lipgloss.Style // final transcript text
	Partial lipgloss.Style // partial transcript text, replaced in place later
	Gap     lipgloss.Style // the marker line where audio was lost

	Live     lipgloss.Style // "● live"
	Trouble  lipgloss.Style // "◌ ..." while connecting, reconnecting or stalled
	Status   lipgloss.Style // the rest of the status line
	Error    lipgloss.Style // a problem the user should see, e.g. no sound device
	Rec      lipgloss.Style // "● REC 04:12"
	HelpKey  lipgloss.Style // a key in the help
	HelpDesc lipgloss.Style // what the key does
	HelpSep  lipgloss.Style // separators in the help

	speakers []lipgloss.Style
}

// The palette is the terminal's own 16 ANSI colours, so it follows the user's theme on
// light and dark backgrounds alike.
var (
	red     = lipgloss.Color("1")
	green   = lipgloss.Color("2")
	yellow  = lipgloss.Color("3")
	cyan    = lipgloss.Color("6")
	grey    = lipgloss.Color("8")
	speaker = []color.Color{
		lipgloss.Color("6"), lipgloss.Color("5"), lipgloss.Color("3"), lipgloss.Color("2"),
		lipgloss.Color("4"), lipgloss.Color("14"), lipgloss.Color("13"), lipgloss.Color("11"),
	}
)

// New returns the styles; noColor drops every colour and keeps only text attributes.
func New(noColor bool) *Styles {
	s := &Styles{NoColor: noColor}
	n := lipgloss.NewStyle()
	// fg sets a foreground colour unless colour is off.
	fg := func(st lipgloss.Style, c color.Color) lipgloss.Style {
		if noColor {
			return st
		}
		return st.Foreground(c)
	}
	s.Brand = n.Bold(true)
	s.LiveBadge = fg(n.Bold(true), red)
	s.Ended = fg(n.Bold(true), grey)
	s.Title = n.Bold(true)
	s.Meta = n
	s.Border = fg(n, grey)
	s.BorderFocused = fg(n, cyan)
	s.PaneTitle = n
	s.PaneTitleOn = fg(n.Bold(true), cyan)
	if noColor {
		// Lip Gloss underlines rune by rune; reverse says "focused" as plainly.
		s.PaneTitleOn = n.Bold(true).Reverse(true)
	}
	s.Hint = n.Faint(true)
	s.Talking = fg(n.Bold(true), green)
	s.Role = n.Faint(true)
	s.Muted = fg(n, red)
	s.Meter = fg(n, green)
	s.Selected = n.Reverse(true)
	s.Cursor = n.Italic(true)
	s.Time = n.Faint(true)
	s.Text = n
	s.Partial = n.Faint(true)
	s.Gap = fg(n.Faint(true), yellow)
	s.Live = fg(n.Bold(true), green)
	s.Trouble = fg(n.Bold(true), yellow)
	s.Status = n
	s.Error = fg(n.Bold(true), red)
	s.Rec = fg(n.Bold(true), red)
	s.HelpKey = n.Bold(true)
	s.HelpDesc = n.Faint(true)
	s.HelpSep = n.Faint(true)
	for _, c := range speaker {
		s.speakers = append(s.speakers, fg(n.Bold(true), c))
	}
	return s
}

// Speaker is the style of a speaker's name for colour slot i (any int; it wraps).
func (s *Styles) Speaker(i int) lipgloss.Style {
	if i < 0 {
		i = -i
	}
	return s.speakers[i%len(s.speakers)]
}
