package server

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spacetui/spacetui/audio"
)

func TestDemoSpeakerTracks(t *testing.T) {
	tracks, err := DemoSpeakerTracks()
	if err != nil {
		t.Fatal(err)
	}
	c, err := newContent(demoOgg, demoVTT)
	if err != nil {
		t.Fatal(err)
	}
	var ids, roles []string
	for _, tr := range tracks {
		ids, roles = append(ids, tr.ID), append(roles, tr.Role)
		if len(tr.Packets) != len(c.packets) || tr.Duration() != c.duration() {
			t.Errorf("%s: %d packets, want %d", tr.ID, len(tr.Packets), len(c.packets))
		}
		if len(tr.Cues) == 0 {
			t.Errorf("%s has no cues", tr.ID)
		}
	}
	if !slices.Equal(ids, []string{"ada", "grace", "linus"}) || !slices.Equal(roles, []string{"host", "speaker", "speaker"}) {
		t.Fatalf("tracks %v, roles %v", ids, roles)
	}
	// Each tick: the owner carries the file's packet, everyone else silence.
	silence := audio.SilencePacket()
	for n, p := range c.packets {
		owner := c.speakers[c.owner[n]].ID
		for _, tr := range tracks {
			want := silence
			if tr.ID == owner && p != nil {
				want = p
			}
			if !bytes.Equal(tr.Packets[n], want) {
				t.Fatalf("tick %d, %s: %x, want %x (owner %s)", n, tr.ID, tr.Packets[n], want, owner)
			}
		}
	}
	// The cues, put back together, are the room's.
	var all []Cue
	for _, tr := range tracks {
		for _, q := range tr.Cues {
			if q.Text == "" || q.End <= q.Start || q.End > tr.Duration() {
				t.Errorf("%s: cue %+v", tr.ID, q)
			}
			if owner := c.speakers[c.owner[int(q.Start/tick)+1]].ID; owner != tr.ID {
				t.Errorf("cue %s of %s starts in audio routed to %s", q.ID, tr.ID, owner)
			}
		}
		all = append(all, tr.Cues...)
	}
	if len(all) != len(c.cues) {
		t.Errorf("%d cues in the tracks, %d in the room", len(all), len(c.cues))
	}
	first := tracks[0].Cues[0]
	if first.ID != "c1" || first.Start != 300*time.Millisecond || first.Text[:16] != "Welcome back to " {
		t.Errorf("first cue %+v", first)
	}
}

func TestSpeakerTracksRoomSpeaker(t *testing.T) {
	for _, tc := range []struct {
		name string
		vtt  string
		want []string
	}{
		{"no captions", "", []string{"room"}},
		{"one voice throughout", "WEBVTT\n\n00:00.000 --> 00:04.000\n<v Ada>all of it\n", []string{"ada"}},
		{"pauses and a cue without a voice", "WEBVTT\n\n00:00.100 --> 00:00.500\n<v Ada>one two three\n\n" +
			"00:00.800 --> 00:01.000\n<v Bob B.>four\n\n00:03.500 --> 00:03.600\nnobody\n", []string{"ada", "bob-b", "room"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var vtt []byte
			if tc.vtt != "" {
				vtt = []byte(tc.vtt)
			}
			tracks, err := SpeakerTracks(testOgg(200), vtt)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tr := range tracks {
				ids = append(ids, tr.ID)
				if len(tr.Packets) != 200 {
					t.Errorf("%s: %d packets", tr.ID, len(tr.Packets))
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("tracks %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestSpeakerTrackWriteOggFile(t *testing.T) {
	tracks, err := SpeakerTracks(testOgg(100), []byte("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ada>hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	path, err := tracks[0].WriteOggFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "ada.ogg" {
		t.Errorf("written to %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	packets, _, err := readOpusFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(packets) != 100 {
		t.Fatalf("%d packets read back", len(packets))
	}
	for n := range packets {
		if !bytes.Equal(packets[n], tracks[0].Packets[n]) {
			t.Fatalf("packet %d: %x, want %x", n, packets[n], tracks[0].Packets[n])
		}
	}
	r, err := audio.NewOggReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Comments(), "ARTIST=Ada") {
		t.Errorf("comments %q", r.Comments())
	}
	if _, err := (SpeakerTrack{ID: "../x"}).WriteOggFile(t.TempDir()); err == nil {
		t.Error("a path in the speaker id was accepted")
	}
}
