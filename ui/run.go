package ui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/spacetui/spacetui/session"
)

// Frontend runs the TUI on a session: the Bubble Tea program lasts until the user quits,
// the room's event stream ends or ctx is done (--for, SIGTERM).
type Frontend struct {
	// Stdin and Stdout are the terminal; nil means the process's own.
	Stdin  io.Reader
	Stdout io.Writer
	// NoColor draws without any colour (NO_COLOR).
	NoColor bool
}

var _ session.Frontend = Frontend{}

// Run runs the program on h.
func (f Frontend) Run(ctx context.Context, h *session.Hub) error {
	m := New(Options{
		Events:   h.Events(),
		Playback: h,
		RetryNow: h.RetryNow,
		NoColor:  f.NoColor,
	})
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler()}
	if f.Stdin != nil {
		opts = append(opts, tea.WithInput(f.Stdin))
	}
	if f.Stdout != nil {
		opts = append(opts, tea.WithOutput(f.Stdout))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	// The program has left the alternate screen: a room the server ended says why where
	// it stays readable, as the headless lines do (cmd routes notices to stderr).
	if msg := m.Farewell(); msg != "" {
		h.Notice(msg)
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
