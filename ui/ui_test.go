package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixed "now" of every test; the room started 12:04 before it.
var (
	t0      = time.Date(2025, 3, 14, 18, 30, 0, 0, time.UTC)
	started = t0.Add(-(12*time.Minute + 4*time.Second))
)

// fakePlayback records every call; Snapshot returns a fixed picture.
type fakePlayback struct {
	mu      sync.Mutex
	snap    session.Snapshot
	volumes []int
	muted   []bool
	speaker []string // "id=true"
}

func (f *fakePlayback) Snapshot() session.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakePlayback) SetVolume(pct int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.volumes = append(f.volumes, pct)
}

func (f *fakePlayback) SetMuted(muted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.muted = append(f.muted, muted)
}

func (f *fakePlayback) SetSpeakerMuted(id string, muted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.speaker = append(f.speaker, fmt.Sprintf("%s=%t", id, muted))
}

func (f *fakePlayback) SetSpeakerVolume(id string, pct int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.speaker = append(f.speaker, fmt.Sprintf("%s=%d%%", id, pct))
}

func newPlayback() *fakePlayback {
	return &fakePlayback{snap: session.Snapshot{
		Snapshot: audio.Snapshot{
			Speakers: []audio.SpeakerLevel{
				{ID: "ada", Level: 0.8, Talking: true},
				{ID: "grace", Level: 0.02},
				{ID: "linus", Level: 0},
			},
			BufferMs: 60, LossPct: 0, Volume: 80, Output: "default",
		},
		Decoding:  true,
		Recording: record.Stats{Dir: "/tmp/rec", Seconds: (4*time.Minute + 12*time.Second).Seconds()},
	}}
}

// room is the scripted room of the golden files: three speakers, final and partial
// captions (one partial already replaced by a longer one), and one gap.
func room() []transport.Event {
	seg := func(id, who string, at time.Duration, text string, final bool) transport.TranscriptSegment {
		return transport.TranscriptSegment{ID: id, Speaker: who, Start: at, End: at + 4*time.Second, Text: text, Final: final}
	}
	return []transport.Event{
		transport.State{State: transport.StateConnecting},
		transport.RoomInfo{ID: "demo", Title: "Keeping rooms alive under load", Started: started, Listeners: 1284},
		transport.Roster{Speakers: []transport.Speaker{
			{ID: "ada", Name: "Ada", Role: "host"},
			{ID: "grace", Name: "Grace"},
			{ID: "linus", Name: "Linus", Muted: true},
		}},
		transport.State{State: transport.StateLive},
		seg("s1", "ada", 11*time.Minute+2*time.Second, "Welcome back. Today: what happens when a server melts under load.", true),
		seg("s2", "grace", 11*time.Minute+20*time.Second, "Retry storms are the real enemy.", false),
		seg("s2", "grace", 11*time.Minute+20*time.Second, "Retry storms are the real enemy; jitter is the cure.", true),
		transport.Gap{From: started.Add(11*time.Minute + 30*time.Second), To: started.Add(11*time.Minute + 42400*time.Millisecond), Why: "dropped"},
		seg("s3", "linus", 11*time.Minute+45*time.Second, "Jitter is cheap; outages are not.", true),
		seg("s4", "ada", 12*time.Minute, "So the client", false),
		seg("s4", "ada", 12*time.Minute, "So the client has to back off and", false),
	}
}

type fixture struct {
	m  *Model
	pb *fakePlayback
	// retries counts calls of RetryNow.
	retries int
}

func newFixture(t testing.TB, noColor bool) *fixture {
	t.Helper()
	f := &fixture{pb: newPlayback()}
	f.m = New(Options{
		Playback: f.pb,
		RetryNow: func() { f.retries++ },
		NoColor:  noColor,
		Now:      func() time.Time { return t0 },
	})
	f.send(room()...)
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
	return f
}

// talkHistory plays ten minutes of snapshots before t0, one a second: Ada and Grace
// take turns of 40 s with a pause, Linus (muted) says nothing, so the activity pane has
// a story to tell. The clock and the snapshot are t0's again afterwards.
func (f *fixture) talkHistory() {
	for k := 600; k > 0; k-- {
		at := t0.Add(-time.Duration(k) * time.Second)
		f.m.now = func() time.Time { return at }
		phase := k % 100
		snap := f.pb.Snapshot()
		snap.Speakers = []audio.SpeakerLevel{
			{ID: "ada", Level: 0.6, Talking: phase < 40 && k%7 != 0},
			{ID: "grace", Level: 0.3, Talking: phase >= 50 && phase < 90},
			{ID: "linus"},
		}
		f.m.Update(snapshotMsg{snap: snap})
	}
	f.m.now = func() time.Time { return t0 }
	f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
}

func (f *fixture) send(evs ...transport.Event) {
	for _, ev := range evs {
		f.m.Update(eventMsg{ev})
	}
}

func (f *fixture) key(k tea.KeyPressMsg) tea.Cmd {
	_, cmd := f.m.Update(k)
	return cmd
}

func (f *fixture) size(w, h int) { f.m.Update(tea.WindowSizeMsg{Width: w, Height: h}) }

func (f *fixture) view() string { return f.m.View().Content }

// The keys as a terminal reports them.
var (
	keyPlus   = tea.KeyPressMsg{Code: '+', Text: "+"}
	keyEquals = tea.KeyPressMsg{Code: '=', Text: "="}
	keyMinus  = tea.KeyPressMsg{Code: '-', Text: "-"}
	keySpace  = tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	keyM      = tea.KeyPressMsg{Code: 'm', Text: "m"}
	// keyMuteSpeaker mutes the selected speaker.
	keyMuteSpeaker = tea.KeyPressMsg{Code: 'x', Text: "x"}
	keyQ           = tea.KeyPressMsg{Code: 'q', Text: "q"}
	keyR           = tea.KeyPressMsg{Code: 'r', Text: "r"}
	keyHelp        = tea.KeyPressMsg{Code: '?', Text: "?"}
	keyEsc         = tea.KeyPressMsg{Code: tea.KeyEscape}
	keyCtrlC       = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	keyTab         = tea.KeyPressMsg{Code: tea.KeyTab}
	keyDown        = tea.KeyPressMsg{Code: tea.KeyDown}
	keyJ           = tea.KeyPressMsg{Code: 'j', Text: "j"}
	keyK           = tea.KeyPressMsg{Code: 'k', Text: "k"}
	keyPgUp        = tea.KeyPressMsg{Code: tea.KeyPgUp}
	keyPgDown      = tea.KeyPressMsg{Code: tea.KeyPgDown}
	keyHome        = tea.KeyPressMsg{Code: tea.KeyHome}
	keyEnd         = tea.KeyPressMsg{Code: tea.KeyEnd}
)

func TestGolden(t *testing.T) {
	states := map[string][]transport.Event{
		"live": nil,
		"reconnecting": {transport.State{
			State: transport.StateReconnecting, Reason: transport.ReasonOverloaded,
			Attempt: 3, RetryIn: 7 * time.Second, Detail: "503 Service Unavailable",
		}},
		"stalled": {transport.State{State: transport.StateStalled, Reason: transport.ReasonStalled, Silence: 2 * time.Second}},
	}
	sizes := []struct{ w, h int }{{80, 24}, {60, 20}, {120, 40}, {200, 50}, {40, 12}}
	for name, evs := range states {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", name, sz.w, sz.h), func(t *testing.T) {
				f := newFixture(t, false)
				f.talkHistory()
				if name == "stalled" {
					// The stall was reported 2 s ago, after 2 s without data.
					at := t0.Add(-2 * time.Second)
					f.m.now = func() time.Time { return at }
					f.send(evs...)
					f.m.now = func() time.Time { return t0 }
				} else {
					f.send(evs...)
				}
				f.size(sz.w, sz.h)
				golden(t, fmt.Sprintf("%s_%dx%d", name, sz.w, sz.h), f.view(), sz.w, sz.h)
			})
		}
	}
	t.Run("live_80x24_nocolor", func(t *testing.T) {
		f := newFixture(t, true)
		f.size(80, 24)
		v := f.view()
		noColour(t, v)
		golden(t, "live_80x24_nocolor", v, 80, 24)
	})
	t.Run("help_80x24", func(t *testing.T) {
		f := newFixture(t, false)
		f.size(80, 24)
		f.key(keyHelp)
		golden(t, "help_80x24", f.view(), 80, 24)
	})
}

// golden compares view with testdata/name.golden, ANSI and all, after checking that the
// view fills exactly w x h cells.
func golden(t *testing.T, name, view string, w, h int) {
	t.Helper()
	checkSize(t, view, w, h)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(view), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui/... -update to create it)", err)
	}
	if string(want) != view {
		t.Errorf("%s differs from the view; got (colour stripped):\n%s\nwant:\n%s",
			path, strip(view), strip(string(want)))
	}
}

func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := lipgloss.Width(l); got != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, got, w, strip(l))
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[([0-9;:]*)m")

func strip(s string) string { return sgr.ReplaceAllString(s, "") }

// noColour fails if any SGR sequence in s sets a colour.
func noColour(t *testing.T, s string) {
	t.Helper()
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			var n int
			fmt.Sscan(p, &n)
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				t.Fatalf("colour SGR %q in a NO_COLOR view", m[0])
			}
		}
	}
	if strings.Contains(s, "\x1b]") {
		t.Fatal("OSC sequence in the view")
	}
}
