package speakers

import (
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/styles"
)

func TestMeter(t *testing.T) {
	for _, tt := range []struct {
		level float64
		width int
		cells int
	}{{0, 8, 0}, {-1, 8, 0}, {1, 8, 8}, {4, 8, 8}, {0.25, 8, 4}, {0.0001, 8, 1}} {
		got := Meter(tt.level, tt.width)
		if w := lipgloss.Width(got); w != tt.cells {
			t.Errorf("Meter(%v, %d) = %q, %d cells, want %d", tt.level, tt.width, got, w, tt.cells)
		}
	}
}

// TestLevelsMoveOnVisibleSteps: a new level redraws the pane only when a meter shown
// moves by a step it can draw, or a speaker shown begins or stops talking.
func TestLevelsMoveOnVisibleSteps(t *testing.T) {
	m := New(common.Common{Styles: styles.New(true), Speakers: common.NewDirectory()})
	m.SetSize(30, 4) // two rows: Cy is below them
	m.SetSpeakers([]transport.Speaker{{ID: "a", Name: "Ada"}, {ID: "b", Name: "Bob"}, {ID: "c", Name: "Cy"}})
	m.SetLevels(map[string]Level{"a": {Level: 0.5}})
	v := m.View()
	for _, tt := range []struct {
		name   string
		levels map[string]Level
		moved  bool
	}{
		{"the same", map[string]Level{"a": {Level: 0.5}}, false},
		{"within a step", map[string]Level{"a": {Level: 0.5001}}, false},
		{"a step", map[string]Level{"a": {Level: 0.6}}, true},
		{"talking", map[string]Level{"a": {Level: 0.6, Talking: true}}, true},
		{"below the pane", map[string]Level{"a": {Level: 0.6, Talking: true}, "c": {Level: 0.9, Talking: true}}, false},
	} {
		if moved := m.SetLevels(tt.levels); moved != tt.moved {
			t.Errorf("%s: moved %t, want %t", tt.name, moved, tt.moved)
		}
		if got := m.View(); (got != v) != tt.moved {
			t.Errorf("%s: the pane was drawn again: %t, want %t", tt.name, got != v, tt.moved)
		} else {
			v = got
		}
	}
}
