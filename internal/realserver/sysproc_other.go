//go:build !linux

package realserver

import "syscall"

// SysProcAttr is nil where there is no parent-death signal: a crashed test binary may
// leave its server running there.
func SysProcAttr() *syscall.SysProcAttr { return nil }
