// Package wire is the codec of spacetui's own room protocol, version 1: binary audio
// messages carrying Opus frames and JSON control messages. docs/protocol.md is the spec;
// this package is its reference implementation, shared by the client (transport/ws) and
// the reference server. Every decoder here bounds what it accepts: the bytes come from
// the network.
package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spacetui/spacetui/transport"
)

// Version is the protocol version this package speaks.
const Version = 1

// Limits of the protocol. A peer that exceeds them is misbehaving; a decoder rejects the
// message, it never allocates for it.
const (
	// MaxMessage bounds any WebSocket message, text or binary.
	MaxMessage = 64 << 10
	// MaxFramesPerMessage bounds the frames of one audio message (one 20 ms tick of
	// every speaker in the room).
	MaxFramesPerMessage = 64
	// MaxPayload is the largest Opus packet (RFC 6716, 3.2.1).
	MaxPayload = 1275
	// MaxSpeakers bounds a roster.
	MaxSpeakers = 64
	// MaxTextRunes bounds transcript text; longer text is truncated by the sender. It
	// is the room model's limit (transport's one table), so a server that keeps it
	// sends text no client cuts.
	MaxTextRunes = transport.MaxTextRunes
	// MaxNameRunes bounds names, roles, titles and ids; longer ones are truncated by
	// the sender. It is the room model's limit, as MaxTextRunes.
	MaxNameRunes = transport.MaxNameRunes
)

// Audio message layout.
const (
	// AudioKind is the first byte of a binary audio message in version 1.
	AudioKind    = 0xA1
	audioHeader  = 2  // kind, frame count
	frameHeader  = 12 // track u16, seq u32, timestamp u32, length u16
	SampleRate   = 48000
	FrameSamples = 960 // 20 ms at 48 kHz
)

// Errors returned by the decoders.
var (
	ErrTooLarge    = errors.New("wire: message too large")
	ErrMalformed   = errors.New("wire: malformed message")
	ErrUnknownKind = errors.New("wire: unknown message kind")
)

// Frame is one Opus packet of one track.
type Frame struct {
	Track     uint16
	Seq       uint32
	Timestamp uint32
	Payload   []byte
}

// AppendAudio appends the audio message carrying frames to dst.
func AppendAudio(dst []byte, frames []Frame) ([]byte, error) {
	if len(frames) == 0 || len(frames) > MaxFramesPerMessage {
		return dst, fmt.Errorf("%w: %d frames", ErrMalformed, len(frames))
	}
	dst = append(dst, AudioKind, byte(len(frames)))
	for _, f := range frames {
		if len(f.Payload) == 0 || len(f.Payload) > MaxPayload {
			return dst, fmt.Errorf("%w: payload of %d bytes", ErrMalformed, len(f.Payload))
		}
		dst = binary.BigEndian.AppendUint16(dst, f.Track)
		dst = binary.BigEndian.AppendUint32(dst, f.Seq)
		dst = binary.BigEndian.AppendUint32(dst, f.Timestamp)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.Payload)))
		dst = append(dst, f.Payload...)
	}
	if len(dst) > MaxMessage {
		return dst, ErrTooLarge
	}
	return dst, nil
}

// ParseAudio decodes an audio message, appending its frames to dst. The payloads alias b.
func ParseAudio(dst []Frame, b []byte) ([]Frame, error) {
	if len(b) > MaxMessage {
		return dst, ErrTooLarge
	}
	if len(b) < audioHeader {
		return dst, ErrMalformed
	}
	if b[0] != AudioKind {
		return dst, fmt.Errorf("%w: 0x%02x", ErrUnknownKind, b[0])
	}
	n := int(b[1])
	if n == 0 || n > MaxFramesPerMessage {
		return dst, fmt.Errorf("%w: %d frames", ErrMalformed, n)
	}
	b = b[audioHeader:]
	for i := 0; i < n; i++ {
		if len(b) < frameHeader {
			return dst, fmt.Errorf("%w: truncated frame header", ErrMalformed)
		}
		size := int(binary.BigEndian.Uint16(b[10:12]))
		if size == 0 || size > MaxPayload || len(b) < frameHeader+size {
			return dst, fmt.Errorf("%w: payload of %d bytes", ErrMalformed, size)
		}
		dst = append(dst, Frame{
			Track:     binary.BigEndian.Uint16(b[0:2]),
			Seq:       binary.BigEndian.Uint32(b[2:6]),
			Timestamp: binary.BigEndian.Uint32(b[6:10]),
			Payload:   b[frameHeader : frameHeader+size : frameHeader+size],
		})
		b = b[frameHeader+size:]
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return dst, nil
}

// Control message types (the "type" field).
const (
	TypeJoin       = "join"
	TypeHello      = "hello"
	TypeRoster     = "roster"
	TypeTranscript = "transcript"
	TypeListeners  = "listeners"
	TypePing       = "ping"
	TypePong       = "pong"
	TypeEnded      = "ended"
	TypeGap        = "gap"
)

// Join is the client's first message. Session, Epoch and Last (the last sequence number
// received, by speaker id) are set when resuming.
type Join struct {
	Version int               `json:"version"`
	Session string            `json:"session,omitempty"`
	Epoch   string            `json:"epoch,omitempty"`
	Last    map[string]uint32 `json:"last,omitempty"`
}

// Room is the room description carried by Hello.
type Room struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Started   string `json:"started"` // RFC 3339
	Listeners int    `json:"listeners"`
}

// Hello is the server's answer to Join.
type Hello struct {
	Version        int    `json:"version"`
	Session        string `json:"session"`
	Epoch          string `json:"epoch"`
	Resumed        bool   `json:"resumed"`
	ReplayWindowMs int    `json:"replay_window_ms"`
	HeartbeatMs    int    `json:"heartbeat_ms"`
	Room           Room   `json:"room"`
}

// Speaker is one roster entry; Track is the number its audio frames carry.
type Speaker struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Muted bool   `json:"muted"`
	Track uint16 `json:"track"`
}

// Roster is the full speaker list; each replaces the last.
type Roster struct {
	Speakers []Speaker `json:"speakers"`
}

// Transcript is one caption segment, partial or final; StartMs and EndMs are on the room
// clock (milliseconds since the room started).
type Transcript struct {
	ID      string `json:"id"`
	Speaker string `json:"speaker"`
	StartMs int64  `json:"start_ms"`
	EndMs   int64  `json:"end_ms"`
	Text    string `json:"text"`
	Final   bool   `json:"final"`
}

// Listeners carries the current listener count.
type Listeners struct {
	Count int `json:"count"`
}

// Ping is the server's heartbeat; the client answers with a Pong carrying the same T.
type Ping struct {
	T int64 `json:"t"`
}

// Pong answers a Ping.
type Pong struct {
	T int64 `json:"t"`
}

// Ended says the room is over.
type Ended struct {
	Reason string `json:"reason"`
}

// Gap tells a resuming client that frames from FromMs to ToMs on the room clock are no
// longer in the replay window.
type Gap struct {
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
	Why    string `json:"why"`
}

// Marshal encodes a control message with its type field. v must be one of the message
// types of this package (value or pointer).
func Marshal(v any) ([]byte, error) {
	t, err := typeOf(v)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	// Splice "type" in as the first member: {"type":"x",<body without its brace>}.
	out := make([]byte, 0, len(body)+len(t)+12)
	out = append(out, `{"type":"`...)
	out = append(out, t...)
	out = append(out, '"')
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = append(out, body[1:]...)
	if len(out) > MaxMessage {
		return nil, ErrTooLarge
	}
	return out, nil
}

func typeOf(v any) (string, error) {
	switch v.(type) {
	case Join, *Join:
		return TypeJoin, nil
	case Hello, *Hello:
		return TypeHello, nil
	case Roster, *Roster:
		return TypeRoster, nil
	case Transcript, *Transcript:
		return TypeTranscript, nil
	case Listeners, *Listeners:
		return TypeListeners, nil
	case Ping, *Ping:
		return TypePing, nil
	case Pong, *Pong:
		return TypePong, nil
	case Ended, *Ended:
		return TypeEnded, nil
	case Gap, *Gap:
		return TypeGap, nil
	}
	return "", fmt.Errorf("wire: %T is not a control message", v)
}

// Unmarshal decodes a control message and returns a pointer to one of this package's
// message types. An unknown type returns ErrUnknownKind, which a receiver ignores so
// that later versions can add messages.
func Unmarshal(b []byte) (any, error) {
	if len(b) > MaxMessage {
		return nil, ErrTooLarge
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var v any
	switch head.Type {
	case TypeJoin:
		v = new(Join)
	case TypeHello:
		v = new(Hello)
	case TypeRoster:
		v = new(Roster)
	case TypeTranscript:
		v = new(Transcript)
	case TypeListeners:
		v = new(Listeners)
	case TypePing:
		v = new(Ping)
	case TypePong:
		v = new(Pong)
	case TypeEnded:
		v = new(Ended)
	case TypeGap:
		v = new(Gap)
	default:
		return nil, fmt.Errorf("%w: %.32q", ErrUnknownKind, head.Type)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, head.Type, err)
	}
	if r, ok := v.(*Roster); ok && len(r.Speakers) > MaxSpeakers {
		return nil, fmt.Errorf("%w: roster of %d speakers", ErrMalformed, len(r.Speakers))
	}
	return v, nil
}
