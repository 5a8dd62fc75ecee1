package transport

import (
	"context"
	"fmt"
	"net/url"
)

// RoomSummary is one room of a server's listing. Rooms cleans what the server sent,
// as a protocol cleans its events.
type RoomSummary struct {
	ID, Title           string
	Listeners, Speakers int
	// URL joins the room.
	URL string
}

// Lister is implemented by a Dialer whose protocol can list the rooms of a server.
// Rooms lists those of the server u names (u need not name a room).
type Lister interface {
	Rooms(ctx context.Context, u *url.URL, opts DialOptions) ([]RoomSummary, error)
}

// MaxRooms bounds a listing, so that a hostile server cannot make one endless.
const MaxRooms = 1000

// Rooms lists the rooms of the server rawURL names with the Lister of its scheme
// (ErrNoListing if it is none): at most MaxRooms, every string cleaned.
func Rooms(ctx context.Context, rawURL string, opts DialOptions) ([]RoomSummary, error) {
	u, d, err := Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	l, ok := d.(Lister)
	if !ok {
		return nil, fmt.Errorf("%s://: %w", u.Scheme, ErrNoListing)
	}
	rooms, err := l.Rooms(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	rooms = rooms[:min(len(rooms), MaxRooms)]
	for i := range rooms {
		r := &rooms[i]
		r.ID, r.Title, r.URL = name(r.ID), name(r.Title), Sanitize(r.URL, MaxDetailRunes)
		r.Listeners, r.Speakers = max(r.Listeners, 0), max(r.Speakers, 0)
	}
	return rooms, nil
}
