package transport

// The one table of limits on the room's text, in runes. Every string of an event is
// cleaned once, where it enters: a protocol passes each event it makes through Clean,
// and the Reconnector the States it makes, so what the session, the recorder and the
// UI receive is already safe to print and already bounded, and they do not clean it
// again. The contract suite (transporttest) checks every protocol for it.
const (
	// MaxNameRunes bounds ids, names, roles and titles, and the short reasons of
	// states, gaps and ended rooms.
	MaxNameRunes = 80
	// MaxTextRunes bounds a transcript segment's text.
	MaxTextRunes = 500
	// MaxDetailRunes bounds a state's detail, a sentence that may quote the server.
	MaxDetailRunes = 200
)

// Clean returns ev with every string in it sanitized (see Sanitize) to its limit in the
// table above; slices are copied, never modified in place. A string that is already
// clean is returned as it is, without allocating, so cleaning every audio frame costs
// a scan of its speaker ID.
func Clean(ev Event) Event {
	switch e := ev.(type) {
	case RoomInfo:
		e.ID, e.Title = name(e.ID), name(e.Title)
		return e
	case Roster:
		sps := make([]Speaker, len(e.Speakers))
		for i, s := range e.Speakers {
			s.ID, s.Name, s.Role = name(s.ID), name(s.Name), name(s.Role)
			sps[i] = s
		}
		e.Speakers = sps
		return e
	case AudioFrame:
		e.Speaker = name(e.Speaker)
		e.Codec = Codec(name(string(e.Codec)))
		return e
	case TranscriptSegment:
		e.ID, e.Speaker, e.Text = name(e.ID), name(e.Speaker), Sanitize(e.Text, MaxTextRunes)
		return e
	case State:
		e.State = ConnState(name(string(e.State)))
		e.Reason, e.Detail = name(e.Reason), Sanitize(e.Detail, MaxDetailRunes)
		return e
	case Gap:
		e.Why = name(e.Why)
		return e
	case Ended:
		e.Reason = name(e.Reason)
		return e
	case ActiveSpeakers:
		ids := make([]string, len(e.IDs))
		for i, id := range e.IDs {
			ids[i] = name(id)
		}
		e.IDs = ids
		return e
	}
	return ev // Heartbeat, and events without text
}

func name(s string) string { return Sanitize(s, MaxNameRunes) }
