package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/internal/fakeclock"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://h:1/rooms/demo", "ws://h:1/rooms/demo"},
		{"ws://alice:pw@h:1/rooms/x?token=T", "ws://h:1/rooms/x"},
		{"wss://TOKEN@h/rooms/x", "wss://h/rooms/x"},
		{"ws://h/rooms/x?lang=en&access_token=T&n=2", "ws://h/rooms/x?lang=en&n=2"},
		{"ws://h/r?api_key=K&client_secret=S&password=P&sig=G&X-Amz-Signature=G&Authorization=A&X-Amz-Credential=C", "ws://h/r"},
		{"ws://h/r?%74oken=T&a=1", "ws://h/r?a=1"}, // an escaped name is still a token
		{"ws://h/r?KEY=K", "ws://h/r"},
		{"ws://h/r?token=T", "ws://h/r"}, // no dangling "?"
		{"ws://h/r#access_token=T", "ws://h/r"},
		{"livekit://h:7880/demo?a=b", "livekit://h:7880/demo?a=b"},
		{"ws://alice:pw@h:99999999999/\x7f?token=T", ""}, // unparseable: nothing of it
		// A token in the path: the host and the last element are enough.
		{"https://prod-fastly-us-east-1.video.pscp.tv/Transcoding/v1/hls/GQzM4Zk1ZTktNGRhNi00ZDc0LWE2YjUtZDM2YjcyNjA3OTYy/non_transcode/us-east-1/periscope-replay-direct-prod-us-east-1-public/audio-space/dynamic_playlist.m3u8?type=live",
			"https://prod-fastly-us-east-1.video.pscp.tv/…/dynamic_playlist.m3u8?type=live"},
		{"https://u:p@cdn.example/live/4f3a9c2e1b/index.m3u8?sig=S&x=1#f", "https://cdn.example/…/index.m3u8?x=1"},
		{"https://cdn.example/4f3a9c2e1b7d6a5f0123/live/", "https://cdn.example/…/live/"},
		{"https://cdn.example/4f3a9c2e1b7d6a5f0123/", "https://cdn.example/4f3a9c2e1b7d6a5f0123/"}, // the last element is kept
		{"http://radio.example.org:8000/live.ogg", "http://radio.example.org:8000/live.ogg"},
		{"https://cdn.example/a/v1/hls/us-east-1/non_transcode/index.m3u8", "https://cdn.example/a/v1/hls/us-east-1/non_transcode/index.m3u8"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The Reconnector logs the URL on every join, retry and refusal: never its credentials.
func TestReconnectorLogRedactsURL(t *testing.T) {
	var log bytes.Buffer
	n := 0
	r := &Reconnector{
		URL: "test://alice:hunter2@h/r?token=s3cr3t", Policy: DefaultPolicy(), Clock: fakeclock.New(t0),
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Dialer: DialerFunc(func(ctx context.Context, u *url.URL, o DialOptions) (Conn, error) {
			if n++; n < 3 {
				return nil, errors.New("refused")
			}
			return nil, ErrNotFound
		}),
	}
	if err := r.Run(context.Background(), func(Event) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Run: %v", err)
	}
	if s := log.String(); !strings.Contains(s, "url=test://h/r") || strings.Contains(s, "hunter2") || strings.Contains(s, "s3cr3t") {
		t.Fatalf("the log holds the URL's credentials, or no URL:\n%s", s)
	}
}

// A URL that does not parse is not quoted back, credentials and all.
func TestLookupErrorRedactsURL(t *testing.T) {
	for _, raw := range []string{"ws://alice:hunter2@h:x/r?token=s3cr3t", "ws:/r?token=s3cr3t"} {
		_, _, err := Lookup(raw)
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Lookup(%q): %v", raw, err)
		}
	}
}
