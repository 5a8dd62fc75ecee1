package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// openLog sets up logging for a session. With a path, or with the TUI (which owns the
// terminal), the log goes to a file and file descriptor 2 is pointed at it too, because
// ALSA and JACK write to fd 2 from C and would scribble over the screen; Go panics still
// land in that file. Without either, the log goes to stderr. The returned func restores
// fd 2 and closes the file.
func openLog(path string, tui bool, stderr io.Writer) (*slog.Logger, func(), error) {
	if path == "" && !tui {
		return slog.New(slog.NewTextHandler(stderr, nil)), func() {}, nil
	}
	if path == "" {
		path = defaultLogPath()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	restore, err := redirectStderr(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("log: point stderr at %s: %w", path, err)
	}
	return slog.New(slog.NewTextHandler(f, nil)), func() { restore(); _ = f.Close() }, nil
}

// defaultLogPath is $XDG_STATE_HOME/spacetui/spacetui.log, falling back to
// ~/.local/state and then the temporary directory.
func defaultLogPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".local", "state")
		} else {
			dir = os.TempDir()
		}
	}
	return filepath.Join(dir, "spacetui", "spacetui.log")
}
