package activity

import (
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/styles"
)

func TestTimeline(t *testing.T) {
	dir := common.NewDirectory()
	dir.Update([]transport.Speaker{{ID: "a", Name: "Ada"}, {ID: "g", Name: "Grace"}})
	m := New(common.Common{Styles: styles.New(true), Speakers: dir})
	m.SetSpeakers([]string{"a", "g"})
	m.SetSize(40, 8)
	t0 := time.Unix(1_000_000, 0)
	// Ada talks through the first 20 s, Grace through the last 10 s of a minute.
	for s := range 60 {
		at := t0.Add(time.Duration(s) * time.Second)
		m.Record(at, map[string]bool{"a": s < 20, "g": s >= 50}, 0.5)
	}
	v := m.View()
	for i, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w != 40 {
			t.Errorf("line %d is %d cells, want 40", i, w)
		}
	}
	ada, grace := ansi.Strip(lineOf(v, "Ada")), ansi.Strip(lineOf(v, "Grace"))
	if !strings.HasSuffix(ada, "██···· │") || !strings.HasSuffix(grace, "·····█ │") {
		t.Errorf("timelines:\n%q\n%q\n%s", ada, grace, v)
	}
	// Twenty minutes later all of it has scrolled away.
	m.Record(t0.Add(20*time.Minute), map[string]bool{}, 0)
	if strings.ContainsAny(lineOf(m.View(), "Ada"), "▂▃▄▅▆▇█") {
		t.Errorf("old talk still shown: %q", lineOf(m.View(), "Ada"))
	}
}

func lineOf(view, s string) string {
	for l := range strings.SplitSeq(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestSlowTicksWeighTheirTime: the tick slows down in silence, and a cell still says
// how much of its time a speaker talked, not how many ticks; the room meter reports a
// move only when it moves by a step it can draw.
func TestSlowTicksWeighTheirTime(t *testing.T) {
	dir := common.NewDirectory()
	dir.Update([]transport.Speaker{{ID: "a", Name: "Ada"}})
	m := New(common.Common{Styles: styles.New(true), Speakers: dir})
	m.SetSpeakers([]string{"a"})
	m.SetSize(40, 8)
	t0 := time.Unix(1_000_000, 0) // the start of a cell
	m.Record(t0.Add(-time.Second), nil, 0)
	m.View()
	// Ada talks through the first half of the cell at 20 Hz; the second half is silent
	// and ticks at 4 Hz.
	for at := time.Duration(0); at < Bucket/2; at += 50 * time.Millisecond {
		m.Record(t0.Add(at), map[string]bool{"a": true}, 0.5)
	}
	for at := Bucket / 2; at < Bucket; at += 250 * time.Millisecond {
		m.Record(t0.Add(at), nil, 0.5)
	}
	if ada := ansi.Strip(lineOf(m.View(), "Ada")); !strings.HasSuffix(ada, "·"+levels[3]+" │") {
		t.Errorf("half a cell of talk is drawn %q, want %s", ada, levels[3])
	}
	if m.Record(t0.Add(Bucket-time.Millisecond), nil, 0.50001) {
		t.Error("the room meter moved within a step")
	}
	if !m.Record(t0.Add(Bucket-time.Millisecond), nil, 0.6) {
		t.Error("the room meter moved a step unreported")
	}
}
