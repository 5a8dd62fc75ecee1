//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStderr points file descriptor 2 at f and returns a func that points it back.
func redirectStderr(f *os.File) (func(), error) {
	saved, err := unix.Dup(2)
	if err != nil {
		return nil, err
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		_ = unix.Close(saved)
		return nil, err
	}
	return func() {
		_ = unix.Dup2(saved, 2)
		_ = unix.Close(saved)
	}, nil
}
