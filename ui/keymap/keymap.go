// Package keymap is the UI's key bindings and the help text drawn from them; the root
// model matches keys only through these bindings (key.Matches). Where mpv or ffplay has
// a key for the same thing it is the same key here (space and m mute, 9 and 0 volume);
// the transcript is searched as in less and glow (/, n, N).
package keymap

import "charm.land/bubbles/v2/key"

// KeyMap holds every binding of the UI. It implements help.KeyMap.
type KeyMap struct {
	Mute           key.Binding // mutes and unmutes all playback
	VolumeUp       key.Binding // raises the volume by 10%
	VolumeDown     key.Binding // lowers the volume by 10%
	MuteSpeaker    key.Binding // mutes and unmutes the selected speaker
	SpeakerLouder  key.Binding // raises the selected speaker's volume by 10%
	SpeakerQuieter key.Binding // lowers the selected speaker's volume by 10%
	Up             key.Binding // selects the previous speaker, or scrolls back a line
	Down           key.Binding // selects the next speaker, or scrolls forward a line
	Focus          key.Binding // moves the keyboard between the panes
	PageUp         key.Binding // scrolls the transcript back a page
	PageDown       key.Binding // scrolls the transcript forward a page
	Home           key.Binding // shows the oldest transcript line held
	End            key.Binding // follows the newest transcript line again
	Search         key.Binding // starts typing a search of the transcript
	NextMatch      key.Binding // shows the next (newer) match
	PrevMatch      key.Binding // shows the previous (older) match
	Save           key.Binding // writes the transcript so far to a WebVTT file
	Retry          key.Binding // cuts a reconnect wait short
	Help           key.Binding // shows and hides the full help
	CloseHelp      key.Binding // hides the full help, or clears a search
	Quit           key.Binding // leaves the room

	// While a search is typed.
	SearchDone   key.Binding // searches for what was typed
	SearchCancel key.Binding // gives up the search
	SearchErase  key.Binding // erases the last character typed

	// volume only labels "+/-" in the one-line help; it is never matched.
	volume key.Binding
}

// Default returns the bindings the README lists.
func Default() KeyMap {
	return KeyMap{
		Mute:           key.NewBinding(key.WithKeys("space", "m"), key.WithHelp("space m", "mute all")),
		VolumeUp:       key.NewBinding(key.WithKeys("+", "=", "0"), key.WithHelp("+ 0", "volume up 10%")),
		VolumeDown:     key.NewBinding(key.WithKeys("-", "9"), key.WithHelp("- 9", "volume down 10%")),
		MuteSpeaker:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "mute speaker")),
		SpeakerLouder:  key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "speaker louder")),
		SpeakerQuieter: key.NewBinding(key.WithKeys("["), key.WithHelp("[", "speaker quieter")),
		Up:             key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑ k", "previous speaker / line")),
		Down:           key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓ j", "next speaker / line")),
		Focus:          key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus")),
		PageUp:         key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "scroll back")),
		PageDown:       key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "scroll forward")),
		Home:           key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "oldest line")),
		End:            key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "follow live")),
		Search:         key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		NextMatch:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n N", "next / previous match")),
		PrevMatch:      key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
		Save:           key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save transcript")),
		Retry:          key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry now")),
		Help:           key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		CloseHelp:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help / search")),
		Quit:           key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		SearchDone:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "search")),
		SearchCancel:   key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
		SearchErase:    key.NewBinding(key.WithKeys("backspace"), key.WithHelp("⌫", "erase")),
		volume:         key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "vol")),
	}
}

// ShortHelp is the one-line help at the bottom of the screen. Where it does not fit,
// the bindings before the last two give way from the right: help and quit stay.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Mute, k.volume, k.MuteSpeaker, k.Search, k.Focus, k.Help, k.Quit}
}

// SearchHelp is the one-line help while a search is typed.
func (k KeyMap) SearchHelp() []key.Binding {
	return []key.Binding{k.SearchDone, k.SearchCancel}
}

// FullHelp is the help overlay, one column per group: playback, then reading.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Mute, k.VolumeUp, k.VolumeDown, k.MuteSpeaker, k.SpeakerLouder, k.SpeakerQuieter, k.Save, k.Retry, k.Help, k.Quit},
		{k.Up, k.Down, k.Focus, k.PageUp, k.PageDown, k.Home, k.End, k.Search, k.NextMatch, k.CloseHelp},
	}
}
