package transporttest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spacetui/spacetui/transport"
)

// Hostile returns room text as a hostile server would send it, around tag: terminal
// escape sequences (a CSI that clears the screen, an OSC that sets the window title),
// a C1 CSI (U+009B) and a raw 0x9b byte, bidirectional overrides, control characters,
// and more runes than any limit of transport's table allows. What is left of it after
// cleaning starts with tag.
func Hostile(tag string) string {
	return "\x1b[2J\x1b]0;pwned\x07" + tag + "\u009b31m\x9b \u202eevil\u202c\x1b[0m\r\n\x00" +
		strings.Repeat(" long", transport.MaxTextRunes)
}

// HostileShort is Hostile within 256 bytes, for a server that bounds an identifier
// (LiveKit refuses longer participant identities); it still holds more runes than
// transport.MaxNameRunes.
func HostileShort(tag string) string {
	return "\x1b[2J\x1b]0;pwned\x07" + tag + "\u009b31m\u202e\x1b[0m\t" + strings.Repeat("x", transport.MaxNameRunes)
}

// HostileRoom is a room whose server sends Hostile text in every string it can: the
// room's ID and title, speakers' IDs, names and roles, transcript text, and, where
// the protocol carries them, the reason for a gap and for the room's end.
type HostileRoom struct {
	URL  string
	Opts transport.DialOptions
	// Want lists the events the room sends with hostile text, by type name
	// ("RoomInfo", "Roster", "TranscriptSegment", "Gap", "Ended"); the suite reads
	// until it has seen each.
	Want []string
	// Within bounds the wait.
	Within time.Duration
}

// RunHostile dials room once and checks that every event the Conn returns is already
// clean: each is its own transport.Clean, and no string in it, however deep, holds a
// control, format or bidirectional character or more runes than the table allows. The
// Conn is read directly, not through a Reconnector, so it is the protocol that must
// have cleaned its events.
func RunHostile(t *testing.T, room HostileRoom) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), room.Within)
	defer cancel()
	conn, err := transport.Dial(ctx, room.URL, room.Opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	seen := map[string]int{}
	for !wantSeen(room.Want, seen) {
		ev, err := conn.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v (seen %v, want %v)", err, seen, room.Want)
		}
		kind := strings.TrimPrefix(fmt.Sprintf("%T", ev), "transport.")
		if slices.Contains(room.Want, kind) && hasText(ev) {
			seen[kind]++
		}
		if c := transport.Clean(ev); !reflect.DeepEqual(c, ev) {
			t.Errorf("%s not clean:\n got %#v\nwant %#v", kind, ev, c)
		}
		walkStrings(reflect.ValueOf(ev), kind, func(path, s string) {
			if bad := dirty(s); bad != "" {
				t.Errorf("%s: %s %q", path, bad, s)
			}
		})
		if _, ok := ev.(transport.Ended); ok {
			break
		}
	}
	if !wantSeen(room.Want, seen) {
		t.Fatalf("seen %v, want each of %v with text", seen, room.Want)
	}
}

func wantSeen(want []string, seen map[string]int) bool {
	for _, w := range want {
		if seen[w] == 0 {
			return false
		}
	}
	return true
}

// hasText reports whether ev carries the room's text, so the hostile strings were
// actually sent (a roster of no one proves nothing).
func hasText(ev transport.Event) bool {
	switch e := ev.(type) {
	case transport.RoomInfo:
		return e.Title != ""
	case transport.Roster:
		return len(e.Speakers) > 0 && e.Speakers[0].Name != ""
	case transport.TranscriptSegment:
		return e.Text != ""
	case transport.Gap:
		return e.Why != ""
	case transport.Ended:
		return e.Reason != ""
	}
	return false
}

// walkStrings calls f with every string in v, through structs and slices.
func walkStrings(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, f)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // a payload, not text
		}
		for i := range v.Len() {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	}
}

// dirty says what is wrong with s for a terminal, "" if nothing: judged here on its
// own terms, not by calling Sanitize.
func dirty(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > transport.MaxTextRunes {
		return fmt.Sprintf("%d runes", n)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return fmt.Sprintf("control or format character %U", r)
		}
	}
	if strings.Contains(s, "[2J") || strings.Contains(s, "pwned") {
		return "the remains of an escape sequence"
	}
	return ""
}
