package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// tick is the room's frame period: every Opus packet of a room file lasts exactly this.
const tick = 20 * time.Millisecond

// Routing and caption pacing of a room's content.
const (
	// carryOver is how long after a cue ends (or before one starts) its speaker still
	// owns the audio: the pauses between the lines of one conversation.
	carryOver = time.Second
	// partialEvery is the interval, in ticks, between partial caption updates (240 ms).
	partialEvery = 12
	// roomSpeakerID owns the audio no caption attributes to a voice.
	roomSpeakerID = "room"
)

// content is what a room plays, prepared once: one Opus packet per tick of the file,
// the speaker each packet belongs to, and the caption events of each tick.
type content struct {
	title    string // from the file's TITLE tag, if any
	speakers []wire.Speaker
	packets  [][]byte // one per tick; nil for a tick with nothing to send
	owner    []int    // index into speakers, per tick
	// roomSpeaker is the index of the room speaker, -1 until some audio needs it.
	roomSpeaker int
	cues        []roomCue
	events      [][]captionEvent // per tick
}

// roomCue is a caption placed on the file's tick grid.
type roomCue struct {
	id      string
	speaker int
	startMs int64
	endMs   int64
	words   []string
}

// captionEvent says what a tick sends for one cue: a partial segment revealing the first
// words words of the cue, or (final) the whole cue.
type captionEvent struct {
	cue   int
	words int
	final bool
}

// newContent prepares a room from the bytes of an Ogg Opus file and, optionally, a
// WebVTT file (vtt nil: no captions, one speaker for the whole room).
func newContent(ogg, vtt []byte) (*content, error) {
	packets, title, err := readOpusFile(ogg)
	if err != nil {
		return nil, err
	}
	var cues []webvtt.Cue
	if vtt != nil {
		if cues, err = parseCaptions(vtt); err != nil {
			return nil, err
		}
	}
	c := &content{title: title, packets: packets, owner: make([]int, len(packets)), events: make([][]captionEvent, len(packets)), roomSpeaker: -1}
	c.placeCues(cues)
	c.route()
	c.scheduleCaptions()
	return c, nil
}

// readOpusFile returns the packets of an Ogg Opus file, one per 20 ms tick (nil for an
// empty packet, which RFC 7845 allows for a lost frame: nothing is sent for it), and the
// file's TITLE tag. A packet of any other duration is refused.
func readOpusFile(ogg []byte) (packets [][]byte, title string, err error) {
	r, err := audio.NewOggReader(bytes.NewReader(ogg))
	if err != nil {
		return nil, "", err
	}
	for _, c := range r.Comments() {
		if k, v, _ := strings.Cut(c, "="); strings.EqualFold(k, "title") {
			title = transport.Sanitize(v, wire.MaxNameRunes)
		}
	}
	for {
		p, err := r.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("opus packet %d: %w", len(packets), err)
		}
		if len(p) == 0 {
			packets = append(packets, nil)
			continue
		}
		if len(p) > wire.MaxPayload {
			return nil, "", fmt.Errorf("opus packet %d: %d bytes, over %d", len(packets), len(p), wire.MaxPayload)
		}
		if n, err := audio.PacketSamples(p); err != nil || n != wire.FrameSamples {
			return nil, "", fmt.Errorf("opus packet %d is not 20 ms (encode with opusenc --framesize 20)", len(packets))
		}
		packets = append(packets, p)
	}
	if len(packets) == 0 {
		return nil, "", fmt.Errorf("%w: no audio packets", audio.ErrNotOpus)
	}
	return packets, title, nil
}

// duration is the length of one pass through the file.
func (c *content) duration() time.Duration { return time.Duration(len(c.packets)) * tick }

// speakerIndex returns the index of the speaker with the given voice name, adding it
// (or the room speaker, for an empty voice or past the roster limit) as needed.
func (c *content) speakerIndex(voice string) int {
	if len(c.speakers) >= wire.MaxSpeakers-1 {
		voice = ""
	}
	if voice == "" && c.roomSpeaker >= 0 {
		return c.roomSpeaker
	}
	for i, s := range c.speakers {
		if voice != "" && i != c.roomSpeaker && s.Name == voice {
			return i
		}
	}
	name, id := voice, speakerID(voice)
	if voice == "" {
		name, id = "Room", roomSpeakerID
		c.roomSpeaker = len(c.speakers)
	}
	base := id
	for n := 2; c.idTaken(id); n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	role := "speaker"
	if len(c.speakers) == 0 {
		role = "host"
	}
	c.speakers = append(c.speakers, wire.Speaker{ID: id, Name: name, Role: role, Track: uint16(len(c.speakers) + 1)})
	return len(c.speakers) - 1
}

func (c *content) idTaken(id string) bool {
	for _, s := range c.speakers {
		if s.ID == id {
			return true
		}
	}
	return false
}

// speakerID derives a speaker id from a display name: lower-case letters and digits,
// other runs of characters folded into one hyphen.
func speakerID(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= wire.MaxNameRunes-4 { // room for a "-NN" suffix
			break
		}
	}
	if b.Len() == 0 {
		return "speaker"
	}
	return b.String()
}

// placeCues puts the cues on the file's time line, in start order, dropping those that
// start after the file ends and cutting those that run past it.
func (c *content) placeCues(cues []webvtt.Cue) {
	sort.SliceStable(cues, func(i, j int) bool { return cues[i].Start < cues[j].Start })
	end := c.duration()
	for _, q := range cues {
		if q.Start >= end {
			continue
		}
		q.End = min(q.End, end)
		c.cues = append(c.cues, roomCue{
			id:      "c" + strconv.Itoa(len(c.cues)+1),
			speaker: c.speakerIndex(q.Voice),
			startMs: q.Start.Milliseconds(),
			endMs:   q.End.Milliseconds(),
			words:   strings.Fields(q.Text),
		})
	}
}

// route gives each tick's packet to a speaker: the one whose cue covers the middle of
// the tick; in a pause shorter than carryOver, the speaker of the cue just before (or,
// before the first cue, just after); otherwise the room speaker.
func (c *content) route() {
	for i := range c.packets {
		t := (int64(i)*tick.Milliseconds() + tick.Milliseconds()/2)
		c.owner[i] = c.ownerAt(t)
	}
}

func (c *content) ownerAt(t int64) int {
	// The last cue starting at or before t; among overlapping cues the latest wins.
	k := sort.Search(len(c.cues), func(i int) bool { return c.cues[i].startMs > t }) - 1
	if k >= 0 {
		for j := k; j >= 0 && j > k-4; j-- { // a few overlapping cues may still cover t
			if t < c.cues[j].endMs {
				return c.cues[j].speaker
			}
		}
		if t-c.cues[k].endMs < carryOver.Milliseconds() {
			return c.cues[k].speaker
		}
	}
	if next := k + 1; next < len(c.cues) && c.cues[next].startMs-t < carryOver.Milliseconds() {
		return c.cues[next].speaker
	}
	return c.speakerIndex("")
}

// scheduleCaptions fills events: each cue reveals its words evenly across its duration,
// one partial update every partialEvery ticks while the revealed text grows, then the
// final segment on the tick where the cue ends.
func (c *content) scheduleCaptions() {
	ms := tick.Milliseconds()
	last := int64(len(c.packets) - 1)
	for k, q := range c.cues {
		first := min((q.startMs+ms-1)/ms, last)
		end := min(max((q.endMs+ms-1)/ms, first+1), last)
		shown := 0
		for t := first; t < end; t += partialEvery {
			elapsed := (t-first)*ms + ms
			n := min(max(int(int64(len(q.words))*elapsed/(q.endMs-q.startMs)), 1), len(q.words))
			if n > shown && n < len(q.words) {
				c.events[t] = append(c.events[t], captionEvent{cue: k, words: n})
				shown = n
			}
		}
		c.events[end] = append(c.events[end], captionEvent{cue: k, final: true})
	}
}

// transcript returns the segment for event e of a cue in the given pass through the
// file, at room time nowMs.
func (c *content) transcript(e captionEvent, loop, nowMs int64) wire.Transcript {
	q := c.cues[e.cue]
	base := loop * c.duration().Milliseconds()
	seg := wire.Transcript{
		ID:      q.id + "-" + strconv.FormatInt(loop, 10),
		Speaker: c.speakers[q.speaker].ID,
		StartMs: base + q.startMs,
		EndMs:   base + q.endMs,
		Text:    strings.Join(q.words, " "),
		Final:   e.final,
	}
	if !e.final {
		seg.EndMs = max(nowMs, seg.StartMs)
		seg.Text = strings.Join(q.words[:e.words], " ")
	}
	return seg
}
