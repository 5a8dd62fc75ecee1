package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"testing"
)

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
