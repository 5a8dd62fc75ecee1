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
