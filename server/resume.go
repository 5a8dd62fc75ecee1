package server

import (
	"time"

	"github.com/spacetui/spacetui/transport/wire"
)

// What a room remembers of the sessions whose listener has left.
const (
	// sessionTTL is how long a departed session can still be resumed (past the replay
	// window it resumes with a gap, which tells the client exactly what it lost).
	sessionTTL = 5 * time.Minute
	// maxGone bounds the departed sessions a room remembers; the oldest go first.
	maxGone = 50_000
)

// gapExpired is the why of a gap whose audio has left the replay window.
const gapExpired = "expired"

// session is a listener's session as its room remembers it, so that a client whose
// connection was lost can resume it.
type session struct {
	start []uint32  // per speaker, the last sequence number sent before the session began
	l     *listener // the connection serving the session; nil once it has left
	sent  int64     // once it has left: the tick of the last message written to it
	left  time.Time
}

// departure is an entry of the queue of departed sessions, oldest first.
type departure struct {
	id   string
	left time.Time
}

// forgetLocked forgets the departed sessions older than sessionTTL, and the oldest ones
// while there are more than maxGone. An entry is stale when its session has been
// resumed (and maybe left again) since: only the latest departure counts.
func (r *room) forgetLocked(now time.Time) {
	for len(r.gone) > 0 {
		g := r.gone[0]
		if len(r.gone) <= maxGone && now.Sub(g.left) < sessionTTL {
			return
		}
		r.gone = r.gone[1:]
		if s := r.sessions[g.id]; s != nil && s.l == nil && s.left.Equal(g.left) {
			delete(r.sessions, g.id)
		}
	}
}

// seqAfter reports whether sequence number a comes after b, modulo 2^32.
func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// appendMissedLocked appends to msgs what a resuming session missed, from the replay
// window in the order it was first sent:
//   - per track, every frame whose sequence number comes after last[speaker] (or, for
//     a speaker the client does not name, after the last one sent before the session
//     began), re-encoding an audio message only when some of its frames are not missed;
//   - the latest version of every transcript segment sent after the newest frame the
//     client confirmed (messages reach a client in order, so it has everything before
//     that frame), or, when no confirmed frame is still held, of every segment sent from
//     the tick of the last message written to the session's previous connection on;
//   - first, when some missed frames have already left the window, one gap from the
//     tick after that last written message to the oldest tick still held.
func (r *room) appendMissedLocked(msgs []message, s *session, last map[string]uint32) []message {
	n := len(r.content.speakers)
	base := make([]uint32, n)
	confirmed := make([]bool, n)
	for i, sp := range r.content.speakers {
		base[i] = s.start[i]
		if v, ok := last[sp.ID]; ok && !seqAfter(base[i], v) {
			base[i], confirmed[i] = v, true
		}
	}
	window := r.ring[r.ringHead:]
	from := -1 // transcript segments after window[from] were missed
	for i, rec := range window {
		for _, f := range rec.frames {
			if sp := r.speakerOf[f.Track]; f.Seq == base[sp] && confirmed[sp] {
				from = i
			}
		}
	}
	if from < 0 {
		for from+1 < len(window) && window[from+1].msg.tick < s.sent {
			from++
		}
	}
	for sp := range n {
		// A missed frame that has left the window is missing for good; the frames of
		// skipped ticks were never in it and never sent to anyone.
		if seqAfter(r.expired[sp], base[sp]) {
			oldest := r.last - r.replayTicks + 1
			gap, err := wire.Marshal(wire.Gap{
				FromMs: min(s.sent+1, oldest-1) * tick.Milliseconds(),
				ToMs:   oldest * tick.Milliseconds(),
				Why:    gapExpired,
			})
			if err == nil { // cannot fail: three bounded fields
				msgs = append(msgs, newMessage(false, gap, s.sent))
			}
			break
		}
	}

	latest := make(map[string]int) // segment id -> index in window of its latest version
	for i := from + 1; i < len(window); i++ {
		if c := window[i].caption; c != "" {
			latest[c] = i
		}
	}
	for i, rec := range window {
		if rec.caption != "" {
			if j, ok := latest[rec.caption]; ok && j == i {
				msgs = append(msgs, rec.msg)
			}
			continue
		}
		var missed []wire.Frame
		for _, f := range rec.frames {
			if seqAfter(f.Seq, base[r.speakerOf[f.Track]]) {
				missed = append(missed, f)
			}
		}
		switch len(missed) {
		case 0:
		case len(rec.frames):
			msgs = append(msgs, rec.msg)
		default: // a subset of frames already encoded once: it cannot fail
			data, _ := wire.AppendAudio(nil, missed)
			msgs = append(msgs, newMessage(true, data, rec.msg.tick))
		}
	}
	return msgs
}
