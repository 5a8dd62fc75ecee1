package record

import (
	"fmt"
	"strings"
)

// vttHeader starts transcript.vtt.
const vttHeader = "WEBVTT\n"

// vttEscaper escapes the characters that would start markup in cue text and in a voice
// annotation (where '>' would end the tag).
var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// vttTime formats a position in samples as a WebVTT timestamp, hh:mm:ss.ttt.
func vttTime(samples int64) string {
	ms := max(samples, 0) / (sampleRate / 1000)
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// vttCue formats one cue block, the blank line before it included, so that it is written
// whole. id, voice and text must be sanitized already: they hold no line breaks.
func vttCue(id string, start, end int64, voice, text string, chat bool) []byte {
	for strings.Contains(id, "-->") { // the arrow would make the id a timing line
		id = strings.ReplaceAll(id, "-->", "->") // once is not enough: "--->" becomes "-->"
	}
	var b strings.Builder
	b.WriteString("\n")
	if id != "" {
		b.WriteString(id + "\n")
	}
	b.WriteString(vttTime(start) + " --> " + vttTime(end) + "\n")
	switch {
	case voice != "" && chat: // typed into the room's chat, not said: class "chat"
		b.WriteString("<v.chat " + vttEscaper.Replace(voice) + ">")
	case voice != "":
		b.WriteString("<v " + vttEscaper.Replace(voice) + ">")
	}
	b.WriteString(vttEscaper.Replace(text) + "\n")
	return []byte(b.String())
}
