package audio

import "errors"

var (
	// ErrNeedsFullBuild is returned by everything that needs Opus decoding or PortAudio
	// when the program was built without cgo.
	ErrNeedsFullBuild = errors.New("audio playback needs the full build (cgo with libopus and portaudio)")
	// ErrUnknownDevice reports an output device name that matches no device.
	ErrUnknownDevice = errors.New("unknown audio output device")
	// ErrAmbiguousDevice reports an output device name that matches several devices.
	ErrAmbiguousDevice = errors.New("ambiguous audio output device")
	// ErrNoDevice reports a system without a default output device.
	ErrNoDevice = errors.New("no audio output device")
	// ErrDeviceStalled reports an output device that stopped taking audio.
	ErrDeviceStalled = errors.New("audio output device stalled")
	// ErrClosed is returned by a Sink or OggWriter used after Close.
	ErrClosed = errors.New("audio: use after close")
	// ErrBadSinkSpec reports an output spec that cannot be parsed, such as "wav:" without a path.
	ErrBadSinkSpec = errors.New("bad audio output spec")
	// ErrUnsupportedCodec reports a track in a codec the pipeline cannot decode.
	ErrUnsupportedCodec = errors.New("unsupported audio codec")
	// ErrInvalidPacket reports an Opus packet that breaks RFC 6716 section 3.
	ErrInvalidPacket = errors.New("invalid opus packet")
	// ErrCorruptFrame reports an AAC or MP3 frame that does not parse or decode.
	ErrCorruptFrame = errors.New("corrupt audio frame")
	// ErrNotOpus reports an Ogg stream whose first logical stream is not Opus.
	ErrNotOpus = errors.New("not an ogg opus stream")
	// ErrBadPage reports a malformed Ogg page: bad capture pattern, version or checksum.
	ErrBadPage = errors.New("malformed ogg page")
	// ErrPacketTooLarge reports an Ogg packet larger than the reader's bound.
	ErrPacketTooLarge = errors.New("ogg packet too large")
	// ErrBadTag reports an OpusTags comment that is not KEY=value with a valid key.
	ErrBadTag = errors.New("bad opus tag")
)
