package common

import (
	"strings"
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

func TestAbout(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "~40 s", 39100 * time.Millisecond: "~40 s", 59 * time.Second: "~59 s",
		59001 * time.Millisecond: "~1 min", 89 * time.Second: "~1 min", 90 * time.Second: "~2 min",
		10 * time.Minute: "~10 min", 0: "~0 s", -time.Second: "~0 s",
	} {
		if got := About(d); got != want {
			t.Errorf("About(%v) = %q, want %q", d, got, want)
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

func TestClockLong(t *testing.T) {
	for d, want := range map[time.Duration]string{
		99*time.Hour + 59*time.Minute + 59*time.Second: "99:59:59",
		100 * time.Hour:              "4d 04:00:00",
		time.Duration(1<<63 - 1):     "106751d 23:47:16",
		366*24*time.Hour + time.Hour: "366d 01:00:00",
	} {
		if got := Clock(d); got != want {
			t.Errorf("Clock(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRoomAge(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		started time.Time
		want    time.Duration
		known   bool
	}{
		{"unknown", time.Time{}, 0, false},
		{"an hour", now.Add(-time.Hour), time.Hour, true},
		{"skew", now.Add(10 * time.Second), 0, true},
		{"future", now.Add(time.Hour), 0, false},
		{"10^15 ms", time.UnixMilli(1e15), 0, false},
		{"1903", time.Date(1903, 1, 1, 0, 0, 0, 0, time.UTC), 0, false},
	}
	for _, tt := range tests {
		d, ok := RoomAge(tt.started, now)
		if d != tt.want || ok != tt.known {
			t.Errorf("%s: RoomAge = %v, %t; want %v, %t", tt.name, d, ok, tt.want, tt.known)
		}
	}
}

func TestReduce(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"界":              "界",
		"👍🏽 thumbs":      "👍 thumbs",
		"❤️":             "❤",
		"👨‍👩‍👧 family":   "👨 family",
		"👩🏽‍💻":           "👩",
		"🇺🇸 and 🇫🇷":      "US and FR",
		"🇺":              "U",
		"🏴󠁧󠁢󠁥󠁮󠁧󠁿":        "🏴",
		"1️⃣":            "1⃣",
		"क्‍ष":           "क्‍ष", // a ZWJ that shapes a script stays
		"a\u200db":       "a\u200db",
		"x\ufe0fy\ufe0e": "xy",
	} {
		got := Reduce(in)
		if got != want {
			t.Errorf("Reduce(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsRune(in, 'क') {
			continue // Indic conjuncts have width troubles of their own, not emoji's
		}
		perRune := 0
		for _, r := range got {
			perRune += lipgloss.Width(string(r))
		}
		if w := lipgloss.Width(got); w != perRune {
			t.Errorf("Reduce(%q) = %q measures %d cells as clusters, %d code point by code point", in, got, w, perRune)
		}
	}
	if testing.AllocsPerRun(10, func() { Reduce("no emoji here, 界") }) != 0 {
		t.Error("Reduce allocates for text it leaves alone")
	}
}
