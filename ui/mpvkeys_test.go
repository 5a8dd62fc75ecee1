package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
)

// The keys a user of mpv, ffplay, less and glow expects (issue 10, item 14).

var (
	key0     = tea.KeyPressMsg{Code: '0', Text: "0"}
	key9     = tea.KeyPressMsg{Code: '9', Text: "9"}
	keySlash = tea.KeyPressMsg{Code: '/', Text: "/"}
	keyN     = tea.KeyPressMsg{Code: 'n', Text: "n"}
	keyShN   = tea.KeyPressMsg{Code: 'N', Text: "N"}
	keyS     = tea.KeyPressMsg{Code: 's', Text: "s"}
	keyEnter = tea.KeyPressMsg{Code: tea.KeyEnter}
	keyBksp  = tea.KeyPressMsg{Code: tea.KeyBackspace}
	keyLoud  = tea.KeyPressMsg{Code: ']', Text: "]"}
	keyQuiet = tea.KeyPressMsg{Code: '[', Text: "["}
)

func (f *fixture) typeText(s string) {
	for _, r := range s {
		f.key(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestMpvVolumeKeys(t *testing.T) {
	f := newFixture(t, true)
	f.key(key0)
	f.key(key0)
	f.key(key9)
	if want := []int{90, 100, 90}; !slices.Equal(f.pb.volumes, want) {
		t.Errorf("SetVolume calls %v, want %v (0 up, 9 down)", f.pb.volumes, want)
	}
}

func TestMouseWheelScrollsTranscript(t *testing.T) {
	f := newFixture(t, true)
	for i := range 40 {
		f.send(transport.TranscriptSegment{ID: string(rune('a' + i)), Speaker: "ada", Text: "line", Final: true})
	}
	if f.m.View().MouseMode != tea.MouseModeCellMotion {
		t.Error("the view does not ask for mouse events")
	}
	f.m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if f.m.transcript.Following() {
		t.Fatal("the wheel up does not scroll back")
	}
	for range 5 {
		f.m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	}
	if !f.m.transcript.Following() {
		t.Error("the wheel down to the newest line does not follow again")
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t, true)
	f.size(80, 24)
	f.key(keySlash)
	f.typeText("jitterq")
	f.key(keyBksp) // the q was typed, not a quit
	if l := lastLine(f.view()); !strings.Contains(l, "/jitter") || !strings.Contains(l, "enter") {
		t.Errorf("the footer does not show the search being typed: %q", l)
	}
	f.key(keyEnter)
	// "jitter is the cure" (11:20) and "Jitter is cheap" (11:45): the newest first.
	if q, cur, n := f.m.transcript.Query(); q != "jitter" || cur != 2 || n != 2 {
		t.Fatalf("query %q, match %d of %d; want jitter, 2 of 2", q, cur, n)
	}
	if !strings.Contains(strip(f.view()), "/jitter 2/2") {
		t.Errorf("the transcript does not say which match is shown:\n%s", strip(f.view()))
	}
	f.key(keyShN)
	if _, cur, _ := f.m.transcript.Query(); cur != 1 {
		t.Errorf("N shows match %d, want 1", cur)
	}
	f.key(keyN)
	f.key(keyN)
	if _, cur, _ := f.m.transcript.Query(); cur != 1 {
		t.Errorf("n twice from 1 of 2 shows %d, want 1 (wrapped)", cur)
	}
	// A match far back is scrolled into view.
	for i := range 60 {
		f.send(transport.TranscriptSegment{ID: "f" + string(rune('A'+i)), Speaker: "grace", Text: "filler", Final: true})
	}
	f.key(keySlash)
	f.typeText("welcome")
	f.key(keyEnter)
	if !strings.Contains(f.view(), "Welcome back") {
		t.Error("the match is not scrolled into view")
	}
	f.key(keyEsc)
	if q, _, _ := f.m.transcript.Query(); q != "" {
		t.Errorf("esc leaves the search %q", q)
	}
	f.key(keySlash)
	f.typeText("zzz")
	f.key(keyEnter)
	if !strings.Contains(strip(f.view()), "/zzz: no match") {
		t.Error("a search without matches does not say so")
	}
}

func TestSaveTranscript(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, true)
	f.m.opts.SaveDir = dir
	f.size(200, 24) // room for the temporary directory's long path
	cmd := f.key(keyS)
	if cmd == nil {
		t.Fatal("s returns no command")
	}
	f.m.Update(cmd())
	want := filepath.Join(dir, "spacetui-demo-20250314-183000.vtt")
	if v := strip(f.view()); !strings.Contains(v, "saved "+want) {
		t.Errorf("the status line does not show the path %s:\n%s", want, lineWith(v, "● live"))
	}
	data, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	vtt, err := webvtt.Parse(data)
	if err != nil || len(vtt.Malformed) > 0 {
		t.Fatalf("not valid WebVTT: %v %v\n%s", err, vtt.Malformed, data)
	}
	if len(vtt.Cues) != 4 {
		t.Fatalf("%d cues, want the 4 captions:\n%s", len(vtt.Cues), data)
	}
	if c := vtt.Cues[1]; c.Voice != "Grace" || c.Start != 11*time.Minute+20*time.Second || !strings.Contains(c.Text, "jitter is the cure") {
		t.Errorf("second cue %+v", c)
	}
	// A second save in the same second writes a second file.
	f.m.Update(f.key(keyS)())
	if _, err := os.Stat(filepath.Join(dir, "spacetui-demo-20250314-183000-2.vtt")); err != nil {
		t.Errorf("a second save: %v", err)
	}
	for id, want := range map[string]string{"demo": "demo", "a/b c": "a_b_c", "": "room", "../..": "room", "界": "_"} {
		if got := fileSafe(id); got != want && !(want == "_" && got == "room") {
			t.Errorf("fileSafe(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestCaptionLinks(t *testing.T) {
	f := newFixture(t, false)
	f.size(80, 24)
	long := "https://example.com/" + strings.Repeat("path/", 14) + "end"
	f.send(transport.Clean(transport.TranscriptSegment{ID: "u", Speaker: "ada", Start: 12 * time.Minute, Final: true,
		Text: "slides at https://example.com/talk. and \x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\ and " + long}))
	v := f.view()
	if !strings.Contains(v, ansi.SetHyperlink("https://example.com/talk")+"https://example.com/talk"+ansi.ResetHyperlink()) {
		t.Errorf("the URL is not a hyperlink (without the full stop):\n%q", v)
	}
	if strings.Contains(v, "evil.example") {
		t.Error("a hyperlink the server sent reached the screen")
	}
	if n := strings.Count(v, ansi.SetHyperlink(long)); n < 2 {
		t.Errorf("a URL wrapped over lines links %d parts to the whole, want 2 or more", n)
	}
	checkSize(t, v, 80, 24)
}

func TestSpeakerVolume(t *testing.T) {
	f := newFixture(t, true)
	f.size(80, 24)
	f.key(keyLoud)
	f.key(keyQuiet)
	f.key(keyQuiet)
	f.key(keyQuiet)
	want := []string{"ada=110%", "ada=100%", "ada=90%", "ada=80%"}
	if !slices.Equal(f.pb.speaker, want) {
		t.Errorf("SetSpeakerVolume calls %v, want %v", f.pb.speaker, want)
	}
	if line := lineWith(f.m.speakers.View(), "Ada"); !strings.Contains(line, "80%") {
		t.Errorf("Ada's row does not show her volume: %q", line)
	}
	for range 20 {
		f.key(keyQuiet)
	}
	if last := f.pb.speaker[len(f.pb.speaker)-1]; last != "ada=0%" {
		t.Errorf("speaker volume not clamped at 0: %s", last)
	}
}

// TestDelayBehindLive: the status line says how far behind live playback is, read once
// a second: the delay changes with every packet. A stream that reaches us late (an HLS
// stream's segments) adds its own delay, as the room last said it.
func TestDelayBehindLive(t *testing.T) {
	f := newFixture(t, true)
	at := t0
	f.m.now = func() time.Time { return at }
	for _, step := range []struct {
		later  time.Duration
		ms     int
		stream time.Duration
		want   string
	}{
		{500 * time.Millisecond, 1500, 0, "60 ms behind"},
		{500 * time.Millisecond, 1500, 0, "1.5 s behind"},
		{500 * time.Millisecond, 80, 0, "1.5 s behind"},
		{time.Second, 80, 9 * time.Second, "9.1 s behind"},
		{time.Second, 120, 2 * time.Second, "2.1 s behind"},
	} {
		at = at.Add(step.later)
		f.pb.snap.BufferMs, f.pb.snap.BehindLive = step.ms, step.stream
		f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
		if l := lineWith(f.view(), "● live"); !strings.Contains(l, step.want) {
			t.Errorf("%v after the first snapshot, status line %q; want %q", at.Sub(t0), l, step.want)
		}
	}
}
