package main

import (
	"context"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout or the error line
	}{
		{"help", []string{"--help"}, 0, "spacetui demo"},
		{"join help", []string{"join", "--help"}, 0, "ws://HOST:PORT/rooms/ID"},
		{"serve help", []string{"serve", "--help"}, 0, "--max-listeners"},
		{"demo help", []string{"demo", "--help"}, 0, "--headless"},
		{"devices help", []string{"devices", "--help"}, 0, "--output"},
		{"join without url", []string{"join"}, 2, "one room URL"},
		{"unknown scheme", []string{"join", "gopher://h/rooms/x"}, 2, `unsupported URL scheme: "gopher"`},
		{"not a url", []string{"join", "demo"}, 2, "want SCHEME://HOST/"},
		{"unknown flag", []string{"join", "ws://h/rooms/x", "--volumme", "3"}, 2, "unknown flag"},
		{"volume out of range", []string{"join", "ws://h/rooms/x", "--volume", "200"}, 2, "want 0-150"},
		{"json without headless", []string{"join", "--json", "ws://h/rooms/x"}, 2, "--json needs --headless"},
		{"bad room flag", []string{"serve", "--room", "nofile"}, 2, "ID=FILE.ogg"},
		{"unknown command", []string{"teleport"}, 2, "unknown command"},
		{"join help names livekit", []string{"join", "--help"}, 0, "livekit://HOST:PORT/ROOM"},
		{"join help names mumble", []string{"join", "--help"}, 0, "mumble://[USER@]HOST[:PORT]/CHANNEL"},
		{"join help names the mute-speaker key", []string{"join", "--help"}, 0, "x mute the selected speaker"},
		{"join help names the HTTP streams", []string{"join", "--help"}, 0, "Icecast or plain HTTP Ogg Opus or Vorbis, MP3 or AAC"},
		{"join help names X Spaces", []string{"join", "--help"}, 0, "media or master playlist, an X Space's among them"},
		{"join help names the HLS segments", []string{"join", "--help"}, 0, "MPEG-TS, fMP4 or packed (ADTS AAC, MP3) segments"},
		{"record help names AAC and MP3 tracks", []string{"record", "--help"}, 0, "DIR/tracks/SPEAKER.mp3"},
		{"livekit without credentials", []string{"join", "livekit://127.0.0.1:1/demo"}, 2, "needs --token"},
		{"api key without secret", []string{"record", "-o", "x", "--api-key", "k", "livekit://h:1/demo"}, 2, "go together"},
		{"serve help lists every fault", []string{"serve", "--help"}, 0, "abruptclose  drop every listener"},
		{"serve help says how to lift faults", []string{"serve", "--help"}, 0, "none         lift every fault"},
		{"man without a directory", []string{"man"}, 2, "man needs -o DIR"},
		{"livekit without room", []string{"join", "--token", "t", "--headless", "livekit://127.0.0.1:1"}, 1, "want livekit://HOST:PORT/ROOM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, env := range []string{"SPACETUI_TOKEN", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"} {
				t.Setenv(env, "")
			}
			var stdout, stderr strings.Builder
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; err %v", code, tt.wantCode, err)
			}
			if all := stdout.String() + stderr.String(); !strings.Contains(all, tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, all)
			}
		})
	}
}
