package ws

import (
	"strings"
	"testing"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// Tracks whose ids are equal, or equal once cleaned, stay apart: each track keeps a
// speaker id of its own, the same from roster to roster, so its audio is neither merged
// with another's nor recorded into another's file.
func TestRosterKeepsTracksApart(t *testing.T) {
	long := strings.Repeat("x", 200)
	roster := &wire.Roster{Speakers: []wire.Speaker{
		{ID: "ada", Name: "Ada", Track: 1},
		{ID: "ada", Name: "Ada again", Track: 2},
		{ID: "a\x1b[31mda", Name: "Ada in red", Track: 3},
		{ID: long, Track: 4},
		{ID: long + "y", Track: 5},
	}}
	var ids []string
	for range 2 {
		c := &Conn{tracks: map[uint16]string{}}
		c.onRoster(roster)
		r := c.pending[0].(transport.Roster)
		seen := map[string]bool{}
		for _, sp := range r.Speakers {
			if seen[sp.ID] {
				t.Fatalf("two speakers share the id %q: %+v", sp.ID, r.Speakers)
			}
			seen[sp.ID] = true
			if n := len([]rune(sp.ID)); n > transport.MaxNameRunes {
				t.Errorf("id of %d runes, over the limit", n)
			}
		}
		if len(c.tracks) != 5 || len(seen) != 5 {
			t.Fatalf("tracks %v, speakers %v: want 5 of each", c.tracks, r.Speakers)
		}
		got := []string{c.tracks[1], c.tracks[2], c.tracks[3], c.tracks[4], c.tracks[5]}
		if ids != nil && strings.Join(got, "|") != strings.Join(ids, "|") {
			t.Errorf("ids changed between rosters: %v then %v", ids, got)
		}
		ids = got
	}
	if ids[0] != "ada" || ids[1] != "ada#2" || ids[2] != "ada#3" {
		t.Errorf("ids = %v, want ada, ada#2, ada#3", ids[:3])
	}
}
