package speakers

import (
	"testing"

	"charm.land/lipgloss/v2"
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
