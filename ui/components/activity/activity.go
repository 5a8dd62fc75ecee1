// Package activity draws the room's story on wide screens: a level meter of the whole
// room and, for each speaker, who talked when over the last minutes, one cell per ten
// seconds. It keeps that history itself, from the talking flags of the playback
// snapshots the root model hands it on every tick.
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
)

// levels are the cells of a timeline, from a little talk to talk all along.
var levels = []string{"▂", "▃", "▄", "▅", "▆", "▇", "█"}

// Model is the activity pane.
type Model struct {
	c             common.Common
	width, height int

	ids   []string // the roster's order
	head  int64    // the bucket of the newest tick, in Bucket units since the epoch
	ticks [Buckets]uint16
	talk  map[string]*[Buckets]uint16
	room  float64 // the loudest speaker's level now, 0..1
}

// New returns an empty activity pane.
func New(c common.Common) *Model { return &Model{c: c, talk: map[string]*[Buckets]uint16{}} }

// SetSize sets the pane's outer size, frame included.
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// SetSpeakers sets whose history is kept and in what order they are drawn; the history
// of a speaker who left is dropped.
func (m *Model) SetSpeakers(ids []string) {
	m.ids = ids
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

// Record takes one tick: who is talking now and the room's level.
func (m *Model) Record(now time.Time, talking map[string]bool, room float64) {
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
		m.head = b
	} else if m.head-b >= Buckets {
		return // older than every cell shown
	}
	i := b % Buckets
	m.ticks[i]++
	for id, t := range m.talk {
		if talking[id] {
			t[i]++
		}
	}
}

// View renders the pane at exactly the set size.
func (m *Model) View() string {
	st := m.c.Styles
	iw, ih := common.BoxInner(m.width, m.height)
	nameW := 3
	for _, id := range m.ids {
		nameW = max(nameW, len([]rune(m.c.Speakers.Name(id))))
	}
	nameW = min(nameW, 10, max(iw/4, 3))
	cells := max(min(iw-nameW-1, Buckets), 0)

	lines := []string{
		common.Fit("room", nameW) + " " + st.Meter.Render(speakers.Meter(m.room, max(iw-nameW-1, 0))),
		st.Hint.Render(common.Fit("", nameW) + " " + axis(cells)),
	}
	for _, id := range m.ids {
		if len(lines) >= ih {
			break
		}
		name := st.Speaker(m.c.Speakers.Slot(id)).Render(common.Fit(m.c.Speakers.Name(id), nameW))
		lines = append(lines, name+" "+m.timeline(id, cells))
	}
	return common.Box(st, "Activity", "", lines, m.width, m.height, false)
}

// timeline is one speaker's last cells buckets, oldest first.
func (m *Model) timeline(id string, cells int) string {
	st := m.c.Styles
	t := m.talk[id]
	talkStyle := st.Speaker(m.c.Speakers.Slot(id))
	var b strings.Builder
	for k := int64(cells - 1); k >= 0; k-- {
		i := (m.head - k) % Buckets
		if i < 0 {
			i += Buckets
		}
		n, of := uint16(0), m.ticks[i]
		if t != nil {
			n = t[i]
		}
		if n == 0 || of == 0 {
			b.WriteString(st.Hint.Render("·"))
			continue
		}
		lv := min(int(n)*len(levels)/int(of), len(levels)-1)
		b.WriteString(talkStyle.Render(levels[lv]))
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
