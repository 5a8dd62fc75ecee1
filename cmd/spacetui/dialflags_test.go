package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// A host and port no attempt could reach is a usage error, told at once: it used to be
// retried forever.
func TestUnreachableHostPortIsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"join", "--headless", "--output", "null", "ws://127.0.0.1:99999/rooms/demo"},
		{"record", "-o", t.TempDir(), "ws://127.0.0.1:0/rooms/demo"},
		{"join", "--headless", "--output", "null", "ws://:8080/rooms/demo"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var stdout, stderr strings.Builder
		err := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
		cancel()
		if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), "room URL") {
			t.Errorf("%v: exit %d, want 2 and a line about the room URL:\n%s", args, code, stderr.String())
		}
	}
}

// A server that is down, or a wrong port, is told as such, naming the address, and
// retried; it used to read "connection lost" though no connection was ever made.
func TestJoinUnreachableSaysWhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr strings.Builder
	err = run(context.Background(), []string{"join", "--headless", "--output", "null", "--give-up-after", "1500ms",
		"ws://" + addr + "/rooms/demo"}, strings.NewReader(""), &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit %d, want 1 after giving up", code)
	}
	want := "cannot reach " + addr + " (connection refused) · retry in"
	if out := stdout.String(); !strings.Contains(out, want) || strings.Contains(out, "connection lost") {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
}

// A protocol's switch (Mumble's --insecure) is given without a value.
func TestSwitchOptionTakesNoValue(t *testing.T) {
	var f dialFlags
	fs := pflag.NewFlagSet("join", pflag.ContinueOnError)
	f.register(fs)
	const room = "mumble://127.0.0.1/Demo"
	if err := fs.Parse([]string{"--insecure", room}); err != nil {
		t.Fatal(err)
	}
	opts, err := f.options(room)
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.Params["insecure"]; got != "true" || fs.Arg(0) != room {
		t.Errorf("--insecure gave %q and left args %v, want \"true\" and the room", got, fs.Args())
	}
}

// A flag of another protocol is refused, naming it, rather than silently ignored; the
// same flag for its own protocol is taken.
func TestOtherProtocolsOptionIsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"--api-key", "k", "ws://127.0.0.1:8080/rooms/demo"}, "--api-key is not an option of ws:// rooms"},
		{[]string{"--live-edge", "mumble://127.0.0.1/Demo"}, "--live-edge is not an option of mumble:// rooms"},
		{[]string{"--insecure", "http://127.0.0.1:8000/live.mp3"}, "--insecure is not an option of http:// rooms"},
		{[]string{"--live-edge", "http://127.0.0.1:8000/live.m3u8"}, ""},
		{[]string{"--insecure", "mumble://127.0.0.1/Demo"}, ""},
	} {
		var f dialFlags
		fs := pflag.NewFlagSet("join", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := f.options(fs.Arg(0))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v, want it taken", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
