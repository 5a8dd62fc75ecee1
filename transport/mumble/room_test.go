package mumble

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"layeh.com/gumble/gumble/MumbleProto"

	"github.com/spacetui/spacetui/transport"
)

func TestRoomModel(t *testing.T) {
	r := newRoom()
	ch := func(id, parent uint32, name, desc string) {
		m := &MumbleProto.ChannelState{ChannelId: proto.Uint32(id), Name: proto.String(name)}
		if id != 0 {
			m.Parent = proto.Uint32(parent)
		}
		if desc != "" {
			m.Description = proto.String(desc)
		}
		r.channelState(m)
	}
	ch(0, 0, "Root", "")
	ch(1, 0, "Talks", "")
	ch(2, 1, "Go", "<p>Gophers &amp; <b>friends</b></p>")
	us := func(m *MumbleProto.UserState) { r.userState(m) }
	us(&MumbleProto.UserState{Session: proto.Uint32(9), Name: proto.String("me"), ChannelId: proto.Uint32(2)})
	us(&MumbleProto.UserState{Session: proto.Uint32(5), Name: proto.String("Rob"), ChannelId: proto.Uint32(2), PrioritySpeaker: proto.Bool(true)})
	us(&MumbleProto.UserState{Session: proto.Uint32(3), Name: proto.String("Ken"), ChannelId: proto.Uint32(2), SelfMute: proto.Bool(true)})
	us(&MumbleProto.UserState{Session: proto.Uint32(4), Name: proto.String("Else"), ChannelId: proto.Uint32(1)})
	r.self = 9

	if id, ok := r.find("Talks/Go"); !ok || id != 2 {
		t.Fatalf("find Talks/Go: %d %v", id, ok)
	}
	if id, ok := r.find(""); !ok || id != 0 {
		t.Errorf("find root: %d %v", id, ok)
	}
	if _, ok := r.find("Talks/Rust"); ok {
		t.Error("found a channel that is not there")
	}
	r.here = 2
	if got, want := r.info(), (transport.RoomInfo{ID: "Talks/Go", Title: "Go — Gophers & friends", Listeners: 3}); got != want {
		t.Errorf("info %+v, want %+v", got, want)
	}
	ro, ids := r.roster()
	want := []transport.Speaker{{ID: "Ken", Name: "Ken", Role: "speaker", Muted: true}, {ID: "Rob", Name: "Rob", Role: "priority speaker"}}
	if !reflect.DeepEqual(ro.Speakers, want) || ids[3] != "Ken" || ids[5] != "Rob" || ids[4] != "" {
		t.Errorf("roster %+v ids %v, want %+v", ro.Speakers, ids, want)
	}
	// Unmuting one flag leaves another; moving away leaves the roster.
	us(&MumbleProto.UserState{Session: proto.Uint32(3), SelfMute: proto.Bool(false), Mute: proto.Bool(true)})
	us(&MumbleProto.UserState{Session: proto.Uint32(5), ChannelId: proto.Uint32(1)})
	if ro, _ := r.roster(); len(ro.Speakers) != 1 || !ro.Speakers[0].Muted {
		t.Errorf("after changes: %+v", ro.Speakers)
	}
	// Two names that clean to the same ID stay apart.
	us(&MumbleProto.UserState{Session: proto.Uint32(7), Name: proto.String("Ken\x1b"), ChannelId: proto.Uint32(2)})
	if ro, _ := r.roster(); len(ro.Speakers) != 2 || ro.Speakers[0].ID == ro.Speakers[1].ID {
		t.Errorf("look-alike names: %+v", ro.Speakers)
	}
}

func TestPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"hello":                             "hello",
		"<b>bold</b> &lt;tag&gt;":           "bold <tag>",
		"line<br/>break":                    "line break",
		"<a href='x'>link</a>   spaced\n\t": "link spaced",
		"<img src=\"data:...\"/>":           "",
		"unclosed <b":                       "unclosed",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Trust on first use: a server's fingerprint is remembered once, matched after, and a
// different one is refused as a permanent error naming the file.
func TestKnownHosts(t *testing.T) {
	k := knownHosts{path: filepath.Join(t.TempDir(), "state", knownHostsFile)}
	if first, err := k.trust("a:1", "aa"); !first || err != nil {
		t.Fatalf("first: %v %v", first, err)
	}
	if first, err := k.trust("b:1", "bb"); !first || err != nil {
		t.Fatalf("second server: %v %v", first, err)
	}
	if first, err := k.trust("a:1", "aa"); first || err != nil {
		t.Fatalf("again: %v %v", first, err)
	}
	_, err := k.trust("a:1", "cc")
	var ce *CertChangedError
	if !errors.As(err, &ce) || ce.Old != "aa" || ce.New != "cc" || !errors.Is(err, transport.ErrUnauthorized) || !strings.Contains(err.Error(), k.path) {
		t.Errorf("changed: %v", err)
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d, _ := StateDir(); d != "/x/state/spacetui" {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := StateDir(); d != "/home/u/.local/state/spacetui" {
		t.Errorf("without: %s", d)
	}
}
