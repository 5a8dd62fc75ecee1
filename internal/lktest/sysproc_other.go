//go:build !linux

package lktest

import "syscall"

// sysProcAttr is nil where there is no parent-death signal: a crashed test binary may
// leave its LiveKit server running there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
