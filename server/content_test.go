package server

import (
	"bytes"
	"testing"

	"github.com/spacetui/spacetui/transport/wire"
)

func TestReadOpusFile(t *testing.T) {
	packets, _, err := readOpusFile(testOgg(300))
	if err != nil || len(packets) != 300 {
		t.Fatalf("got %d packets, err %v", len(packets), err)
	}
	if !bytes.Equal(packets[299], []byte{0xf8, 1, 43}) {
		t.Errorf("packet 299 = %x", packets[299])
	}
	bad := testOgg(3)
	bad[len(bad)-1] ^= 1
	if _, _, err := readOpusFile(bad); err == nil {
		t.Error("a corrupt page passed its checksum")
	}
	if _, _, err := readOpusFile([]byte("WEBVTT\n")); err == nil {
		t.Error("not an Ogg file, accepted")
	}
}

func TestDemoContent(t *testing.T) {
	c, err := newContent(demoOgg, demoVTT)
	if err != nil {
		t.Fatal(err)
	}
	if c.title != demoTitle {
		t.Errorf("demo title %q", c.title)
	}
	if d := c.duration().Seconds(); d < 60 || d > 95 {
		t.Errorf("demo lasts %.1f s", d)
	}
	want := []wire.Speaker{
		{ID: "ada", Name: "Ada", Role: "host", Track: 1},
		{ID: "grace", Name: "Grace", Role: "speaker", Track: 2},
		{ID: "linus", Name: "Linus", Role: "speaker", Track: 3},
	}
	if len(c.speakers) != len(want) {
		t.Fatalf("speakers %+v", c.speakers)
	}
	for i := range want {
		if c.speakers[i] != want[i] {
			t.Errorf("speaker %d = %+v, want %+v", i, c.speakers[i], want[i])
		}
	}
	if len(demoOgg) > 1<<20 {
		t.Errorf("demo.ogg is %d bytes", len(demoOgg))
	}
}

func TestRouting(t *testing.T) {
	vtt := []byte("WEBVTT\n\n00:00.100 --> 00:00.500\n<v Ada>one two three\n\n" +
		"00:00.800 --> 00:01.000\n<v Bob B.>four\n\n00:03.500 --> 00:03.600\nnobody\n\n" +
		"00:09.000 --> 00:09.500\n<v Ada>past the end\n")
	c, err := newContent(testOgg(200), vtt) // 4 s
	if err != nil {
		t.Fatal(err)
	}
	ids := func(i int) string { return c.speakers[c.owner[i]].ID }
	for _, tc := range []struct {
		tick int
		want string
	}{
		{0, "ada"},  // lead-in under 1 s before the first cue
		{10, "ada"}, // inside the cue
		{30, "ada"}, // a pause under 1 s keeps the last speaker
		{45, "bob-b"},
		{90, "bob-b"}, // 0.81 s after Bob's cue
		{110, "room"}, // a long silence belongs to nobody's voice
		{176, "room"}, // the cue without a voice
		{199, "room"}, // the cue past the end of the file was dropped
	} {
		if got := ids(tc.tick); got != tc.want {
			t.Errorf("tick %d belongs to %q, want %q", tc.tick, got, tc.want)
		}
	}
	if len(c.cues) != 3 {
		t.Errorf("%d cues placed, want 3", len(c.cues))
	}
	// Tracks in order of appearance; only the first speaker is host.
	for i, s := range c.speakers {
		if s.Track != uint16(i+1) || (s.Role == "host") != (i == 0) {
			t.Errorf("speaker %d: %+v", i, s)
		}
	}
}

func TestNoVTTRoomSpeaker(t *testing.T) {
	c, err := newContent(testOgg(10), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.speakers) != 1 || c.speakers[0].ID != "room" || c.speakers[0].Role != "host" {
		t.Errorf("speakers %+v", c.speakers)
	}
}

func TestRejectsNon20msPackets(t *testing.T) {
	if _, err := newContent(oggOf([]byte{0xe8}), nil); err == nil { // CELT 10 ms
		t.Error("10 ms packets accepted")
	}
}

func TestSpeakerID(t *testing.T) {
	for in, want := range map[string]string{
		"Ada": "ada", "Grace Hopper": "grace-hopper", "  Dr. Who?! ": "dr-who", "日本": "speaker", "a__b": "a-b",
	} {
		if got := speakerID(in); got != want {
			t.Errorf("speakerID(%q) = %q, want %q", in, got, want)
		}
	}
}
