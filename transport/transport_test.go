package transport

import (
	"strings"
	"testing"
)

// A port url.Parse lets through but no attempt could reach is a mistake told at once
// (plaintest is registered in options_test.go).
func TestLookupChecksHostAndPort(t *testing.T) {
	tests := []struct{ url, wantErr string }{
		{"plaintest://h:8080/rooms/x", ""},
		{"plaintest://h/rooms/x", ""},
		{"plaintest://[::1]:1/rooms/x", ""},
		{"plaintest://h:65535/rooms/x", ""},
		{"plaintest://h:99999/rooms/x", "port 99999: want 1-65535"},
		{"plaintest://h:0/rooms/x", "port 0: want 1-65535"},
		{"plaintest://h:00000000000000000000080/rooms/x", ""},
		{"plaintest://h:99999999999999999999/rooms/x", "want 1-65535"},
		{"plaintest://:8080/rooms/x", "no host name"},
		{"plaintest://h:x/rooms/x", "invalid port"},
	}
	for _, tt := range tests {
		_, _, err := Lookup(tt.url)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Lookup(%q): %v", tt.url, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Lookup(%q) = %v, want an error with %q", tt.url, err, tt.wantErr)
		}
	}
}
