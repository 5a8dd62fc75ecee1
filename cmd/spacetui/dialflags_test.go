package main

import (
	"context"
	"strings"
	"testing"
	"time"
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
