package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// The screen against what a broken or hostile server sends (issue 10, item 6). Every
// event passes through transport.Clean first, as a protocol passes it.

func (f *fixture) sendClean(evs ...transport.Event) {
	for _, ev := range evs {
		f.send(transport.Clean(ev))
	}
}

func TestEmptyCaptionShowsNoRow(t *testing.T) {
	for _, text := range []string{"", "   ", "\x1b[2J"} {
		f := newFixture(t, true)
		before := f.m.transcript.View()
		f.sendClean(transport.TranscriptSegment{ID: "e", Speaker: "ada", Start: 12 * time.Minute, Text: text, Final: true})
		if got := f.m.transcript.View(); got != before {
			t.Errorf("caption %q changed the transcript:\n%s", text, got)
		}
	}
	// A partial taken back (replaced by an empty final) leaves no row either.
	f := newFixture(t, true)
	f.send(transport.TranscriptSegment{ID: "p", Speaker: "grace", Start: 12 * time.Minute, Text: "uh"})
	f.send(transport.TranscriptSegment{ID: "p", Speaker: "grace", Start: 12 * time.Minute, Final: true})
	for l := range strings.SplitSeq(strip(f.view()), "\n") {
		if strings.Contains(l, "12:00 Grace") {
			t.Errorf("a taken-back partial leaves a row: %q", l)
		}
	}
}

func TestEmptyRosterKeepsSpeakersWhileHeard(t *testing.T) {
	f := newFixture(t, true) // Ada is talking in the snapshot
	f.sendClean(transport.Roster{})
	if v := strip(f.m.speakers.View()); !strings.Contains(v, "Ada") || strings.Contains(v, "no speakers yet") {
		t.Fatalf("an empty roster while Ada talks emptied the list:\n%s", v)
	}
	// Ten seconds later Ada is still heard: the list stays.
	at := t0.Add(10 * time.Second)
	f.m.now = func() time.Time { return at }
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	if v := strip(f.m.speakers.View()); !strings.Contains(v, "Grace") {
		t.Fatalf("the list emptied while a speaker on it is heard:\n%s", v)
	}
	// The room falls silent: the empty roster was real, and the list empties.
	f.pb.snap.Speakers = []audio.SpeakerLevel{{ID: "ada"}}
	for _, d := range []time.Duration{11 * time.Second, 16 * time.Second} {
		at = t0.Add(d)
		f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	}
	if v := strip(f.m.speakers.View()); strings.Contains(v, "Grace") || !strings.Contains(v, "no speakers yet") {
		t.Errorf("a real empty roster never emptied the list:\n%s", v)
	}
	// A new roster is shown at once.
	f.sendClean(transport.Roster{Speakers: []transport.Speaker{{ID: "ada", Name: "Ada"}}})
	if v := strip(f.m.speakers.View()); !strings.Contains(v, "Ada") {
		t.Errorf("the next roster is not shown:\n%s", v)
	}
}

func TestEmptyRosterFlickerIgnored(t *testing.T) {
	f := newFixture(t, true)
	f.pb.snap.Speakers = nil // nobody talking
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	f.sendClean(transport.Roster{})
	f.sendClean(room()[2]) // the full roster again at once
	at := t0.Add(time.Minute)
	f.m.now = func() time.Time { return at }
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	if v := strip(f.m.speakers.View()); !strings.Contains(v, "Grace") {
		t.Errorf("an empty roster followed by a full one emptied the list:\n%s", v)
	}
}

func headerLine(view string) string { return strings.Split(strip(view), "\n")[0] }

func TestAbsurdStartTime(t *testing.T) {
	for name, started := range map[string]time.Time{
		"10^15 ms":        time.UnixMilli(1e15),
		"overflowed ns":   time.Date(1903, 2, 1, 0, 0, 0, 0, time.UTC), // what an int64 overflow of 10^21 ns leaves
		"122 years ago":   t0.Add(-1076616 * time.Hour),
		"an hour ahead":   t0.Add(time.Hour),
		"year 1":          time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		"a day and a bit": t0.Add(-(26*time.Hour + 3*time.Minute)),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, true)
			f.sendClean(transport.RoomInfo{ID: "demo", Title: "T", Started: started, Listeners: 3})
			h := headerLine(f.view())
			for _, field := range strings.Fields(h) {
				if strings.Count(field, ":") == 2 && len(field) > len("99:59:59") {
					t.Errorf("header shows an absurd elapsed time: %q", h)
				}
			}
			if name == "a day and a bit" && !strings.Contains(h, "26:03:00") {
				t.Errorf("a plausible age is not shown: %q", h)
			}
		})
	}
}

func TestBackwardsGap(t *testing.T) {
	f := newFixture(t, true)
	f.sendClean(
		transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1},
		transport.Gap{From: started.Add(12 * time.Minute), To: started.Add(12*time.Minute - 4*time.Second), Why: "discontinuity"},
		transport.State{State: transport.StateLive},
	)
	v := strip(f.view())
	if strings.Contains(v, "-4.0") || strings.Contains(v, "-4 s") {
		t.Errorf("a backwards gap shows a negative loss:\n%s", v)
	}
	if !strings.Contains(v, "audio lost (discontinuity)") {
		t.Errorf("the backwards gap is not marked at all:\n%s", v)
	}
}

// cellsPerRune measures s as a terminal that draws code point by code point does (tmux
// 3.3): every code point at its own width, no grapheme clusters.
func cellsPerRune(s string) int {
	n := 0
	for _, r := range strip(s) {
		n += lipgloss.Width(string(r))
	}
	return n
}

// TestEmojiWidthsAgree: skin tones, VS16, ZWJ families and flags in every piece of room
// text; each line must be the screen's width both as Lip Gloss measures it (grapheme
// clusters) and as a code-point terminal draws it, at several sizes.
func TestEmojiWidthsAgree(t *testing.T) {
	emoji := "👍🏽 ❤️ 👨‍👩‍👧 🇺🇸 ☺️ 1️⃣ ok"
	for _, sz := range []struct{ w, h int }{{80, 24}, {60, 20}, {120, 40}, {40, 12}, {69, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			f := newFixture(t, true)
			f.sendClean(
				transport.RoomInfo{ID: "demo", Title: emoji + " title", Started: started, Listeners: 5},
				transport.Roster{Speakers: []transport.Speaker{
					{ID: "ada", Name: "Ada " + emoji, Role: "👍🏽"},
					{ID: "grace", Name: "❤️❤️❤️"},
				}},
				transport.TranscriptSegment{ID: "x", Speaker: "ada", Start: 12 * time.Minute, Text: emoji + " " + emoji, Final: true},
				transport.TranscriptSegment{ID: "y", Speaker: "grace", Start: 12 * time.Minute, Text: emoji},
			)
			f.size(sz.w, sz.h)
			v := f.view()
			checkSize(t, v, sz.w, sz.h)
			for i, l := range strings.Split(v, "\n") {
				if got := cellsPerRune(l); got != sz.w {
					t.Errorf("line %d is %d cells on a code-point terminal, want %d: %q", i, got, sz.w, strip(l))
				}
			}
			if !strings.Contains(strip(v), "👍") {
				t.Error("the base emoji is gone")
			}
		})
	}
}

// TestLongSpeakerIDLabelledByName: transport bounds ids to transport.MaxNameRunes; the
// roster and the captions name the same cut id, so the caption shows the name.
func TestLongSpeakerIDLabelledByName(t *testing.T) {
	id := strings.Repeat("speaker-", 20) // 160 runes
	f := newFixture(t, true)
	f.sendClean(
		transport.Roster{Speakers: []transport.Speaker{{ID: id, Name: "Margaret"}}},
		transport.TranscriptSegment{ID: "m1", Speaker: id, Start: 12 * time.Minute, Text: "hello from a long id", Final: true},
	)
	if l := lineWith(f.view(), "hello from a long id"); !strings.Contains(l, "Margaret") && !strings.Contains(l, "Marg") {
		t.Errorf("caption of a long id is not labelled by the name: %q", l)
	}
}
