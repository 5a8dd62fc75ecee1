// Package common is what the UI's components share: the styles, the speaker directory
// (names and colour slots by speaker id) and the text helpers that keep every string
// inside the width it was given.
package common

import (
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/styles"
)

// MaxShortRunes bounds the strings the UI is handed by its own side (device names and
// their errors) so that Lip Gloss never measures an unbounded string. The room's text
// is bounded where it enters, by transport's one table (transport/clean.go).
const MaxShortRunes = 120

// Common is handed to every component: shared, read-only context.
type Common struct {
	Styles   *styles.Styles // the look, with or without colour
	Speakers *Directory     // names and colours by speaker id, kept by the root model
}

// Directory maps speaker ids to display names and to stable colour slots. A speaker
// keeps its colour for the life of the UI, even when the roster changes.
type Directory struct {
	names   map[string]string
	slots   map[string]int
	next    int
	version int
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{names: map[string]string{}, slots: map[string]int{}}
}

// Update takes a roster's names; speakers not seen before get the next colour slot.
func (d *Directory) Update(speakers []transport.Speaker) {
	for _, sp := range speakers {
		d.names[sp.ID] = sp.Name
		if _, ok := d.slots[sp.ID]; !ok {
			d.slots[sp.ID] = d.next
			d.next++
		}
	}
	d.version++
}

// Name is the display name of a speaker id; an unknown id is shown as it is.
func (d *Directory) Name(id string) string {
	if n, ok := d.names[id]; ok && n != "" {
		return n
	}
	return id
}

// Slot is the colour slot of a speaker id. Ids never seen in a roster (a caption that
// names a voice directly) get a slot from a hash, so the same voice keeps its colour.
func (d *Directory) Slot(id string) int {
	if s, ok := d.slots[id]; ok {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 1024)
}

// Version changes whenever Update is called, so renderers know when to redraw names.
func (d *Directory) Version() int { return d.version }

// ClampRunes bounds s to max runes, ending it with "…" when it was cut.
func ClampRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// Truncate cuts s (which may carry ANSI styling) to at most w cells, ending it with "…"
// when it was cut.
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// Fit truncates s to w cells and pads it with spaces to exactly w cells. A line that
// fits is measured once: every line of every pane goes through here.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := lipgloss.Width(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = lipgloss.Width(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// Thousands formats n with comma separators: 1284 -> "1,284".
func Thousands(n int) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Set changes one thing a component draws to v and marks the component dirty if that
// changed it. The components keep their last drawing until they are dirty, so that a
// frame in which nothing moved costs neither them nor the terminal anything.
func Set[T comparable](dirty *bool, field *T, v T) {
	if *field != v {
		*field, *dirty = v, true
	}
}
