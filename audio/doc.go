// Package audio turns the audio frames of a room into sound and into files.
//
// It owns everything between a received packet and the sound card: the per-speaker
// JitterBuffer (reordering, loss and late detection, an adaptive target delay, clock-drift
// correction), a FrameDecoder per codec (NewFrameDecoder: Opus with packet loss
// concealment and in-band FEC, AAC-LC and MP3, each brought to 48 kHz mono), the Mixer
// (volume, mutes and a soft limiter), level Meters with talking detection, the output
// Sinks (PortAudio, WAV file, null) that pace playout, and Ogg Opus muxing and demuxing
// (OggWriter, OggReader) per RFC 7845. Pipeline ties them together for a session.
//
// The sound card is the master clock: Sink.Write blocks until the device can take the next
// 20 ms, so the playout goroutine runs at the device's rate and the jitter buffers absorb
// the difference from the room's clock. Packets need not be 20 ms long: what a packet
// decodes to beyond the 20 ms played is carried over to the next ticks.
//
// Opus decoding and PortAudio need cgo; without it those parts return
// ErrNeedsFullBuild while the pure Go parts, AAC and MP3 decoding among them, keep
// working. The AAC and MP3 decoders allocate their state only when a track in their
// codec plays.
package audio

import "time"

// The room's audio format: mono Opus at 48 kHz in 20 ms frames.
const (
	// SampleRate is the sample rate of all PCM in this package, in Hz.
	SampleRate = 48000
	// FrameSamples is the number of samples in one 20 ms frame.
	FrameSamples = 960
	// FrameDuration is the duration of one frame.
	FrameDuration = 20 * time.Millisecond
)

// samplesToDuration converts a count of 48 kHz samples to a duration without overflow
// for any realistic stream length (1e9/48000 = 62500/3).
func samplesToDuration(n int64) time.Duration {
	return time.Duration(n * 62500 / 3)
}
