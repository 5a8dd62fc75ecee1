// Package activity draws the room's story on wide screens: a level meter of the whole
// room and, for each speaker, who talked when over the last minutes, one cell per ten
// seconds. It keeps that history itself, from the talking flags of the playback
// snapshots the root model hands it on every tick, each weighed by the time it stands
// for, so a tick that slows down in silence does not make the talk look longer. The pane
// is drawn again only when a cell or the meter moves by a step it can show.
package activity

import (
	"fmt"
	"strings"
	"time"

	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/components/speakers"
)

// History bounds: Buckets cells of Bucket each (15 minutes).
const (
	Bucket  = 10 * time.Second
	Buckets = 90
	// maxWeight is the most a tick stands for: a pause of the program is not talk.
	maxWeight = time.Second
)

// levels are the cells of a timeline, from a little talk to talk all along.
var levels = [...]string{"▂", "▃", "▄", "▅", "▆", "▇", "█"}

// Model is the activity pane.
type Model struct {
	c             common.Common
	width, height int

	ids  []string // the roster's order
	head int64    // the bucket of the newest tick, in Bucket units since the epoch
	last time.Time
	// ticks and talk are the time each bucket was heard and the time each speaker
	// talked in it, in milliseconds.
	ticks [Buckets]uint16
	talk  map[string]*[Buckets]uint16
	room  float64 // the loudest speaker's level now, 0..1

	// The pane as last drawn, valid unless dirty; its lines under the room meter (the
	// axis and the timelines), valid unless stale, for the meter moves far more often.
	view      string
	dirty     bool
	history   []string
	stale     bool
	nameW     int // the name column's width in the last drawing
	meterW    int // the room meter's width in the last drawing
	directory int // the speaker directory's version in the last drawing
}

// New returns an empty activity pane.
func New(c common.Common) *Model {
	return &Model{c: c, talk: map[string]*[Buckets]uint16{}, dirty: true, stale: true}
}

// SetSize sets the pane's outer size, frame included.
func (m *Model) SetSize(width, height int) {
	common.Set(&m.stale, &m.width, width)
	common.Set(&m.stale, &m.height, height)
}

// SetSpeakers sets whose history is kept and in what order they are drawn; the history
// of a speaker who left is dropped.
func (m *Model) SetSpeakers(ids []string) {
	m.ids, m.stale = ids, true
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
		if m.talk[id] == nil {
			m.talk[id] = new([Buckets]uint16)
		}
	}
	for id := range m.talk {
		if !keep[id] {
			delete(m.talk, id)
		}
	}
}

// Record takes one tick: who is talking now and the room's level. The tick stands for
// the time since the one before (a millisecond at least, maxWeight at most). It reports
// whether the room meter moved by a step it can draw; the timelines move by a cell at a
// time, and a slow redraw keeps up with them.
func (m *Model) Record(now time.Time, talking map[string]bool, room float64) (meterMoved bool) {
	weight := uint16(max(min(now.Sub(m.last), maxWeight), time.Millisecond) / time.Millisecond)
	m.last = now
	meterMoved = speakers.MeterEighths(room, m.meterW) != speakers.MeterEighths(m.room, m.meterW)
	if meterMoved {
		m.dirty = true
	}
	m.room = room
	b := now.UnixNano() / int64(Bucket)
	if b > m.head {
		// Clear the cells the clock moved past (all of them after a long pause).
		for i := m.head + 1; i <= b && i <= m.head+Buckets; i++ {
			m.ticks[i%Buckets] = 0
			for _, t := range m.talk {
				t[i%Buckets] = 0
			}
		}
		m.head, m.stale = b, true
	} else if m.head-b >= Buckets {
		return meterMoved // older than every cell shown
	}
	i := b % Buckets
	of := m.ticks[i]
	m.ticks[i] = of + weight
	for id, t := range m.talk {
		n := t[i]
		if talking[id] {
			t[i] = n + weight
		}
		if cell(t[i], m.ticks[i]) != cell(n, of) {
			m.stale = true
		}
	}
	return meterMoved
}

// cell is the index in levels of a cell where a speaker talked n of the of
// milliseconds heard, or -1 for no talk.
func cell(n, of uint16) int {
	if n == 0 || of == 0 {
		return -1
	}
	return min(int(n)*len(levels)/int(of), len(levels)-1)
}

// View renders the pane at exactly the set size.
func (m *Model) View() string {
	if dv := m.c.Speakers.Version(); dv != m.directory {
		m.stale, m.directory = true, dv
	}
	if m.stale {
		m.drawHistory()
		m.stale, m.dirty = false, true
	}
	if m.dirty {
		st := m.c.Styles
		room := common.Fit("room", m.nameW) + " " + st.Meter.Render(speakers.Meter(m.room, m.meterW))
		lines := append([]string{room}, m.history...)
		m.view, m.dirty = common.Box(st, "Activity", "", lines, m.width, m.height, false), false
	}
	return m.view
}

// drawHistory lays the pane out and draws the lines under the room meter.
func (m *Model) drawHistory() {
	st := m.c.Styles
	iw, ih := common.BoxInner(m.width, m.height)
	nameW := 3
	for _, id := range m.ids {
		nameW = max(nameW, len([]rune(m.c.Speakers.Name(id))))
	}
	m.nameW = min(nameW, 10, max(iw/4, 3))
	cells := max(min(iw-m.nameW-1, Buckets), 0)
	m.meterW = max(iw-m.nameW-1, 0)

	m.history = append(m.history[:0], st.Hint.Render(common.Fit("", m.nameW)+" "+axis(cells)))
	for _, id := range m.ids {
		if len(m.history) >= ih-1 {
			break
		}
		name := st.Speaker(m.c.Speakers.Slot(id)).Render(common.Fit(m.c.Speakers.Name(id), m.nameW))
		m.history = append(m.history, name+" "+m.timeline(id, cells))
	}
}

// timeline is one speaker's last cells buckets, oldest first. Each kind of cell is
// styled once: Lip Gloss takes a microsecond a cell, and a wide pane has hundreds.
func (m *Model) timeline(id string, cells int) string {
	st := m.c.Styles
	t := m.talk[id]
	talkStyle := st.Speaker(m.c.Speakers.Slot(id))
	none := st.Hint.Render("·")
	var styled [len(levels)]string
	var b strings.Builder
	for k := int64(cells - 1); k >= 0; k-- {
		i := (m.head - k) % Buckets
		if i < 0 {
			i += Buckets
		}
		n := uint16(0)
		if t != nil {
			n = t[i]
		}
		lv := cell(n, m.ticks[i])
		if lv < 0 {
			b.WriteString(none)
			continue
		}
		if styled[lv] == "" {
			styled[lv] = talkStyle.Render(levels[lv])
		}
		b.WriteString(styled[lv])
	}
	return b.String()
}

// axis labels the timelines: how long ago the first cell was, and "now" at the end.
func axis(cells int) string {
	if cells < 12 {
		return strings.Repeat(" ", max(cells, 0))
	}
	secs := cells * int(Bucket/time.Second)
	ago := fmt.Sprintf("-%dm", secs/60)
	if secs%60 != 0 {
		ago += fmt.Sprintf("%02ds", secs%60)
	}
	return ago + strings.Repeat(" ", cells-len(ago)-3) + "now"
}
