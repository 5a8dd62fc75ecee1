//go:build !linux

package streamtest

import "syscall"

// sysProcAttr is nil where there is no parent-death signal: a crashed test binary may
// leave its servers running there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
