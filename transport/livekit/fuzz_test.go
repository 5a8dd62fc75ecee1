package livekit

import (
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spacetui/spacetui/transport"
)

// clean reports whether s is fit for the screen: no control or format characters,
// within max code points.
func clean(s string, max int) bool {
	if utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf) {
			return false
		}
	}
	return true
}

// Participant and room metadata are whatever a publisher or an admin set; what the
// Conn makes of them leaves it clean.
func FuzzMetadata(f *testing.F) {
	f.Add("host", `{"role":"speaker","title":"Town hall"}`, "room")
	f.Add("", `{"role":"\u001b[31mred","title":"\u202eevil"}`, "r")
	f.Add("", "not json", "")
	f.Fuzz(func(t *testing.T, attr, metadata, name string) {
		attrs := map[string]string{}
		if attr != "" {
			attrs["role"] = attr
		}
		r := transport.Clean(transport.Roster{Speakers: []transport.Speaker{{ID: "s", Role: roleOf(attrs, metadata)}}}).(transport.Roster)
		if role := r.Speakers[0].Role; !clean(role, transport.MaxNameRunes) {
			t.Fatalf("role %q", role)
		}
		info := transport.Clean(transport.RoomInfo{ID: name, Title: roomTitle(metadata, name)}).(transport.RoomInfo)
		if !clean(info.Title, transport.MaxNameRunes) {
			t.Fatalf("title %q", info.Title)
		}
	})
}

// Whatever RTP a publisher sends, in any order, the mapper hands out sequence numbers
// that never go back for packets that arrive in order.
func FuzzMapper(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 255, 255, 0, 0}, uint32(7))
	f.Fuzz(func(t *testing.T, seqs []byte, ts uint32) {
		m := newMapper(nil, time.Unix(0, 0))
		var tr track
		var last uint32
		var lastExt int64
		for i := 0; i+1 < len(seqs); i += 2 {
			seq := uint16(seqs[i])<<8 | uint16(seqs[i+1])
			out, _ := m.place("s", &tr, seq, ts+uint32(i)*480, time.Unix(1, 0))
			if tr.ext > lastExt && i > 0 && int32(out-last) <= 0 {
				t.Fatalf("packet %d (rtp %d) moved the stream forward but got seq %d after %d", i/2, seq, out, last)
			}
			if tr.ext > lastExt || i == 0 {
				last, lastExt = out, tr.ext
			}
		}
	})
}
