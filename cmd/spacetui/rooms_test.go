package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/internal/servertest"
	"github.com/spacetui/spacetui/server"
)

func TestRoomsCommand(t *testing.T) {
	addr := servertest.Start(t, server.Config{})
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"rooms", []string{"rooms", "ws://" + addr}, 0, "demo  ", ""},
		{"rooms lists the URL to join", []string{"rooms", "ws://" + addr + "/rooms/x"}, 0, "ws://" + addr + "/rooms/demo", ""},
		{"rooms of a protocol that cannot list", []string{"rooms", "livekit://" + addr}, 2, "", "cannot list rooms"},
		{"rooms without a URL", []string{"rooms"}, 2, "", "one server URL"},
		// A URL without a room lists the rooms rather than failing as "room not found".
		{"join without a room", []string{"join", "--headless", "--output", "null", "ws://" + addr}, 2, "", "ws://" + addr + "/rooms/demo"},
		{"record without a room", []string{"record", "-o", t.TempDir(), "ws://" + addr + "/rooms/"}, 2, "", "pick one of the rooms above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) ||
				strings.Contains(stderr.String(), "room not found") {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
		})
	}
}
