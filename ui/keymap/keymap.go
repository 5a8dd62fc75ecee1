// Package keymap is the UI's key bindings and the help text drawn from them; the root
// model matches keys only through these bindings (key.Matches).
package keymap

import "charm.land/bubbles/v2/key"

// KeyMap holds every binding of the UI. It implements help.KeyMap.
type KeyMap struct {
	Mute        key.Binding // mutes and unmutes all playback
	VolumeUp    key.Binding // raises the volume by 10%
	VolumeDown  key.Binding // lowers the volume by 10%
	MuteSpeaker key.Binding // mutes and unmutes the selected speaker
	Up          key.Binding // selects the previous speaker, or scrolls back a line
	Down        key.Binding // selects the next speaker, or scrolls forward a line
	Focus       key.Binding // moves the keyboard between the panes
	PageUp      key.Binding // scrolls the transcript back a page
	PageDown    key.Binding // scrolls the transcript forward a page
	Home        key.Binding // shows the oldest transcript line held
	End         key.Binding // follows the newest transcript line again
	Retry       key.Binding // cuts a reconnect wait short
	Help        key.Binding // shows and hides the full help
	CloseHelp   key.Binding // hides the full help
	Quit        key.Binding // leaves the room

	// volume only labels "+/-" in the one-line help; it is never matched.
	volume key.Binding
}

// Default returns the bindings the README lists.
func Default() KeyMap {
	return KeyMap{
		Mute:        key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mute")),
		VolumeUp:    key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+ =", "volume up 10%")),
		VolumeDown:  key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "volume down 10%")),
		MuteSpeaker: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "mute speaker")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑ k", "previous speaker / line")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓ j", "next speaker / line")),
		Focus:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus")),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "scroll back")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "scroll forward")),
		Home:        key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "oldest line")),
		End:         key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "follow live")),
		Retry:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry now")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		CloseHelp:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		volume:      key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "vol")),
	}
}

// ShortHelp is the one-line help at the bottom of the screen. Where it does not fit,
// the bindings before the last two give way from the right: help and quit stay.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Mute, k.volume, k.MuteSpeaker, k.Focus, k.Help, k.Quit}
}

// FullHelp is the help overlay, one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Mute, k.VolumeUp, k.VolumeDown, k.MuteSpeaker, k.Up, k.Down},
		{k.Focus, k.PageUp, k.PageDown, k.Home, k.End, k.Retry, k.Help, k.Quit},
	}
}
