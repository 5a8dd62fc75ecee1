package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// The join line carries no secret: spacetui reads it from the environment.
func TestPrintJoinKeepsTheSecretOffTheCommandLine(t *testing.T) {
	var b strings.Builder
	printJoin(&b, "livekit://127.0.0.1:7880/demo", "spacetui", "s3cr3t-0123456789")
	var join, export string
	for _, line := range strings.Split(b.String(), "\n") {
		switch line = strings.TrimSpace(line); {
		case strings.HasPrefix(line, "spacetui join "):
			join = line
		case strings.HasPrefix(line, "export "):
			export = line
		}
	}
	if join != "spacetui join livekit://127.0.0.1:7880/demo" {
		t.Errorf("join line %q, want the room URL alone", join)
	}
	if export != "export LIVEKIT_API_KEY=spacetui LIVEKIT_API_SECRET=s3cr3t-0123456789" {
		t.Errorf("export line %q", export)
	}
}

func TestRoomURL(t *testing.T) {
	for _, tc := range []struct{ signal, room, want string }{
		{"ws://127.0.0.1:7880", "demo", "livekit://127.0.0.1:7880/demo"},
		{"ws://127.0.0.1:7880/", "demo", "livekit://127.0.0.1:7880/demo"},
		{"wss://lk.example.com", "town hall", "livekit+wss://lk.example.com/town%20hall"},
	} {
		if got, err := roomURL(tc.signal, tc.room); err != nil || got != tc.want {
			t.Errorf("roomURL(%q, %q) = %q, %v; want %q", tc.signal, tc.room, got, err, tc.want)
		}
	}
	if _, err := roomURL("http//x", "demo"); err == nil {
		t.Error("a URL without a scheme was accepted")
	}
}

func TestUsage(t *testing.T) {
	t.Setenv("LIVEKIT_API_KEY", "")
	t.Setenv("LIVEKIT_API_SECRET", "")
	for _, args := range [][]string{
		{"--url", "ws://127.0.0.1:7880"}, // no key
		{"extra"},
		{"--no-such-flag"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if err := run(context.Background(), []string{"--help"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}
