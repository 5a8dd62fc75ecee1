package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/transport"
)

// Small terminals and the states a new user meets first (issue 10, items 8 and 12).

func lastLine(view string) string {
	lines := strings.Split(strip(view), "\n")
	return lines[len(lines)-1]
}

func TestFooterKeepsHelpAndQuit(t *testing.T) {
	for _, w := range []int{20, 30, 40, 50, 60, 80} {
		f := newFixture(t, true)
		f.size(w, 12)
		l := lastLine(f.view())
		if w >= 20 && (!strings.Contains(l, "? help") || !strings.Contains(l, "q quit")) {
			t.Errorf("at %d columns the footer %q lacks ? help or q quit", w, l)
		}
		if strings.Contains(l, "…") {
			t.Errorf("at %d columns the footer is cut: %q", w, l)
		}
	}
}

// TestHelpOverlayNotCut: at 40x12 every line of the help can be read whole, scrolling
// with ↓ where it is taller than the screen.
func TestHelpOverlayNotCut(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{40, 12}, {40, 8}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			f := newFixture(t, true)
			f.size(sz.w, sz.h)
			f.key(keyHelp)
			seen := ""
			for range 40 {
				seen += strip(f.view())
				f.key(keyDown)
			}
			for _, g := range f.m.keys.FullHelp() {
				for _, b := range g {
					if !b.Enabled() {
						continue
					}
					h := b.Help()
					if !strings.Contains(seen, h.Key) || !strings.Contains(seen, h.Desc) {
						t.Errorf("the help at %dx%d never shows %q %q whole", sz.w, sz.h, h.Key, h.Desc)
					}
				}
			}
		})
	}
}

func TestTinyScreenHasTranscriptRows(t *testing.T) {
	f := newFixture(t, true)
	f.size(20, 6)
	v := f.view()
	checkSize(t, v, 20, 6)
	if !strings.Contains(strip(v), "back off") && !strings.Contains(strip(v), "So the") {
		t.Errorf("at 20x6 no caption is shown:\n%s", strip(v))
	}
}

func TestNoSoundIsShort(t *testing.T) {
	f := newFixture(t, true)
	f.pb.snap.OutputErr = "no sound device: PortAudio: Invalid device (ALSA lib pcm.c:2721 unknown PCM default)"
	f.pb.snap.Output = "none"
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	f.size(80, 24)
	line := lineWith(f.view(), "● live")
	if !strings.Contains(line, "no sound") || strings.Contains(line, "PortAudio") {
		t.Errorf("status line %q: want a short 'no sound'", line)
	}
	if !strings.Contains(line, "vol 80%") {
		t.Errorf("the figures are pushed off the status line: %q", line)
	}
	f.key(keyHelp)
	if !strings.Contains(strip(f.view()), "Invalid device") {
		t.Errorf("the help does not carry the sound detail:\n%s", strip(f.view()))
	}
}

func TestMutedSpeakerStillShowsTalking(t *testing.T) {
	f := newFixture(t, true) // Ada talks
	f.size(80, 24)
	f.key(keyMuteSpeaker)
	if line := lineWith(f.m.speakers.View(), "Ada"); !strings.Contains(line, "▷ Ada") {
		t.Errorf("a muted speaker who talks is not shown talking: %q", line)
	}
	f.size(60, 20)
	if line := strings.Split(strip(f.view()), "\n")[1]; !strings.Contains(line, "▷ Ada") {
		t.Errorf("compact roster: a muted speaker who talks is not shown talking: %q", line)
	}
}

func TestOfflineHeaderClaimsNoListeners(t *testing.T) {
	f := newFixture(t, true)
	f.send(transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1})
	if h := headerLine(f.view()); strings.Contains(h, "listening") {
		t.Errorf("offline header still counts listeners: %q", h)
	}
	f.send(transport.State{State: transport.StateLive})
	if h := headerLine(f.view()); !strings.Contains(h, "1,284 listening") {
		t.Errorf("live header lacks the count: %q", h)
	}
}

func TestUnreachableNamesTheHost(t *testing.T) {
	f := newFixture(t, true)
	f.send(transport.State{State: transport.StateReconnecting, Reason: transport.ReasonUnreachable, Attempt: 2,
		Detail: "cannot reach 127.0.0.1:9 (connection refused)"})
	v := strip(f.view())
	if !strings.Contains(v, "cannot reach 127.0.0.1:9") {
		t.Errorf("the screen does not name the host being reached:\n%s", v)
	}
}

// TestActivityOnWideScreens: from 120x40 the speakers column tells who talked when and
// how loud the room is; below it there is no room for it.
func TestActivityOnWideScreens(t *testing.T) {
	f := newFixture(t, true)
	f.talkHistory()
	for _, sz := range []struct {
		w, h int
		want bool
	}{{80, 24, false}, {119, 40, false}, {120, 39, false}, {120, 40, true}, {200, 50, true}} {
		f.size(sz.w, sz.h)
		v := strip(f.view())
		checkSize(t, f.view(), sz.w, sz.h)
		if got := strings.Contains(v, "Activity"); got != sz.want {
			t.Errorf("%dx%d: activity pane shown %t, want %t", sz.w, sz.h, got, sz.want)
		}
		if sz.want && (!strings.Contains(lineWith(v, "│ Grace "), "█") || !strings.Contains(v, "│ room  █")) {
			t.Errorf("%dx%d: no timeline or room meter:\n%s", sz.w, sz.h, v)
		}
	}
}
