// Package ui is the terminal user interface of a joined room: a Bubble Tea v2 model that
// turns transport events and playback snapshots into the screen (header, speakers,
// transcript, status line, key help; see the README) and turns keys into playback
// controls. Frontend runs it on a session.Hub (docs/architecture.md).
//
// ui owns the screen's state only: what has been said, what is shown, where the user has
// scrolled to and which speaker is selected. The audio belongs to the session hub, which
// the model reads through Playback on a tick (20 Hz while a meter moves, 4 Hz when
// nothing has for a second) and controls through its setters; network events arrive as
// tea messages from Options.Events. ui sees transport's event types and nothing else of
// the network.
//
// The screen is drawn again only where it changed: each component keeps its last
// drawing until something it shows moves by a step it can draw, and a frame in which
// nothing did is the very string of the last one, which Bubble Tea does not redraw.
package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/spacetui/spacetui/session"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/ui/common"
	"github.com/spacetui/spacetui/ui/components/activity"
	"github.com/spacetui/spacetui/ui/components/header"
	"github.com/spacetui/spacetui/ui/components/keyhelp"
	"github.com/spacetui/spacetui/ui/components/speakers"
	"github.com/spacetui/spacetui/ui/components/statusbar"
	"github.com/spacetui/spacetui/ui/components/transcript"
	"github.com/spacetui/spacetui/ui/keymap"
	"github.com/spacetui/spacetui/ui/styles"
)

// Playback is what the UI reads and controls of the session's audio (a *session.Hub).
// Snapshot is called from a tea.Cmd goroutine on every tick, so it must be cheap
// and safe for concurrent use. The setters are called from Update, in the order the keys
// were pressed, so they must return at once (store a value and return).
type Playback interface {
	Snapshot() session.Snapshot
	SetVolume(pct int)
	SetMuted(muted bool)
	SetSpeakerMuted(id string, muted bool)
	SetSpeakerVolume(id string, pct int)
}

var _ Playback = (*session.Hub)(nil)

// Options configure a Model.
type Options struct {
	// Events carries the room's network events. The model reads it through a tea.Cmd
	// that re-arms itself after each event; a closed channel ends the program.
	Events <-chan transport.Event
	// Playback is the audio pipeline; nil shows no levels and ignores volume keys.
	Playback Playback
	// RetryNow cuts a reconnect wait short (the r key); nil disables the key.
	RetryNow func()
	// NoColor draws without any colour (NO_COLOR).
	NoColor bool
	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// SaveDir is where s writes the transcript; empty means the current directory.
	SaveDir string
}

// Timing and bounds of the screen.
const (
	// TickInterval is the period of the snapshots that move meters, countdowns and
	// clocks (20 Hz) while a meter moves; IdleTickInterval (4 Hz) once none has for
	// idleAfter, which still turns every clock in time and wakes to a voice within a
	// quarter of a second.
	TickInterval     = 50 * time.Millisecond
	IdleTickInterval = 250 * time.Millisecond
	idleAfter        = time.Second
	// figuresEvery is how often the status line reads how far behind live playback is
	// and the loss: both change with every packet, and a figure that changes on every
	// tick can neither be read nor left undrawn.
	figuresEvery = time.Second
	// noteFor is how long "resumed, nothing lost" or "12.4 s lost" stays up.
	noteFor = 10 * time.Second
	// retryConfirmFor is how long after a first r, while we wait for our turn in the
	// server's queue, a second r retries at once and gives the turn up.
	retryConfirmFor = 5 * time.Second
	// rosterGrace is how long an empty roster waits for the room to fall silent before
	// it empties the speaker list.
	rosterGrace = 5 * time.Second
	// wideWidth and wideHeight are the size from which the speakers column widens and
	// shows the room's activity under the list.
	wideWidth, wideHeight = 120, 40
	// narrowWidth is the width below which the speakers pane becomes one line.
	narrowWidth = 70
	// maxSpeakers bounds the roster shown.
	maxSpeakers = 256
	volumeStep  = 10
	maxVolume   = 150
	// wheelLines is how far one notch of the mouse wheel scrolls the transcript.
	wheelLines = 3
	// maxQueryRunes bounds what / takes.
	maxQueryRunes = 80
)

// focus is the pane that has the keyboard.
type focus int

const (
	focusSpeakers focus = iota
	focusTranscript
)

// Messages of the model. They are unexported: only the model's own commands make them.
type (
	eventMsg        struct{ ev transport.Event }
	eventsClosedMsg struct{}
	snapshotMsg     struct {
		snap  session.Snapshot
		rearm bool // the tick's own snapshot, which schedules the next one
	}
	// savedMsg says where s wrote the transcript, or why it could not.
	savedMsg struct {
		path string
		err  error
	}
)

// Model is the root Bubble Tea model. Use New; the zero value is not usable.
type Model struct {
	opts   Options
	now    func() time.Time
	keys   keymap.KeyMap
	common common.Common

	header     *header.Model
	speakers   *speakers.Model
	transcript *transcript.Model
	activity   *activity.Model // who talked when, on wide screens
	status     *statusbar.Model
	help       *keyhelp.Model

	width, height int
	focus         focus
	showHelp      bool
	searching     bool   // / was pressed: keys type the query
	query         []rune // the query being typed

	flash    string // a passing word in the status line: "saved FILE", "Ada 60%"
	flashErr bool
	flashAt  time.Time

	room    transport.RoomInfo
	conn    transport.State
	connAt  time.Time // when conn arrived, for countdowns
	ended   bool
	snap    session.Snapshot
	volume  int  // the volume the user set; valid when volSet
	volSet  bool // after the first volume key, the model owns the volume shown
	muted   bool
	muteSet bool

	roster        []transport.Speaker  // the speakers shown, reduced
	emptyRosterAt time.Time            // an empty roster is pending since; zero if none
	lastTalk      map[string]time.Time // when each speaker was last heard talking
	endedBy       string               // the server ended the room, saying this (" " for nothing)

	joined       bool      // the room was live once
	troubleSince time.Time // start of the current outage; zero while live
	resumedAt    time.Time // when the last outage ended
	lostSeconds  float64   // audio lost in the last outage, from Gap events
	retryAsked   time.Time // when r was pressed once while queued; zero if not since conn

	movedAt   time.Time // when a meter last moved, or a speaker began or stopped talking
	figuresAt time.Time // when the figures shown were read

	windowTitle string
	drawn       screen // what screen was put together from
	screen      string
}

var _ tea.Model = (*Model)(nil)

// New returns the root model for opts.
func New(opts Options) *Model {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st := styles.New(opts.NoColor)
	c := common.Common{Styles: st, Speakers: common.NewDirectory()}
	m := &Model{
		opts:       opts,
		now:        now,
		keys:       keymap.Default(),
		common:     c,
		header:     header.New(c),
		speakers:   speakers.New(c),
		transcript: transcript.New(c),
		activity:   activity.New(c),
		status:     statusbar.New(c),
		conn:       transport.State{State: transport.StateConnecting},
		lastTalk:   map[string]time.Time{},

		windowTitle: "spacetui",
	}
	m.keys.Retry.SetEnabled(opts.RetryNow != nil)
	m.help = keyhelp.New(c, &m.keys)
	m.setSize(80, 24)
	m.setFocus(focusSpeakers)
	return m
}

// Init starts reading events and the tick.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.waitEvent(), m.snapshot(false), m.tick(TickInterval))
}

// waitEvent reads one event; Update re-arms it after each event.
func (m *Model) waitEvent() tea.Cmd {
	ch := m.opts.Events
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{ev}
	}
}

// snapshot reads the pipeline off the Update goroutine.
func (m *Model) snapshot(rearm bool) tea.Cmd {
	pb := m.opts.Playback
	return func() tea.Msg {
		var s session.Snapshot
		if pb != nil {
			s = pb.Snapshot()
		}
		return snapshotMsg{snap: s, rearm: rearm}
	}
}

// tick schedules the next snapshot in d; meters, countdowns and clocks move on it
// rather than on a message per audio frame.
func (m *Model) tick(d time.Duration) tea.Cmd {
	pb := m.opts.Playback
	return tea.Tick(d, func(time.Time) tea.Msg {
		var s session.Snapshot
		if pb != nil {
			s = pb.Snapshot()
		}
		return snapshotMsg{snap: s, rearm: true}
	})
}

// Update handles a message. It does no I/O: reading events and snapshots happens in
// commands, and the Playback setters only store a value.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case eventMsg:
		m.handleEvent(msg.ev)
		return m, m.waitEvent()
	case eventsClosedMsg:
		return m, tea.Quit
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.transcript.Wheel(-wheelLines)
		case tea.MouseWheelDown:
			m.transcript.Wheel(wheelLines)
		}
	case savedMsg:
		if msg.err != nil {
			m.setFlash("not saved: "+msg.err.Error(), true)
		} else {
			m.setFlash("saved "+msg.path, false)
		}
	case snapshotMsg:
		held := m.snap
		m.snap = msg.snap
		now := m.now()
		if now.Sub(m.figuresAt) < figuresEvery {
			m.snap.BufferMs, m.snap.LossPct = held.BufferMs, held.LossPct
		} else {
			m.figuresAt = now
		}
		if m.speakers.SetLevels(levels(msg.snap)) {
			m.movedAt = now
		}
		for _, l := range msg.snap.Speakers {
			if l.Talking {
				m.lastTalk[l.ID] = now
			}
		}
		if len(m.lastTalk) > 4*maxSpeakers { // ids come and go over a long room
			for id, t := range m.lastTalk {
				if now.Sub(t) > rosterGrace {
					delete(m.lastTalk, id)
				}
			}
		}
		m.settleRoster(now)
		if m.recordActivity(now, msg.snap) && m.wide() {
			m.movedAt = now
		}
		if msg.rearm {
			return m, m.tick(m.tickInterval(now))
		}
	}
	return m, nil
}

func levels(snap session.Snapshot) map[string]speakers.Level {
	out := make(map[string]speakers.Level, len(snap.Speakers))
	for _, l := range snap.Speakers {
		out[l.ID] = speakers.Level{Level: l.Level, Talking: l.Talking}
	}
	return out
}

func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	km := m.keys
	if m.searching {
		m.searchKey(k)
		return nil
	}
	switch {
	case key.Matches(k, km.Quit):
		return tea.Quit
	case key.Matches(k, km.Help):
		m.showHelp = !m.showHelp
	case m.showHelp && key.Matches(k, km.CloseHelp):
		m.showHelp = false
	case key.Matches(k, km.CloseHelp):
		m.transcript.Search("") // esc clears a search
	case key.Matches(k, km.Search):
		m.searching, m.query = true, m.query[:0]
		m.setFocus(focusTranscript)
	case key.Matches(k, km.NextMatch):
		m.transcript.NextMatch()
	case key.Matches(k, km.PrevMatch):
		m.transcript.PrevMatch()
	case key.Matches(k, km.Save):
		return m.saveTranscript()
	case key.Matches(k, km.SpeakerLouder):
		m.speakerVolume(volumeStep)
	case key.Matches(k, km.SpeakerQuieter):
		m.speakerVolume(-volumeStep)
	case m.showHelp && key.Matches(k, km.Up):
		m.help.ScrollUp()
	case m.showHelp && key.Matches(k, km.Down):
		m.help.ScrollDown()
	case key.Matches(k, km.Mute):
		m.muted, m.muteSet = !m.currentMuted(), true
		if pb := m.opts.Playback; pb != nil {
			pb.SetMuted(m.muted)
		}
	case key.Matches(k, km.VolumeUp):
		m.setVolume(m.currentVolume() + volumeStep)
	case key.Matches(k, km.VolumeDown):
		m.setVolume(m.currentVolume() - volumeStep)
	case key.Matches(k, km.MuteSpeaker):
		if sp, ok := m.speakers.Selected(); ok {
			muted := !m.speakers.LocalMuted(sp.ID)
			m.speakers.SetLocalMuted(sp.ID, muted)
			if pb := m.opts.Playback; pb != nil {
				pb.SetSpeakerMuted(sp.ID, muted)
			}
		}
	case key.Matches(k, km.Up):
		if m.focus == focusSpeakers {
			m.speakers.MoveUp()
		} else {
			m.transcript.LineUp()
		}
	case key.Matches(k, km.Down):
		if m.focus == focusSpeakers {
			m.speakers.MoveDown()
		} else {
			m.transcript.LineDown()
		}
	case key.Matches(k, km.Focus):
		m.setFocus(1 - m.focus)
	case key.Matches(k, km.PageUp):
		m.transcript.PageUp()
	case key.Matches(k, km.PageDown):
		m.transcript.PageDown()
	case key.Matches(k, km.Home):
		m.transcript.Home()
	case key.Matches(k, km.End):
		m.transcript.End()
	case key.Matches(k, km.Retry):
		return m.retry()
	}
	return nil
}

// retry cuts the reconnect wait short (r). While we wait for our turn in the server's
// queue, retrying early gives the turn up, so the first r only says so and a second
// within retryConfirmFor retries.
func (m *Model) retry() tea.Cmd {
	f := m.opts.RetryNow
	if f == nil {
		return nil
	}
	now := m.now()
	if m.queued(now) && !m.confirming(now) {
		m.retryAsked = now
		return nil
	}
	m.retryAsked = time.Time{}
	return func() tea.Msg { f(); return nil }
}

// queued reports whether we wait, now, for our turn in the server's queue: the server
// gave a Retry-After, and it has not come yet.
func (m *Model) queued(now time.Time) bool {
	return m.conn.State == transport.StateReconnecting && m.conn.RetryAfter > 0 && m.conn.RetryIn > now.Sub(m.connAt)
}

// confirming reports whether a first r, now, waits for the second that gives the turn up.
func (m *Model) confirming(now time.Time) bool {
	return !m.retryAsked.IsZero() && now.Sub(m.retryAsked) < retryConfirmFor
}

// searchKey takes a key while a search is typed: enter searches, esc gives up, and
// anything printable is typed.
func (m *Model) searchKey(k tea.KeyPressMsg) {
	km := m.keys
	switch {
	case key.Matches(k, km.SearchDone):
		m.searching = false
		m.transcript.Search(string(m.query))
	case key.Matches(k, km.SearchCancel):
		m.searching = false
	case key.Matches(k, km.SearchErase):
		if len(m.query) > 0 {
			m.query = m.query[:len(m.query)-1]
		}
	case k.Text != "" && len(m.query) < maxQueryRunes:
		for _, r := range k.Text {
			if unicode.IsPrint(r) {
				m.query = append(m.query, r)
			}
		}
	}
}

// speakerVolume changes the selected speaker's volume by d percent.
func (m *Model) speakerVolume(d int) {
	sp, ok := m.speakers.Selected()
	if !ok {
		return
	}
	v := max(0, min(m.speakers.Volume(sp.ID)+d, maxVolume))
	m.speakers.SetVolume(sp.ID, v)
	if pb := m.opts.Playback; pb != nil {
		pb.SetSpeakerVolume(sp.ID, v)
	}
	m.setFlash(fmt.Sprintf("%s %d%%", sp.Name, v), false)
}

func (m *Model) setFlash(text string, isErr bool) {
	m.flash, m.flashErr, m.flashAt = text, isErr, m.now()
}

func (m *Model) currentVolume() int {
	if m.volSet {
		return m.volume
	}
	return m.snap.Volume
}

func (m *Model) currentMuted() bool {
	if m.muteSet {
		return m.muted
	}
	return m.snap.Muted
}

func (m *Model) setVolume(pct int) {
	m.volume, m.volSet = max(0, min(pct, maxVolume)), true
	if pb := m.opts.Playback; pb != nil {
		pb.SetVolume(m.volume)
	}
}

func (m *Model) setFocus(f focus) {
	m.focus = f
	m.speakers.SetFocused(f == focusSpeakers)
	m.transcript.SetFocused(f == focusTranscript)
}

// handleEvent takes one room event. Its text was cleaned and bounded where it entered
// (transport.Clean); here it is only reduced to what every terminal measures alike
// (common.Reduce).
func (m *Model) handleEvent(ev transport.Event) {
	now := m.now()
	switch e := ev.(type) {
	case transport.RoomInfo:
		e.Title = common.Reduce(e.Title)
		m.room = e
		m.header.SetRoom(e.Title, e.Listeners)
		m.windowTitle = "spacetui"
		if e.Title != "" {
			m.windowTitle = "spacetui · " + e.Title
		}
	case transport.Roster:
		m.setRoster(e.Speakers, now)
	case transport.TranscriptSegment:
		m.transcript.Add(e) // the text is reduced as it is drawn; s saves the original
	case transport.Gap:
		at := time.Duration(-1)
		if !m.room.Started.IsZero() {
			at = e.From.Sub(m.room.Started)
		}
		lost := max(e.Seconds(), 0) // a gap that runs backwards lost an unknown amount
		m.transcript.AddGap(transcript.Gap{At: at, Seconds: lost, Why: common.Reduce(e.Why)})
		if !m.troubleSince.IsZero() || now.Sub(m.resumedAt) < noteFor {
			m.lostSeconds += lost
		}
	case transport.State:
		e.Reason, e.Detail = common.Reduce(e.Reason), common.Reduce(e.Detail)
		m.setConn(e, now)
	case transport.Ended:
		m.endedBy = common.Reduce(e.Reason)
		if m.endedBy == "" {
			m.endedBy = " " // ended, though the server gave no reason
		}
		m.setConn(transport.State{
			State:  transport.StateEnded,
			Reason: transport.ReasonRoomEnded,
			Detail: common.Reduce(e.Reason),
		}, now)
	case transport.AudioFrame:
		// Audio is the session's; levels arrive through Playback snapshots.
	}
}

// setRoster takes a roster. An empty roster after a non-empty one may be a real one (the
// last speaker left: "no speakers yet") or a broken message from the server; the list is
// kept while someone on it is still heard, and empties once the room has been quiet for
// rosterGrace since (checked on every tick, in settleRoster).
func (m *Model) setRoster(sps []transport.Speaker, now time.Time) {
	if len(sps) == 0 && len(m.roster) > 0 {
		if m.emptyRosterAt.IsZero() {
			m.emptyRosterAt = now
		}
		m.settleRoster(now)
		return
	}
	m.emptyRosterAt = time.Time{}
	sps = sps[:min(len(sps), maxSpeakers)]
	shown := make([]transport.Speaker, len(sps))
	for i, sp := range sps {
		sp.Name, sp.Role = common.Reduce(sp.Name), common.Reduce(sp.Role)
		shown[i] = sp
	}
	m.roster = shown
	m.common.Speakers.Update(shown)
	m.speakers.SetSpeakers(shown)
	ids := make([]string, len(shown))
	for i, sp := range shown {
		ids[i] = sp.ID
	}
	m.activity.SetSpeakers(ids)
}

// settleRoster applies a pending empty roster once nobody on the list has been heard
// for rosterGrace.
func (m *Model) settleRoster(now time.Time) {
	if m.emptyRosterAt.IsZero() {
		return
	}
	quietSince := m.emptyRosterAt
	for _, sp := range m.roster {
		if t := m.lastTalk[sp.ID]; t.After(quietSince) {
			quietSince = t
		}
	}
	if now.Sub(quietSince) < rosterGrace {
		return
	}
	m.emptyRosterAt, m.roster = time.Time{}, nil
	m.speakers.SetSpeakers(nil)
	m.activity.SetSpeakers(nil)
}

// tickInterval is the time to the next snapshot: a meter that moved in the last
// idleAfter is likely to move again soon.
func (m *Model) tickInterval(now time.Time) time.Duration {
	if now.Sub(m.movedAt) < idleAfter {
		return TickInterval
	}
	return IdleTickInterval
}

// recordActivity adds one tick to the activity history: who talks, and the loudest
// level in the room. It reports whether the room meter moved.
func (m *Model) recordActivity(now time.Time, snap session.Snapshot) bool {
	talking := make(map[string]bool, len(snap.Speakers))
	room := 0.0
	for _, l := range snap.Speakers {
		talking[l.ID] = l.Talking
		room = max(room, l.Level)
	}
	return m.activity.Record(now, talking, room)
}

// Farewell is what the user should read after the program has left the alternate
// screen: why the room ended, when the server ended it. It is empty when the user left,
// and after a refusal, which cmd reports itself.
func (m *Model) Farewell() string {
	if m.endedBy == "" {
		return ""
	}
	if r := strings.TrimSpace(m.endedBy); r != "" {
		return "the room has ended: " + r
	}
	return "the room has ended"
}

func (m *Model) setConn(s transport.State, now time.Time) {
	if m.ended {
		return // the first word on how the room ended stays
	}
	switch s.State {
	case transport.StateReconnecting, transport.StateStalled:
		// Waiting to get in the first time is no outage: nothing is resumed after it.
		if m.troubleSince.IsZero() && m.joined {
			m.troubleSince, m.lostSeconds, m.resumedAt = now, 0, time.Time{}
		}
	case transport.StateLive:
		m.joined = true
		if !m.troubleSince.IsZero() {
			m.troubleSince, m.resumedAt = time.Time{}, now
		}
	case transport.StateEnded:
		m.ended = true
		m.header.SetEnded(true)
	}
	m.header.SetOffline(s.State == transport.StateReconnecting || s.State == transport.StateStalled)
	m.conn, m.connAt = s, now
	m.retryAsked = time.Time{} // a new wait: a second r must not give up a turn it never saw
}

func (m *Model) setSize(w, h int) {
	m.width, m.height = max(w, 1), max(h, 1)
	bodyH := max(m.height-3, 3)
	m.header.SetSize(m.width, 1)
	m.status.SetSize(m.width, 1)
	m.help.SetSize(m.width, bodyH)
	narrow := m.width < narrowWidth
	m.speakers.SetCompact(narrow)
	if narrow {
		m.speakers.SetSize(m.width, 1)
		m.transcript.SetSize(m.width, bodyH-1)
		return
	}
	if m.wide() {
		sw := min(m.width*40/100, 80)
		m.speakers.SetSize(sw, bodyH-bodyH/2)
		m.activity.SetSize(sw, bodyH/2)
		m.transcript.SetSize(m.width-sw, bodyH)
		return
	}
	sw := max(26, min(m.width*36/100, 40))
	m.speakers.SetSize(sw, bodyH)
	m.transcript.SetSize(m.width-sw, bodyH)
}

// wide reports a screen with room for the activity pane.
func (m *Model) wide() bool { return m.width >= wideWidth && m.height >= wideHeight }

// View renders the whole screen on the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion // the wheel scrolls the transcript
	v.WindowTitle = m.windowTitle
	return v
}

// render draws the screen as a string of exactly height lines. The components keep
// their last drawing until something they show changes, and the screen is put together
// again only when one of them did: an unchanged frame is the same string as the last,
// which Bubble Tea compares and does not draw.
func (m *Model) render() string {
	now := m.now()
	m.header.SetElapsed(common.RoomAge(m.room.Started, now))
	m.status.SetConn(m.statusConn(now))
	s := m.snap // a copy: what the user set is shown before the pipeline has it
	s.Volume, s.Muted = m.currentVolume(), m.currentMuted()
	s.Output = common.ClampRunes(s.Output, common.MaxShortRunes)
	s.OutputErr = common.ClampRunes(s.OutputErr, common.MaxShortRunes)
	m.status.SetAudio(s)
	note := ""
	if s.OutputErr != "" {
		note = "sound: " + s.OutputErr
	}
	m.help.SetNote(note)
	if m.flash != "" && now.Sub(m.flashAt) < noteFor {
		m.status.SetFlash(m.flash, m.flashErr)
	} else {
		m.status.SetFlash("", false)
	}

	bodyH := max(m.height-3, 3)
	sc := screen{header: m.header.View(), status: m.status.View(), footer: m.help.View()}
	if m.searching {
		sc.footer = m.help.PromptView("/" + string(m.query))
	}
	switch {
	case m.showHelp:
		sc.layout, sc.panes[0] = layoutHelp, m.help.Overlay(m.width, bodyH)
	case m.width < narrowWidth:
		sc.layout, sc.panes[0], sc.panes[1] = layoutNarrow, m.speakers.View(), m.transcript.View()
	case m.wide():
		sc.layout, sc.panes = layoutWide, [3]string{m.speakers.View(), m.activity.View(), m.transcript.View()}
	default:
		sc.layout, sc.panes[0], sc.panes[1] = layoutColumns, m.speakers.View(), m.transcript.View()
	}
	if sc != m.drawn {
		m.drawn, m.screen = sc, sc.compose()
	}
	return m.screen
}

// screen is what the screen is put together from: the layout and each part as drawn.
type screen struct {
	layout                 layout
	header, status, footer string
	panes                  [3]string
}

// layout is how the panes share the body of the screen.
type layout int

const (
	layoutColumns layout = iota + 1 // speakers beside the transcript
	layoutWide                      // speakers over activity, beside the transcript
	layoutNarrow                    // the speakers line over the transcript
	layoutHelp                      // the help overlay alone
)

func (sc screen) compose() string {
	var body string
	switch p := sc.panes; sc.layout {
	case layoutHelp:
		body = p[0]
	case layoutNarrow:
		body = p[0] + "\n" + p[1]
	case layoutWide:
		body = beside(p[0]+"\n"+p[1], p[2])
	default:
		body = beside(p[0], p[1])
	}
	return sc.header + "\n" + body + "\n" + sc.status + "\n" + sc.footer
}

// beside puts two blocks of lines side by side, as lipgloss.JoinHorizontal does with
// blocks whose lines are all as wide as their first, which every pane's are: each is
// drawn at exactly its size. Measuring every line, as JoinHorizontal must, cost more
// than drawing the panes. A block with fewer lines is padded with blank ones.
func beside(left, right string) string {
	l, r := strings.Split(left, "\n"), strings.Split(right, "\n")
	line := func(lines []string, i int) string {
		if i < len(lines) {
			return lines[i]
		}
		return strings.Repeat(" ", lipgloss.Width(lines[0]))
	}
	var b strings.Builder
	b.Grow(len(left) + len(right) + len(r))
	for i := range max(len(l), len(r)) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line(l, i))
		b.WriteString(line(r, i))
	}
	return b.String()
}

// statusConn is the connection state with its clocks read now.
func (m *Model) statusConn(now time.Time) statusbar.Conn {
	c := statusbar.Conn{
		State:    m.conn.State,
		Reason:   m.conn.Reason,
		Detail:   m.conn.Detail,
		Attempt:  m.conn.Attempt,
		CanRetry: m.opts.RetryNow != nil,
	}
	since := now.Sub(m.connAt)
	switch m.conn.State {
	case transport.StateReconnecting:
		c.RetryIn = m.conn.RetryIn - since
		c.Queued = m.conn.RetryAfter > 0
		c.ConfirmRetry = m.queued(now) && m.confirming(now)
	case transport.StateStalled:
		c.NoDataFor = m.conn.Silence + since
	case transport.StateLive:
		if !m.resumedAt.IsZero() && now.Sub(m.resumedAt) < noteFor {
			c.Note = "resumed, nothing lost"
			if m.lostSeconds > 0 {
				c.Note = formatLost(m.lostSeconds)
			}
		}
	}
	return c
}
