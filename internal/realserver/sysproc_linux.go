package realserver

import "syscall"

// SysProcAttr has Linux kill a server when the test process that started it dies, so a
// test binary that crashes or times out leaves no server behind, and puts the server in
// a process group of its own, so a Ctrl-C in the terminal reaches only its owner, which
// stops it in order.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
