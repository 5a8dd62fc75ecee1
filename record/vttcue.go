package record

import "time"

// VTTHeader starts a WebVTT file.
const VTTHeader = vttHeader

// VTTCue formats one WebVTT cue, the blank line before it included, with the timing
// given as offsets: the same writer as transcript.vtt, for a front end that saves the
// transcript it holds (the TUI's s key). id, voice and text must hold no line breaks.
func VTTCue(id string, start, end time.Duration, voice, text string) []byte {
	return vttCue(id, samples(start), samples(end), voice, text, false)
}

// samples converts d to 48 kHz samples at millisecond resolution, which cannot overflow.
func samples(d time.Duration) int64 { return d.Milliseconds() * (sampleRate / 1000) }
