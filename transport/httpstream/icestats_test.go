package httpstream

import (
	"strings"
	"testing"
)

// TestParseListeners reads the listener count of one mount from status pages as
// icecast2 2.4 writes them: one live mount is an object, several an array.
func TestParseListeners(t *testing.T) {
	one := `{"icestats":{"admin":"icemaster@localhost","host":"localhost","server_id":"Icecast 2.4.4",
		"source":{"listeners":3,"listenurl":"http://localhost:8000/live.ogg","server_type":"application/ogg"}}}`
	many := `{"icestats":{"source":[
		{"listeners":7,"listenurl":"http://radio.example:8000/other.mp3"},
		{"listeners":12,"listenurl":"http://radio.example:8000/live.mp3","title":"News"}]}}`
	cases := []struct {
		name, page, mount string
		want              int
		err               string
	}{
		{"one mount", one, "/live.ogg", 3, ""},
		{"several mounts", many, "/live.mp3", 12, ""},
		{"another mount", one, "/other.ogg", 0, "no mount /other.ogg"},
		{"no source live", `{"icestats":{"server_id":"Icecast 2.4.4"}}`, "/live.ogg", 0, "no mount"},
		{"no count", `{"icestats":{"source":{"listenurl":"http://h/live.ogg"}}}`, "/live.ogg", 0, "no mount"},
		{"negative", `{"icestats":{"source":{"listeners":-1,"listenurl":"http://h/live.ogg"}}}`, "/live.ogg", 0, "-1 listeners"},
		// icecast2 2.4 writes a title with a quote in it unescaped.
		{"invalid JSON", `{"icestats":{"source":{"title":"say "hi"","listeners":1}}}`, "/live.ogg", 0, "status page"},
		{"wrong shape", `{"icestats":{"source":"yes"}}`, "/live.ogg", 0, "status page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := parseListeners([]byte(c.page), c.mount)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %d, %v; want an error saying %q", n, err, c.err)
				}
				return
			}
			if err != nil || n != c.want {
				t.Fatalf("got %d, %v; want %d", n, err, c.want)
			}
		})
	}
}

func FuzzParseListeners(f *testing.F) {
	f.Add([]byte(`{"icestats":{"source":{"listeners":3,"listenurl":"http://localhost:8000/live.ogg"}}}`))
	f.Add([]byte(`{"icestats":{"source":[{"listeners":1,"listenurl":"http://h/a"},{"listeners":2,"listenurl":"http://h/live.ogg"}]}}`))
	f.Fuzz(func(t *testing.T, page []byte) {
		if n, err := parseListeners(page, "/live.ogg"); err == nil && n < 0 {
			t.Fatalf("a negative count %d", n)
		}
	})
}
