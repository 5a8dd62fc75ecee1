package ws_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spacetui/spacetui/internal/servertest"
	"github.com/spacetui/spacetui/server"
	"github.com/spacetui/spacetui/transport"
)

func TestRooms(t *testing.T) {
	addr := servertest.Start(t, server.Config{})
	for _, u := range []string{"ws://" + addr, "ws://" + addr + "/rooms/", "ws://" + addr + "/rooms/demo"} {
		rooms, err := transport.Rooms(context.Background(), u, transport.DialOptions{})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if len(rooms) != 1 || rooms[0].ID != "demo" || rooms[0].Title == "" || rooms[0].Speakers != 3 ||
			rooms[0].URL != "ws://"+addr+"/rooms/demo" {
			t.Fatalf("%s: %+v", u, rooms)
		}
	}
}

// A hostile listing is cleaned and bounded like any text from the network, and the URLs
// to join are the client's own, never the server's.
func TestRoomsHostile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"id":"a\u001b[2Jb","title":"` + strings.Repeat("x", 500) + `","listeners":-4,"speakers":2,"url":"ws://evil/rooms/a"}]`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	rooms, err := transport.Rooms(context.Background(), "ws://"+host, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := rooms[0]
	if r.ID != "ab" || len([]rune(r.Title)) != transport.MaxNameRunes || r.Listeners != 0 || r.URL != "ws://"+host+"/rooms/a%1B%5B2Jb" {
		t.Fatalf("%+v", r)
	}
}

// A URL naming a server but no room is told before any attempt, so that a command can
// list the rooms instead of failing with "room not found".
func TestCheckNoRoom(t *testing.T) {
	for u, noRoom := range map[string]bool{
		"ws://h:1": true, "ws://h:1/": true, "ws://h:1/rooms": true, "wss://h/rooms/": true,
		"ws://h:1/rooms/demo": false,
	} {
		if err := transport.Check(u, transport.DialOptions{}); errors.Is(err, transport.ErrNoRoom) != noRoom {
			t.Errorf("Check(%q) = %v", u, err)
		}
	}
}
