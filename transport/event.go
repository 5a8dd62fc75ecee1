// Package transport is the room model every protocol maps onto: the event types a joined
// room produces, the one-attempt Conn a protocol implements, and the URL-scheme registry
// that picks the protocol for a room URL. Each protocol lives in its own sub-package and
// registers itself in init, as litestream's replica clients do.
//
// Nothing here imports audio, record, ui or session: those packages consume these types.
package transport

import "time"

// Event is one thing that happened in a room. The concrete types are RoomInfo, Roster,
// AudioFrame, TranscriptSegment, State, Gap, Ended, ActiveSpeakers and Heartbeat.
type Event interface{ isEvent() }

// RoomInfo describes the room. A protocol sends it on join and again whenever a field
// changes (the listener count, typically).
type RoomInfo struct {
	ID        string
	Title     string
	Started   time.Time
	Listeners int
	// BehindLive is how far behind the live edge the room's audio reaches us, before
	// playback's own buffer: an HLS stream plays a few segments behind the end of its
	// playlist. It is 0 where the server sends the room as it happens. A protocol that
	// knows it sends a RoomInfo again when it changes (in whole seconds, say).
	BehindLive time.Duration
}

// Speaker is one participant who may publish audio.
type Speaker struct {
	// ID is stable for the life of the room; it names the speaker's audio track.
	ID    string
	Name  string
	Role  string
	Muted bool
}

// Roster is the full list of speakers; each Roster replaces the previous one.
type Roster struct {
	Speakers []Speaker
}

// Codec names the coding of an AudioFrame's payload.
type Codec string

// The codecs a transport may deliver. A payload is self-describing where its codec
// allows, so that a decoder and a track writer need nothing but the frames: an AAC frame
// carries its ADTS header (a transport that receives raw access units, from fMP4 or
// MPEG-TS, prepends one built from the AudioSpecificConfig), an MP3 frame its MPEG
// header. A Vorbis packet cannot be: it is read with the stream's three header packets,
// which every frame of the stream carries in AudioFrame.Setup. A frame of a codec the
// pipeline or the recorder cannot handle is reported once by each and skipped.
//
// Timestamps count 48 kHz samples whatever the codec's own rate: a transport advances
// them by the frame's duration at 48 kHz, computed from the running total of samples so
// that rounding does not drift. Frames need not be 20 ms long (AAC carries 1024 samples,
// MP3 1152, Vorbis a varying count); the pipeline decodes each to 48 kHz mono and plays it
// out in 20 ms steps.
//
// A Vorbis packet lasts half its block and half the previous one (a quarter of each
// block size, Vorbis I section 4.3.8), by the block sizes of the identification header
// and the block flag of the packet's mode in the setup header; the first packet of a
// stream lasts nothing (Duration 0: it only primes the decoder) and has the timestamp of
// the packet after it.
const (
	CodecOpus   Codec = "opus"   // one Opus packet (RFC 6716)
	CodecAAC    Codec = "aac"    // one ADTS frame of AAC-LC: header and one raw data block
	CodecMP3    Codec = "mp3"    // one MPEG-1/2/2.5 audio frame, header included
	CodecVorbis Codec = "vorbis" // one Vorbis audio packet (Vorbis I section 4.3); Setup holds the headers
)

// AudioFrame is one encoded packet of one speaker's track. Seq increases by one per
// frame and wraps; Timestamp counts 48 kHz samples and wraps. Duration is how much audio
// the packet carries. Payload is shared and must not be modified by the receiver.
type AudioFrame struct {
	Speaker   string
	Codec     Codec
	Seq       uint32
	Timestamp uint32
	Duration  time.Duration
	Payload   []byte
	// Setup is, for CodecVorbis, the stream's identification, comment and setup header
	// packets in Xiph lacing, as Matroska's CodecPrivate holds them: a byte 2 (three
	// packets less one), the sizes of the first two packets each as a run of 255s and
	// one byte below 255 that add up to it, then the three packets back to back (the
	// last one's size is what remains); audio.PackVorbisSetup and SplitVorbisSetup. It
	// is the same slice, not a copy, in every frame of one logical stream, so a receiver
	// tells a new stream by the slice (its first element's address), not by its bytes:
	// a chained Ogg stream's next link, or a reconnect, brings a new one. It is shared
	// and must not be modified. Other codecs leave it nil.
	Setup []byte
}

// TranscriptSegment is a caption. Partial segments grow and are replaced by later
// segments with the same ID; a Final segment is the last word on that ID. Start and End
// are offsets on the room clock.
type TranscriptSegment struct {
	ID      string
	Speaker string
	Start   time.Duration
	End     time.Duration
	Text    string
	Final   bool
	// Chat marks a message someone typed into the room's chat, not a caption of what
	// was said; such a segment is final when it arrives.
	Chat bool
}

// ConnState is the connection's phase as the user sees it.
type ConnState string

// The connection states; the strings are the JSON contract (transport/jsonl).
const (
	StateConnecting   ConnState = "connecting"
	StateLive         ConnState = "live"
	StateReconnecting ConnState = "reconnecting"
	StateStalled      ConnState = "stalled"
	StateEnded        ConnState = "ended"
)

// Reasons attached to State and Ended events; the strings are the JSON contract.
const (
	ReasonOverloaded   = "overloaded"
	ReasonDropped      = "dropped"
	ReasonRestart      = "restart"
	ReasonStalled      = "stalled"
	ReasonUnauthorized = "unauthorized"
	ReasonNotFound     = "not_found"
	ReasonRoomEnded    = "room_ended"
	ReasonLeft         = "left"
	// ReasonNoSpeakers goes with StateLive: the room is joined but nobody publishes
	// audio, so its silence is not a quiet speaker. A protocol whose server creates
	// rooms on join (LiveKit) says so for a mistyped room name too; Detail says more.
	ReasonNoSpeakers = "no_speakers"
	// ReasonUnreachable goes with StateReconnecting: the attempt could not open a
	// connection at all (refused, no route, no such host; an UnreachableError), so the
	// server never accepted us; Detail names the host and port.
	ReasonUnreachable = "unreachable"
)

// State reports a change of connection state. Attempt and RetryIn are set while
// reconnecting; Reason says why the state changed.
type State struct {
	State   ConnState
	Reason  string
	Attempt int
	RetryIn time.Duration
	// RetryAfter is, while reconnecting after an overload, the Retry-After the server
	// gave (0 for none): RetryIn waits at least that long, and a server that paces its
	// crowd (a WaitingRoom) keeps a place for us then, which retrying early gives up.
	RetryAfter time.Duration
	// Silence is, when stalled, how long nothing had arrived when the state was
	// reported.
	Silence time.Duration
	// Detail is a human-readable sentence for the status line and the log.
	Detail string
}

// Gap reports audio that was lost and will not come back.
type Gap struct {
	From time.Time
	To   time.Time
	Why  string
}

// Seconds is the length of the gap.
func (g Gap) Seconds() float64 { return g.To.Sub(g.From).Seconds() }

// Ended means the room is over; no further events follow.
type Ended struct {
	Reason string
}

// ActiveSpeakers is a protocol's own view of who is talking (LiveKit's active-speaker
// updates), by speaker ID. It is a hint: where audio is decoded, who is talking comes
// from the decoded level; only a client that cannot decode shows this instead.
type ActiveSpeakers struct {
	IDs []string
}

// Heartbeat says the connection is alive though nothing else happened, for protocols
// whose keep-alives are invisible to the room model (LiveKit's signalling pings). The
// Reconnector consumes it for stall detection and does not pass it on.
type Heartbeat struct{}

func (RoomInfo) isEvent()          {}
func (Roster) isEvent()            {}
func (AudioFrame) isEvent()        {}
func (TranscriptSegment) isEvent() {}
func (State) isEvent()             {}
func (Gap) isEvent()               {}
func (Ended) isEvent()             {}
func (Heartbeat) isEvent()         {}
func (ActiveSpeakers) isEvent()    {}
