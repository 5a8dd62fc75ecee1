package common

import (
	"testing"
	"time"

	"charm.land/lipgloss/v2"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1284: "1,284", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "00:00", -time.Second: "00:00", 4*time.Minute + 12*time.Second: "04:12",
		time.Hour + 2*time.Minute + 3*time.Second: "1:02:03",
	} {
		if got := Clock(d); got != want {
			t.Errorf("Clock(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTruncateAndFit(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"hello", 10, "hello     "},
		{"hello world", 8, "hello w…"},
		{"界界界界", 5, "界界…"},
		{"界界界", 4, "界… "},
		{"x", 0, ""},
	}
	for _, tt := range tests {
		got := Fit(tt.in, tt.w)
		if got != tt.want || lipgloss.Width(got) != tt.w {
			t.Errorf("Fit(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
	}
	if got := ClampRunes("abcdef", 4); got != "abc…" {
		t.Errorf("ClampRunes = %q", got)
	}
}
