package livekit

import "time"

// Caption timing.
const (
	// silentBytes is the size below which an Opus packet carries no speech: DTX and
	// digital silence take 1 to 3 bytes, 20 ms of speech tens.
	silentBytes = 8
	// utterancePause is the silence after which voice begins a new utterance: what
	// was said before it, and never captioned, is not the next caption's.
	utterancePause = 1500 * time.Millisecond
	// captionLead bounds how long before its first text a caption may start, for a
	// speaker whose packets never look silent (background noise sent as full packets).
	captionLead = 15 * time.Second
)

// captionClock times captions from the speech they transcribe. LiveKit's text streams
// carry no times, and their first text arrives a second or more into the speech (a
// transcriber needs words before it writes any), so the time of arrival is late. The
// speaker's own audio says when the speech began: a caption starts where the speaker's
// voice began after their previous caption, and ends with the last voiced packet
// before its text arrived. A speaker whose audio was never heard is timed by arrival.
// Times are offsets on the room clock. captionClock is not safe for concurrent use.
type captionClock struct {
	voices map[string]voice         // per speaker
	open   map[string]time.Duration // partial segment ID -> its start
}

// voice is what the audio says about one speaker's speech.
type voice struct {
	speaking bool          // voice since the speaker's last final caption
	start    time.Duration // where that voice began
	last     time.Duration // the newest voiced packet
}

func newCaptionClock() *captionClock {
	return &captionClock{voices: map[string]voice{}, open: map[string]time.Duration{}}
}

// heard notes a packet of speaker's audio that arrived at the offset at.
func (cc *captionClock) heard(speaker string, at time.Duration, payload []byte) {
	if len(payload) <= silentBytes {
		return
	}
	v, ok := cc.voices[speaker]
	if !ok && len(cc.voices) >= maxOwners {
		clear(cc.voices) // a room that churned through this many speakers
	}
	if !v.speaking || at-v.last > utterancePause {
		v.speaking, v.start = true, at
	}
	v.last = at
	cc.voices[speaker] = v
}

// place returns the start and end of the text of segment id, by speaker, that arrived
// at now; final says it is the segment's last text.
func (cc *captionClock) place(id, speaker string, final bool, now time.Duration) (start, end time.Duration) {
	v, heard := cc.voices[speaker]
	start, open := cc.open[id]
	if !open {
		start = now
		if v.speaking {
			start = max(v.start, now-captionLead)
		}
	}
	end = now
	if heard && v.last >= start {
		end = v.last
	}
	switch {
	case final:
		delete(cc.open, id)
		if heard {
			v.speaking = false // voice from here on is the next caption's
			cc.voices[speaker] = v
		}
	case !open && len(cc.open) < maxOpenSegments:
		cc.open[id] = start
	}
	return start, end
}
