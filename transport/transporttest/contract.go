// Package transporttest is the contract every protocol's Conn keeps, as a test suite a
// protocol package runs against a real room of its kind: the reference server for
// ws://, a LiveKit server for livekit://. What the session, the recorder and the UI
// rely on is checked here once, not per protocol.
package transporttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
	"unicode"

	"github.com/spacetui/spacetui/audio"
	"github.com/spacetui/spacetui/transport"
)

// Room is a live room to join: its URL, the dial options it needs, and what it is
// known to hold.
type Room struct {
	URL  string
	Opts transport.DialOptions
	// Speakers is how many speakers talk in the room; the suite waits to hear each.
	Speakers int
	// Within bounds the wait for everything to be seen.
	Within time.Duration
	// Chat says the room's transcript is its chat (Mumble's text messages): segments
	// arrive final and marked Chat, with no partials; the suite wants one.
	Chat bool
	// NoTranscript says the protocol carries no transcript at all (a plain audio
	// stream): the suite is satisfied by the room and its audio alone.
	NoTranscript bool
}

// minFrames is how many frames of each speaker the suite wants before it is satisfied.
const minFrames = 50

// Run joins room through transport.Reconnector and checks the contract:
//
//   - states: connecting, then live, before any room event; no other state while the
//     room is healthy;
//   - RoomInfo before any audio, with a listener count of at least one (us);
//   - a Roster naming every speaker heard, with unique IDs and clean text;
//   - audio frames in order per speaker: sequence numbers increasing (reordering and
//     duplicates at most 1%), each frame keeping the payload convention (CheckFrame),
//     and timestamps moving by the frames' lengths at 48 kHz as their running total
//     gives them (within rounding, without drift), or further across a pause;
//   - transcript segments, partial and final, whose final follows its partials under
//     the same ID, attributed to a speaker of the roster (in a chat room, final
//     segments marked Chat);
//   - active speakers, where the protocol has them, from the roster;
//   - leaving (ctx cancelled) ends Run with nil.
func Run(t *testing.T, room Room) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), room.Within)
	defer cancel()
	c := newChecker(room.Speakers)
	c.chat = room.Chat
	c.noTranscript = room.NoTranscript
	rc := &transport.Reconnector{URL: room.URL, Opts: room.Opts, Policy: transport.DefaultPolicy(), Clock: transport.SystemClock{}}
	done := make(chan error, 1)
	leave, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		done <- rc.Run(leave, func(ev transport.Event) {
			if c.see(ev) {
				stop() // everything seen: leave
			}
		})
	}()
	err := <-done
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil && !c.satisfied() {
		t.Fatalf("after %s: %s", room.Within, c.missing())
	}
	for _, e := range c.errs {
		t.Error(e)
	}
	t.Logf("contract: %d states, roster %v, frames %v, %d partial and %d final segments",
		len(c.states), c.rosterIDs(), c.frames, c.partials, c.finals)
}

// checker accumulates what a room sent and the breaches of the contract seen so far.
type checker struct {
	want     int
	chat     bool // segments are chat messages: final, marked Chat
	states   []transport.ConnState
	room     bool
	roster   map[string]bool
	frames   map[string]int
	tracks   map[string]*track
	disorder map[string]int
	partial  map[string]bool // segment IDs seen partial and not yet final
	partials int
	finals   int
	matched  int // finals that followed a partial of their ID
	errs     []string

	noTranscript bool // the protocol has no transcript: none is wanted
}

func newChecker(speakers int) *checker {
	return &checker{want: speakers, roster: map[string]bool{}, frames: map[string]int{},
		tracks: map[string]*track{}, disorder: map[string]int{}, partial: map[string]bool{}}
}

func (c *checker) errorf(format string, args ...any) {
	if len(c.errs) < 20 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

// see checks one event; it reports whether everything wanted has been seen.
func (c *checker) see(ev transport.Event) bool {
	switch e := ev.(type) {
	case transport.State:
		c.states = append(c.states, e.State)
		switch {
		case len(c.states) == 1 && e.State != transport.StateConnecting:
			c.errorf("first state %q, want connecting", e.State)
		case len(c.states) == 2 && e.State != transport.StateLive:
			c.errorf("second state %q (%s), want live", e.State, e.Detail)
		case len(c.states) > 2:
			c.errorf("state %q (%s: %s) in a healthy room", e.State, e.Reason, e.Detail)
		}
	case transport.RoomInfo:
		c.notBeforeLive("room info")
		c.room = true
		if e.Listeners < 1 {
			c.errorf("room info says %d listeners; we are one", e.Listeners)
		}
		c.clean("room title", e.Title)
	case transport.Roster:
		c.notBeforeLive("roster")
		ids := map[string]bool{}
		for _, s := range e.Speakers {
			if s.ID == "" || ids[s.ID] {
				c.errorf("roster: empty or repeated speaker ID %q", s.ID)
			}
			ids[s.ID] = true
			c.clean("speaker ID", s.ID)
			c.clean("speaker name", s.Name)
			c.clean("speaker role", s.Role)
		}
		c.roster = ids
	case transport.AudioFrame:
		c.frame(e)
	case transport.TranscriptSegment:
		c.segment(e)
	case transport.Heartbeat:
		c.errorf("a heartbeat reached the room's consumer")
	case transport.ActiveSpeakers:
		for _, id := range e.IDs {
			if !c.roster[id] {
				c.errorf("active speaker %q is not in the roster %v", id, c.rosterIDs())
			}
		}
	}
	return c.satisfied()
}

func (c *checker) notBeforeLive(what string) {
	if len(c.states) < 2 {
		c.errorf("%s before the live state", what)
	}
}

func (c *checker) clean(what, s string) {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf) {
			c.errorf("%s %q holds control character %U", what, s, r)
			return
		}
	}
}

// track is what the checker keeps of one speaker's frames.
type track struct {
	last  transport.AudioFrame
	len48 float64 // the last frame's length in 48 kHz samples, by its payload
	drift float64 // how far the timestamps moved from the frames' lengths since a pause
}

func (c *checker) frame(f transport.AudioFrame) {
	if !c.room {
		c.errorf("audio before room info")
	}
	if !c.roster[f.Speaker] {
		c.errorf("audio from %q, who is not in the roster %v", f.Speaker, c.rosterIDs())
	}
	len48 := f.Duration.Seconds() * sampleRate
	if samples, rate, err := CheckFrame(f); err != nil {
		c.errorf("frame %d of %q: %v", f.Seq, f.Speaker, err)
	} else {
		len48 = float64(samples) * sampleRate / float64(rate)
	}
	c.frames[f.Speaker]++
	tr := c.tracks[f.Speaker]
	if tr == nil {
		c.tracks[f.Speaker] = &track{last: f, len48: len48}
		return
	}
	prev := tr.last
	d := int32(f.Seq - prev.Seq)
	if d <= 0 {
		c.disorder[f.Speaker]++
		if c.disorder[f.Speaker]*100 > c.frames[f.Speaker] && c.frames[f.Speaker] > 100 {
			c.errorf("%q: %d of %d frames out of order or repeated", f.Speaker, c.disorder[f.Speaker], c.frames[f.Speaker])
		}
		return
	}
	// The timestamp moves by the frames' length at 48 kHz (those lost in between taken
	// as long as the last), as the running total of their samples places them: a step
	// may round a fraction of a sample down or up, but the steps never drift a whole
	// sample from the total. It moves further where the speaker sent nothing.
	want := float64(d) * tr.len48
	switch dt := float64(int32(f.Timestamp - prev.Timestamp)); {
	case dt < math.Floor(want):
		c.errorf("%q: seq %d→%d moved the timestamp %.0f, want at least %.0f", f.Speaker, prev.Seq, f.Seq, dt, math.Floor(want))
		tr.drift = 0
	case dt > want+1:
		tr.drift = 0 // a pause: a new run of frames
	default:
		if tr.drift += dt - want; math.Abs(tr.drift) > 1 {
			c.errorf("%q: by seq %d the timestamps drifted %.2f samples from the frames' running total", f.Speaker, f.Seq, tr.drift)
			tr.drift = 0
		}
	}
	tr.last, tr.len48 = f, len48
}

// sampleRate is the rate of the room clock, which timestamps count.
const sampleRate = 48000

// CheckFrame checks a frame against the payload convention of transport.Codec: an
// Opus frame is one valid Opus packet; an AAC frame one ADTS frame of AAC-LC with one
// raw data block, and an MP3 frame one MPEG audio frame, each exactly as long as its
// header says; and Duration is the payload's samples at its rate, within one sample
// of the room clock. A Vorbis frame is one audio packet of the stream whose headers
// its Setup holds, and lasts what a packet of its block lasts after a short or a long
// one, or nothing (the first of a stream). It returns the samples per channel the
// payload holds and their rate. A protocol's own tests may check their frames with it
// outside Run.
func CheckFrame(f transport.AudioFrame) (samples, rate int, err error) {
	switch f.Codec {
	case transport.CodecOpus:
		if samples, err = audio.PacketSamples(f.Payload); err != nil {
			return 0, 0, fmt.Errorf("%d bytes of opus: %w", len(f.Payload), err)
		}
		rate = sampleRate
	case transport.CodecAAC, transport.CodecMP3:
		parse := audio.ParseMPEG
		if f.Codec == transport.CodecAAC {
			parse = audio.ParseADTS
		}
		h, err := parse(f.Payload)
		switch {
		case err != nil:
			return 0, 0, fmt.Errorf("%d bytes of %s: %w", len(f.Payload), f.Codec, err)
		case h.Length != len(f.Payload):
			return 0, 0, fmt.Errorf("%d bytes of %s, whose header says %d", len(f.Payload), f.Codec, h.Length)
		case f.Codec == transport.CodecAAC && (h.ObjectType != audio.AACObjectLC || h.Blocks != 1):
			return 0, 0, fmt.Errorf("AAC of object type %d in %d raw data blocks, want AAC-LC in one", h.ObjectType, h.Blocks)
		}
		samples, rate = h.Samples, h.Rate
	case transport.CodecVorbis:
		return checkVorbis(f)
	default:
		return 0, 0, fmt.Errorf("codec %q, want %s, %s, %s or %s", f.Codec, transport.CodecOpus, transport.CodecAAC, transport.CodecMP3, transport.CodecVorbis)
	}
	if f.Setup != nil {
		return 0, 0, fmt.Errorf("%s frame with a Setup of %d bytes, want none", f.Codec, len(f.Setup))
	}
	want := time.Duration(samples) * time.Second / time.Duration(rate)
	if diff := f.Duration - want; diff < -time.Second/sampleRate || diff > time.Second/sampleRate {
		return samples, rate, fmt.Errorf("%s of %d samples at %d Hz lasts %s, want %s", f.Codec, samples, rate, f.Duration, want)
	}
	return samples, rate, nil
}

func (c *checker) segment(s transport.TranscriptSegment) {
	c.clean("transcript text", s.Text)
	if s.ID == "" || s.Text == "" {
		c.errorf("transcript segment with empty ID or text: %+v", s)
	}
	if !c.roster[s.Speaker] {
		c.errorf("transcript from %q, who is not in the roster %v", s.Speaker, c.rosterIDs())
	}
	if s.End < s.Start {
		c.errorf("transcript segment %q ends before it starts", s.ID)
	}
	if s.Chat != c.chat || c.chat && !s.Final {
		c.errorf("transcript segment %q: chat %v, final %v in a room whose transcript is chat: %v", s.ID, s.Chat, s.Final, c.chat)
	}
	if !s.Final {
		c.partials++
		c.partial[s.ID] = true
		return
	}
	c.finals++
	if c.partial[s.ID] {
		c.matched++
		delete(c.partial, s.ID)
	}
}

func (c *checker) satisfied() bool {
	heard := 0
	for _, n := range c.frames {
		if n >= minFrames {
			heard++
		}
	}
	return c.room && heard >= c.want && c.captioned()
}

// captioned reports whether the transcript was seen: a partial and a final after it,
// or, in a chat room, one message.
func (c *checker) captioned() bool {
	if c.noTranscript {
		return true
	}
	if c.chat {
		return c.finals > 0
	}
	return c.partials > 0 && c.matched > 0
}

func (c *checker) missing() error {
	var errs []error
	if !c.room {
		errs = append(errs, errors.New("no room info"))
	}
	errs = append(errs, fmt.Errorf("frames per speaker %v (want %d speakers with %d)", c.frames, c.want, minFrames))
	if !c.captioned() {
		errs = append(errs, fmt.Errorf("%d partial segments, %d finals after their partials", c.partials, c.matched))
	}
	errs = append(errs, fmt.Errorf("states %v", c.states))
	return errors.Join(errs...)
}

func (c *checker) rosterIDs() []string {
	ids := make([]string, 0, len(c.roster))
	for id := range c.roster {
		ids = append(ids, id)
	}
	return ids
}

// checkVorbis is CheckFrame of a Vorbis frame: its length depends on the packet before
// it, which the frame does not say, so any length a packet of its block may have will do.
func checkVorbis(f transport.AudioFrame) (samples, rate int, err error) {
	id, comment, setup, err := audio.SplitVorbisSetup(f.Setup)
	if err != nil {
		return 0, 0, err
	}
	h, err := audio.ParseVorbisHeaders(id, comment, setup)
	if err != nil {
		return 0, 0, err
	}
	long, err := h.PacketLong(f.Payload)
	if err != nil {
		return 0, 0, fmt.Errorf("%d bytes of vorbis: %w", len(f.Payload), err)
	}
	for _, n := range []int{0, h.Samples(false, long), h.Samples(true, long)} {
		want := time.Duration(n) * time.Second / time.Duration(h.Rate)
		if diff := f.Duration - want; diff >= -time.Second/sampleRate && diff <= time.Second/sampleRate {
			return n, h.Rate, nil
		}
	}
	return 0, 0, fmt.Errorf("vorbis packet of a %v block at %d Hz lasts %s, want 0 or %d or %d samples", long, h.Rate, f.Duration,
		h.Samples(false, long), h.Samples(true, long))
}
