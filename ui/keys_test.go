package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/spacetui/spacetui/internal/fakeclock"
	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
)

func TestKeyStrings(t *testing.T) {
	// The bindings match on String(); pin what v2 reports for the keys we use.
	for k, want := range map[tea.KeyPressMsg]string{
		keyPlus: "+", keyEquals: "=", keyMinus: "-", keySpace: "space", keyCtrlC: "ctrl+c",
		keyTab: "tab", keyPgUp: "pgup", keyPgDown: "pgdown", keyHome: "home", keyEnd: "end",
		keyHelp: "?", keyDown: "down", keyEsc: "esc",
	} {
		if got := k.String(); got != want {
			t.Errorf("key %+v is %q, want %q", k, got, want)
		}
	}
}

func TestVolumeClamp(t *testing.T) {
	tests := []struct {
		name  string
		keys  []tea.KeyPressMsg
		start int
		want  []int
	}{
		{"up", []tea.KeyPressMsg{keyPlus}, 80, []int{90}},
		{"equals is up", []tea.KeyPressMsg{keyEquals, keyEquals}, 80, []int{90, 100}},
		{"down", []tea.KeyPressMsg{keyMinus}, 80, []int{70}},
		{"clamped at 150", slices.Repeat([]tea.KeyPressMsg{keyPlus}, 10), 80,
			[]int{90, 100, 110, 120, 130, 140, 150, 150, 150, 150}},
		{"clamped at 0", slices.Repeat([]tea.KeyPressMsg{keyMinus}, 3), 20, []int{10, 0, 0}},
		{"from 145", []tea.KeyPressMsg{keyPlus}, 145, []int{150}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.pb.snap.Volume = tt.start
			f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
			for _, k := range tt.keys {
				f.key(k)
			}
			if !slices.Equal(f.pb.volumes, tt.want) {
				t.Errorf("SetVolume calls %v, want %v", f.pb.volumes, tt.want)
			}
			last := tt.want[len(tt.want)-1]
			// A stale snapshot does not undo what the user set.
			f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
			if want := fmt.Sprintf("vol %d%%", last); !strings.Contains(f.view(), want) {
				t.Errorf("status line lacks %q", want)
			}
		})
	}
}

func TestMuteToggles(t *testing.T) {
	f := newFixture(t, true)
	f.key(keySpace)
	if !strings.Contains(f.view(), "muted (vol 80%)") {
		t.Error("status line does not say muted")
	}
	f.key(keySpace)
	if !slices.Equal(f.pb.muted, []bool{true, false}) {
		t.Errorf("SetMuted calls %v, want [true false]", f.pb.muted)
	}

	// m mutes all, as in mpv.
	f.key(keyM)
	f.key(keyM)
	if !slices.Equal(f.pb.muted, []bool{true, false, true, false}) {
		t.Errorf("SetMuted calls %v, want m to toggle as space does", f.pb.muted)
	}

	// Ada is selected first; x mutes her, x again unmutes; j moves to Grace.
	f.key(keyMuteSpeaker)
	if line := lineWith(f.view(), "Ada"); !strings.Contains(line, "muted") || !strings.Contains(line, "✕") {
		t.Errorf("Ada's row does not show muted: %q", line)
	}
	f.key(keyMuteSpeaker)
	f.key(keyJ)
	f.key(keyMuteSpeaker)
	f.key(keyK)
	want := []string{"ada=true", "ada=false", "grace=true"}
	if !slices.Equal(f.pb.speaker, want) {
		t.Errorf("SetSpeakerMuted calls %v, want %v", f.pb.speaker, want)
	}
}

func TestMuteSpeakerWithoutRoster(t *testing.T) {
	pb := newPlayback()
	m := New(Options{Playback: pb, Now: func() time.Time { return t0 }})
	m.Update(keyMuteSpeaker)
	if len(pb.speaker) != 0 {
		t.Errorf("SetSpeakerMuted called with no speakers: %v", pb.speaker)
	}
}

func lineWith(view, s string) string {
	for l := range strings.SplitSeq(strip(view), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestScrollStopsFollowingAndEndResumes(t *testing.T) {
	f := newFixture(t, true)
	f.size(80, 24)
	for i := range 60 {
		f.send(transport.TranscriptSegment{ID: fmt.Sprint("n", i), Speaker: "grace",
			Start: time.Duration(i) * time.Second, Text: fmt.Sprintf("line number %d", i), Final: true})
	}
	if !strings.Contains(f.view(), "line number 59") {
		t.Fatal("the newest line is not shown while following")
	}
	f.key(keyPgUp)
	if f.m.transcript.Following() {
		t.Fatal("still following after PgUp")
	}
	before := f.view()
	if strings.Contains(before, "line number 59") {
		t.Error("the newest line is still shown after PgUp")
	}
	if !strings.Contains(before, "end to follow") {
		t.Error("no hint that the view is scrolled back")
	}
	// New lines arrive while the user reads back: the view stays put.
	f.send(transport.TranscriptSegment{ID: "late", Speaker: "ada", Text: "arrived while reading", Final: true})
	if got, want := lineWith(f.view(), "line number"), lineWith(before, "line number"); got != want {
		t.Errorf("view moved while reading back: first line %q, was %q", got, want)
	}
	if strings.Contains(f.view(), "arrived while reading") {
		t.Error("a new line pulled the view to the tail")
	}
	f.key(keyHome)
	if !strings.Contains(f.view(), "Welcome back") || f.m.transcript.Following() {
		t.Error("Home does not show the oldest line")
	}
	f.key(keyPgDown)
	if f.m.transcript.Following() {
		t.Error("one PgDn from Home already follows")
	}
	f.key(keyEnd)
	if !f.m.transcript.Following() || !strings.Contains(f.view(), "arrived while reading") {
		t.Error("End does not resume following")
	}
	f.send(transport.TranscriptSegment{ID: "tail", Speaker: "ada", Text: "the tail again", Final: true})
	if !strings.Contains(f.view(), "the tail again") {
		t.Error("not following after End")
	}
}

func TestPageDownToTheEndFollows(t *testing.T) {
	f := newFixture(t, true)
	for i := range 40 {
		f.send(transport.TranscriptSegment{ID: fmt.Sprint("n", i), Text: "x", Final: true})
	}
	f.key(keyPgUp)
	for range 5 {
		f.key(keyPgDown)
	}
	if !f.m.transcript.Following() {
		t.Error("paging down past the newest line does not follow")
	}
}

func TestArrowsScrollTranscriptWhenFocused(t *testing.T) {
	f := newFixture(t, true)
	for i := range 40 {
		f.send(transport.TranscriptSegment{ID: fmt.Sprint("n", i), Text: "x", Final: true})
	}
	f.key(keyTab)
	f.key(tea.KeyPressMsg{Code: tea.KeyUp})
	if f.m.transcript.Following() {
		t.Error("up in the transcript pane does not scroll back")
	}
	if sp, _ := f.m.speakers.Selected(); sp.ID != "ada" {
		t.Errorf("up in the transcript pane moved the speaker selection to %q", sp.ID)
	}
	f.key(keyTab)
	f.key(keyDown)
	if sp, _ := f.m.speakers.Selected(); sp.ID != "grace" {
		t.Errorf("down in the speakers pane selects %q, want grace", sp.ID)
	}
}

func TestPartialReplacedByFinal(t *testing.T) {
	f := newFixture(t, true)
	n := f.m.transcript.Len()
	seg := transport.TranscriptSegment{ID: "p", Speaker: "linus", Start: 12 * time.Minute, Text: "Backoff"}
	f.send(seg)
	seg.Text = "Backoff with jitter"
	f.send(seg)
	if got := f.m.transcript.Len(); got != n+1 {
		t.Fatalf("%d entries after two partials of one id, want %d", got, n+1)
	}
	if !strings.Contains(f.view(), "Backoff with jitter…") {
		t.Error("the grown partial is not shown, marked as partial")
	}
	seg.Text, seg.Final = "Backoff with jitter, always.", true
	f.send(seg)
	seg.Text, seg.Final = "Backoff", false // a late partial must not undo the final
	f.send(seg)
	v := f.view()
	if !strings.Contains(v, "Backoff with jitter, always.") || strings.Contains(v, "jitter…") {
		t.Errorf("final segment did not replace the partial in place:\n%s", strip(v))
	}
	if got, _ := f.m.transcript.Segment("p"); !got.Final {
		t.Error("segment is not final")
	}
	if got := f.m.transcript.Len(); got != n+1 {
		t.Errorf("%d entries, want %d", got, n+1)
	}
}

func TestHistoryBounded(t *testing.T) {
	f := newFixture(t, true)
	for i := range 1500 {
		f.send(transport.TranscriptSegment{ID: fmt.Sprint("n", i), Text: fmt.Sprint("seg ", i), Final: true})
	}
	if got := f.m.transcript.Len(); got != 1000 {
		t.Errorf("history holds %d entries, want 1000", got)
	}
	// The oldest segment left is still addressable by id, and replaced in place.
	f.send(transport.TranscriptSegment{ID: "n500", Text: "replaced", Final: true})
	if got := f.m.transcript.Len(); got != 1000 {
		t.Errorf("replacing a held segment changed the length to %d", got)
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []tea.KeyPressMsg{keyQ, keyCtrlC} {
		f := newFixture(t, true)
		if !isQuit(f.key(k)) {
			t.Errorf("%s does not quit", k)
		}
	}
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestEventsThroughTheChannel(t *testing.T) {
	ch := make(chan transport.Event, 2)
	m := New(Options{Events: ch, Now: func() time.Time { return t0 }})
	ch <- transport.RoomInfo{Title: "From the wire", Started: started, Listeners: 3}
	_, cmd := m.Update(m.waitEvent()())
	if cmd == nil {
		t.Fatal("reading events is not re-armed after an event")
	}
	if !strings.Contains(m.View().Content, "From the wire") {
		t.Error("event from the channel not shown")
	}
	close(ch)
	if _, cmd = m.Update(cmd()); !isQuit(cmd) {
		t.Error("a closed Events channel does not quit")
	}
}

func TestInitAndTick(t *testing.T) {
	f := newFixture(t, true)
	if f.m.Init() == nil {
		t.Fatal("Init returns no command")
	}
	if _, cmd := f.m.Update(snapshotMsg{snap: f.pb.Snapshot(), rearm: true}); cmd == nil {
		t.Error("the redraw tick is not re-armed")
	}
	if _, cmd := f.m.Update(snapshotMsg{snap: f.pb.Snapshot()}); cmd != nil {
		t.Error("the one-shot snapshot of Init schedules a second tick")
	}
	// The snapshot command reads Playback off the Update goroutine.
	msg := f.m.snapshot(false)().(snapshotMsg)
	if msg.snap.BufferMs != 60 {
		t.Errorf("snapshot command returned %+v", msg.snap)
	}
}

func TestRetryNow(t *testing.T) {
	f := newFixture(t, true)
	f.send(transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1, RetryIn: 3 * time.Second})
	if cmd := f.key(keyR); cmd != nil {
		cmd()
	}
	if f.retries != 1 {
		t.Errorf("RetryNow called %d times, want 1", f.retries)
	}

	m := New(Options{Now: func() time.Time { return t0 }})
	m.Update(eventMsg{transport.State{State: transport.StateReconnecting, Reason: transport.ReasonDropped, Attempt: 1, RetryIn: 3 * time.Second}})
	if _, cmd := m.Update(keyR); cmd != nil {
		t.Error("r does something without RetryNow")
	}
	if v := m.View().Content; strings.Contains(v, "r retry now") || !strings.Contains(v, "connection lost") {
		t.Errorf("status without RetryNow: %q", lineWith(v, "◌"))
	}
}

// While we wait for our turn in a server's queue (it gave a Retry-After), the status
// line counts the turn down, and r first says that retrying early gives the turn up:
// only a second r within a few seconds retries. Without a place in a queue r retries
// at once (TestRetryNow).
func TestRetryNowAsksBeforeGivingUpOurTurn(t *testing.T) {
	queued := transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded,
		Attempt: 2, RetryIn: 41 * time.Second, RetryAfter: 40 * time.Second, Detail: "server overloaded (overloaded), retry after 40s"}
	warning := "r again gives up your turn"
	press := func(f *fixture) {
		if cmd := f.key(keyR); cmd != nil {
			cmd()
		}
	}
	status := func(f *fixture) string { return lineWith(f.view(), "◌ server busy") }
	tests := []struct {
		name    string
		steps   func(f *fixture, clk *fakeclock.Clock)
		retries int
		status  string // in the status line at the end
	}{
		{"the turn counts down", func(f *fixture, clk *fakeclock.Clock) { clk.Advance(11 * time.Second) },
			0, "◌ server busy · your turn in ~30 s · r retry now"},
		{"a first r warns", func(f *fixture, clk *fakeclock.Clock) { press(f) },
			0, "◌ server busy · your turn in ~41 s · " + warning},
		{"a second r retries", func(f *fixture, clk *fakeclock.Clock) {
			press(f)
			clk.Advance(4 * time.Second)
			press(f)
		}, 1, "r retry now"},
		{"the warning lapses", func(f *fixture, clk *fakeclock.Clock) {
			press(f)
			clk.Advance(5 * time.Second)
		}, 0, "◌ server busy · your turn in ~36 s · r retry now"},
		{"r after the warning lapsed warns again", func(f *fixture, clk *fakeclock.Clock) {
			press(f)
			clk.Advance(5 * time.Second)
			press(f)
		}, 0, warning},
		{"a new wait needs its own warning", func(f *fixture, clk *fakeclock.Clock) {
			press(f)
			f.send(queued)
			press(f)
		}, 0, warning},
		{"once the turn has come r retries at once", func(f *fixture, clk *fakeclock.Clock) {
			clk.Advance(41 * time.Second)
			press(f)
		}, 1, "retrying (attempt 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			clk := fakeclock.NewManual(t0)
			f.m.now = clk.Now
			f.send(queued)
			tt.steps(f, clk)
			if f.retries != tt.retries {
				t.Errorf("RetryNow called %d times, want %d", f.retries, tt.retries)
			}
			if got := status(f); !strings.Contains(got, tt.status) {
				t.Errorf("status line %q lacks %q", got, tt.status)
			}
			if !strings.Contains(tt.status, warning) && strings.Contains(status(f), warning) {
				t.Errorf("status line %q still warns", status(f))
			}
		})
	}
}

// Waiting to get in the first time is no outage: the first join after refusals says
// nothing of a resume.
func TestFirstJoinAfterRefusalsIsNoResume(t *testing.T) {
	m := New(Options{Now: func() time.Time { return t0 }})
	for _, ev := range []transport.Event{
		transport.State{State: transport.StateConnecting},
		transport.State{State: transport.StateReconnecting, Reason: transport.ReasonOverloaded, Attempt: 1, RetryIn: 11 * time.Second, RetryAfter: 10 * time.Second},
		transport.State{State: transport.StateLive},
	} {
		m.Update(eventMsg{ev})
	}
	if line := lineWith(m.View().Content, "● live"); line == "" || strings.Contains(line, "resumed") || strings.Contains(line, "lost") {
		t.Errorf("status line after the first join: %q", line)
	}
}

func TestStatusLine(t *testing.T) {
	reconnecting := transport.State{State: transport.StateReconnecting, Reason: transport.ReasonRestart, Attempt: 1, RetryIn: 2 * time.Second}
	gap := transport.Gap{From: t0, To: t0.Add(12400 * time.Millisecond), Why: "restart"}
	tests := []struct {
		name  string
		evs   []transport.Event
		later time.Duration // the clock moves on after the events
		snap  func(*session.Snapshot)
		want  string
	}{
		{"connecting", []transport.Event{transport.State{State: transport.StateConnecting}}, 0, nil, "◌ connecting…"},
		{"countdown", []transport.Event{reconnecting}, 1500 * time.Millisecond, nil, "◌ server restarting · retry in 1 s (attempt 1)"},
		{"retrying", []transport.Event{reconnecting}, 3 * time.Second, nil, "retrying (attempt 1)"},
		{"resumed", []transport.Event{reconnecting, transport.State{State: transport.StateLive}}, 0, nil, "● live · resumed, nothing lost"},
		{"lost", []transport.Event{reconnecting, gap, transport.State{State: transport.StateLive}}, 0, nil, "● live · 12.4 s lost"},
		{"note fades", []transport.Event{reconnecting, transport.State{State: transport.StateLive}}, 11 * time.Second, nil, "● live · 60 ms behind"},
		{"ended", []transport.Event{transport.Ended{Reason: "thanks for listening"}, transport.State{State: transport.StateEnded, Reason: transport.ReasonRoomEnded}},
			0, nil, "■ ended · the room has ended: thanks for listening"},
		{"no sound device", nil, 0, func(s *session.Snapshot) { s.OutputErr = "no sound device: no ALSA card" },
			"● live · no sound · 60 ms behind"},
		{"not recording", nil, 0, func(s *session.Snapshot) { s.Recording = record.Stats{} }, "out: default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, true)
			f.send(tt.evs...)
			if tt.snap != nil {
				tt.snap(&f.pb.snap)
				f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
			}
			f.m.now = func() time.Time { return t0.Add(tt.later) }
			line := lineWith(f.view(), "out:")
			for _, l := range strings.Split(strip(f.view()), "\n") {
				if strings.HasPrefix(l, " ●") || strings.HasPrefix(l, " ◌") || strings.HasPrefix(l, " ■") {
					line = l
				}
			}
			if !strings.Contains(line, tt.want) {
				t.Errorf("status line %q lacks %q", line, tt.want)
			}
			if hasRec := strings.Contains(line, "● REC 04:12"); hasRec != (f.pb.snap.Recording.Dir != "") {
				t.Errorf("REC indicator shown=%t in %q", hasRec, line)
			}
		})
	}
}

func TestNarrowDropsSpeakersPane(t *testing.T) {
	f := newFixture(t, true)
	f.size(69, 24)
	v := strip(f.view())
	if strings.Contains(v, "Speakers") {
		t.Error("narrow view still has the speakers pane")
	}
	if l := strings.Split(v, "\n")[1]; !strings.Contains(l, "▶ Ada") || !strings.Contains(l, "Linus ✕") {
		t.Errorf("second line is not the speaker list: %q", l)
	}
	f.size(70, 24)
	if !strings.Contains(strip(f.view()), "Speakers") {
		t.Error("70 columns has no speakers pane")
	}
}

func TestHelpToggle(t *testing.T) {
	f := newFixture(t, true)
	f.key(keyHelp)
	if !strings.Contains(f.view(), "volume up 10%") {
		t.Fatal("? does not show the full help")
	}
	f.key(keyHelp)
	if strings.Contains(f.view(), "volume up 10%") {
		t.Fatal("? does not hide the full help")
	}
	f.key(keyHelp)
	f.key(keyEsc)
	if strings.Contains(f.view(), "volume up 10%") {
		t.Fatal("esc does not hide the full help")
	}
}

// TestBoundsAndSizes throws hostile widths and lengths at every layout: each line must
// fill the screen exactly, never wrap.
func TestBoundsAndSizes(t *testing.T) {
	long := strings.Repeat("界", 300) + strings.Repeat("w", 600)
	for _, sz := range []struct{ w, h int }{{80, 24}, {60, 20}, {120, 40}, {69, 24}, {70, 10}, {30, 8}, {200, 60}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			for _, noColor := range []bool{false, true} {
				f := newFixture(t, noColor)
				f.send(
					transport.RoomInfo{Title: long, Started: started, Listeners: 123456789},
					transport.Roster{Speakers: []transport.Speaker{
						{ID: "ada", Name: long, Role: long},
						{ID: "x", Name: "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", Muted: true},
					}},
					transport.TranscriptSegment{ID: "l", Speaker: long, Text: long, Final: true},
					transport.TranscriptSegment{ID: "m", Speaker: "x", Text: long},
					transport.State{State: transport.StateEnded, Reason: transport.ReasonUnauthorized, Detail: long},
				)
				f.pb.snap.Output = long
				f.m.Update(snapshotMsg{snap: f.pb.Snapshot()})
				f.size(sz.w, sz.h)
				checkSize(t, f.view(), sz.w, sz.h)
				f.key(keyHelp)
				checkSize(t, f.view(), sz.w, sz.h)
			}
		})
	}
}

func TestViewUsesAltScreen(t *testing.T) {
	f := newFixture(t, true)
	if !f.m.View().AltScreen {
		t.Error("view is not on the alternate screen")
	}
}
