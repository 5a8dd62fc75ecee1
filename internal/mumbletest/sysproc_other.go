//go:build !linux

package mumbletest

import "syscall"

// sysProcAttr is nil where there is no parent-death signal: a crashed test binary may
// leave its murmurd running there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
