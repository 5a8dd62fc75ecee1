// Package realserver is what the tests that run real servers share (LiveKit in
// internal/lktest, murmurd in internal/mumbletest, icecast2 and FFmpeg in
// internal/streamtest): skipping or failing when a program is missing, a free port, a
// process that dies with its test, and the server's log quoted when a test fails.
package realserver

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Need skips the test because of err (a program is missing), or fails it under
// SPACETUI_E2E=require, where nothing may be skipped (CI). A nil err does nothing.
func Need(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("SPACETUI_E2E") == "require" {
		t.Fatalf("SPACETUI_E2E=require: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

// FreeTCPPort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LogFile creates name in dir for a server's output. At the end of the test it is
// closed and, if the test failed, its last 8 KiB are quoted in the test log as what's
// log. Register it before the server's own cleanup, so the server has stopped (and
// written its last words) when the file is read.
func LogFile(t testing.TB, dir, name, what string) *os.File {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			if b, err := os.ReadFile(path); err == nil {
				t.Logf("%s log (last 8 KiB):\n%s", what, b[max(0, len(b)-8<<10):])
			}
		}
	})
	return f
}
