package mumble

import (
	"cmp"
	"html"
	"slices"
	"strconv"
	"strings"

	"layeh.com/gumble/gumble/MumbleProto"

	"github.com/spacetui/spacetui/transport"
)

// channel is what the server said about one channel.
type channel struct {
	name, description string
	parent            uint32
	hasParent         bool // every channel but the root
}

// user is what the server said about one connected user.
type user struct {
	session uint32
	name    string
	channel uint32
	// Any of these silences a user: muted or deafened by an admin or by themselves,
	// or suppressed (not allowed to speak here).
	mute, selfMute, deaf, selfDeaf, suppress bool
	priority                                 bool
}

func (u *user) muted() bool { return u.mute || u.selfMute || u.deaf || u.selfDeaf || u.suppress }

// room is the server as a listener sees it: its channels, its users, ours, and the
// channel we are in. It turns them into the room model's RoomInfo and Roster. Only the
// Conn's reader goroutine touches it.
type room struct {
	self     uint32
	here     uint32 // the channel we are in (or asked to be in)
	channels map[uint32]*channel
	users    map[uint32]*user
}

func newRoom() *room {
	return &room{channels: map[uint32]*channel{}, users: map[uint32]*user{}}
}

// channelState applies a ChannelState: a new channel or a change to one.
func (r *room) channelState(m *MumbleProto.ChannelState) {
	if m.ChannelId == nil {
		return
	}
	c := r.channels[m.GetChannelId()]
	if c == nil {
		c = &channel{}
		r.channels[m.GetChannelId()] = c
	}
	if m.Name != nil {
		c.name = m.GetName()
	}
	if m.Parent != nil {
		c.parent, c.hasParent = m.GetParent(), true
	}
	if m.Description != nil {
		c.description = plainText(m.GetDescription())
	}
}

// userState applies a UserState: a user who connected, or a change to one.
func (r *room) userState(m *MumbleProto.UserState) {
	if m.Session == nil {
		return
	}
	u := r.users[m.GetSession()]
	if u == nil {
		u = &user{session: m.GetSession()}
		r.users[u.session] = u
	}
	if m.Name != nil {
		u.name = m.GetName()
	}
	if m.ChannelId != nil {
		u.channel = m.GetChannelId()
	}
	for _, f := range [...]struct {
		v   *bool
		dst *bool
	}{{m.Mute, &u.mute}, {m.SelfMute, &u.selfMute}, {m.Deaf, &u.deaf}, {m.SelfDeaf, &u.selfDeaf},
		{m.Suppress, &u.suppress}, {m.PrioritySpeaker, &u.priority}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
}

// find returns the channel at path below the root ("" is the root itself), matching
// names exactly, as Mumble's own mumble:// URLs do.
func (r *room) find(path string) (uint32, bool) {
	id := uint32(0)
	if _, ok := r.channels[id]; !ok {
		return 0, false
	}
	for name := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if name == "" {
			continue
		}
		found := false
		for cid, c := range r.channels {
			if c.hasParent && c.parent == id && c.name == name {
				id, found = cid, true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return id, true
}

// path is the channel's path from the root, "" for the root.
func (r *room) path(id uint32) string {
	var names []string
	for i := 0; i < 64; i++ { // bounded: a malicious server could send a parent cycle
		c := r.channels[id]
		if c == nil || !c.hasParent {
			break
		}
		names = append(names, c.name)
		id = c.parent
	}
	slices.Reverse(names)
	return strings.Join(names, "/")
}

// info is the room: our channel's path, its name and description, and how many users
// are in it, us included.
func (r *room) info() transport.RoomInfo {
	c := r.channels[r.here]
	in := transport.RoomInfo{ID: r.path(r.here)}
	if c != nil {
		in.Title = c.name
		if c.description != "" {
			in.Title += " — " + c.description
		}
		if in.ID == "" {
			in.ID = c.name
		}
	}
	for _, u := range r.users {
		if u.channel == r.here {
			in.Listeners++
		}
	}
	return in
}

// roster lists everyone in our channel but us, as speakers in the order they came (the
// server's session numbers), each ID its user name: stable across their reconnects,
// unlike the session. Names are unique on a server; two that clean to the same string
// are told apart by the session. ids maps each speaker's session to its ID.
func (r *room) roster() (ro transport.Roster, ids map[uint32]string) {
	var us []*user
	for _, u := range r.users {
		if u.channel == r.here && u.session != r.self {
			us = append(us, u)
		}
	}
	slices.SortFunc(us, func(a, b *user) int { return cmp.Compare(a.session, b.session) })
	ro = transport.Roster{Speakers: make([]transport.Speaker, 0, len(us))}
	ids = make(map[uint32]string, len(us))
	seen := map[string]bool{}
	for _, u := range us {
		s := transport.Clean(transport.Roster{Speakers: []transport.Speaker{{ID: u.name, Name: u.name, Role: role(u), Muted: u.muted()}}}).(transport.Roster).Speakers[0]
		if seen[s.ID] || s.ID == "" {
			s.ID += "#" + strconv.FormatUint(uint64(u.session), 10)
		}
		seen[s.ID], ids[u.session] = true, s.ID
		ro.Speakers = append(ro.Speakers, s)
	}
	return ro, ids
}

func role(u *user) string {
	switch {
	case u.priority:
		return "priority speaker"
	case u.suppress:
		return "suppressed"
	}
	return "speaker"
}

// plainText turns the HTML of a Mumble text message or description into one line of
// plain text: tags dropped (a <br> or </p> is a space), entities decoded, white space
// collapsed. Images and links keep their text only.
func plainText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break // an unclosed tag: drop the rest
		}
		b.WriteByte(' ')
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}
