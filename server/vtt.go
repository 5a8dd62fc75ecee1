package server

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// Limits of the WebVTT parser. A room's captions come from a file the operator chose, but
// the parser bounds its work anyway: a file over maxVTTBytes is refused, cues past
// maxCues are ignored, and a cue's text over wire.MaxTextRunes code points is truncated
// (ending in "…"), never refused. Voice names are truncated to wire.MaxNameRunes.
const (
	maxVTTBytes = 4 << 20
	maxCues     = 20000
)

// cue is one caption: its time span in the file, the voice that speaks it (empty when
// the cue has no <v> tag) and its plain text.
type cue struct {
	start, end time.Duration
	voice      string
	text       string
}

// parseVTT parses a WebVTT file into its cues, in file order. It understands what a
// room needs: the WEBVTT header, cue identifiers, cue timings (settings after the end
// time are ignored), and the <v Name> voice tag (the first one of a cue names its
// voice); other tags are stripped and the common character references decoded. NOTE,
// STYLE and REGION blocks are skipped, and so is any malformed cue (a bad timing, an
// end not after its start, no text).
func parseVTT(data []byte) ([]cue, error) {
	if len(data) > maxVTTBytes {
		return nil, fmt.Errorf("webvtt file over %d bytes", maxVTTBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	blocks := strings.Split(text, "\n\n")
	header, _, _ := strings.Cut(blocks[0], "\n")
	if header != "WEBVTT" && !strings.HasPrefix(header, "WEBVTT ") && !strings.HasPrefix(header, "WEBVTT\t") {
		return nil, errors.New("webvtt: missing WEBVTT header")
	}
	var cues []cue
	for _, block := range blocks[1:] {
		if len(cues) == maxCues {
			break
		}
		if c, ok := parseCue(strings.Trim(block, "\n")); ok {
			cues = append(cues, c)
		}
	}
	return cues, nil
}

// parseCue parses one block; ok is false for anything that is not a well-formed cue.
func parseCue(block string) (c cue, ok bool) {
	lines := strings.Split(block, "\n")
	if !strings.Contains(lines[0], "-->") {
		lines = lines[1:] // the cue identifier, or a NOTE/STYLE/REGION block
	}
	if len(lines) < 2 {
		return cue{}, false
	}
	from, to, found := strings.Cut(lines[0], "-->")
	if !found {
		return cue{}, false
	}
	var err error
	if c.start, err = parseVTTTime(strings.TrimSpace(from)); err != nil {
		return cue{}, false
	}
	if fields := strings.Fields(to); len(fields) == 0 {
		return cue{}, false
	} else if c.end, err = parseVTTTime(fields[0]); err != nil {
		return cue{}, false
	}
	if c.end <= c.start {
		return cue{}, false
	}
	voice, plain := cueText(strings.Join(lines[1:], "\n"))
	c.voice = transport.Sanitize(voice, wire.MaxNameRunes)
	c.text = transport.Sanitize(plain, wire.MaxTextRunes)
	return c, c.text != ""
}

// parseVTTTime parses a WebVTT timestamp: [hh:]mm:ss.ttt.
func parseVTTTime(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) == 2 {
		parts = append([]string{"00"}, parts...)
	}
	if len(parts) != 3 {
		return 0, fmt.Errorf("webvtt: bad timestamp %.20q", s)
	}
	secs, frac, _ := strings.Cut(parts[2], ".")
	h, okH := digits(parts[0], 2, 5)
	m, okM := digits(parts[1], 2, 2)
	sec, okS := digits(secs, 2, 2)
	ms, okF := digits(frac, 3, 3)
	if !okH || !okM || !okS || !okF || m > 59 || sec > 59 {
		return 0, fmt.Errorf("webvtt: bad timestamp %.20q", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond, nil
}

// digits parses s as a decimal number of minLen to maxLen ASCII digits.
func digits(s string, minLen, maxLen int) (int, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// cueText returns the voice named by a cue's first <v> tag and the cue's text with every
// tag removed, lines joined by spaces and character references decoded.
func cueText(s string) (voice, text string) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break // an unterminated tag: drop the rest
		}
		tag := s[i+1 : i+j]
		s = s[i+j+1:]
		if voice == "" && (strings.HasPrefix(tag, "v ") || strings.HasPrefix(tag, "v.") || strings.HasPrefix(tag, "v\t")) {
			if _, name, ok := strings.Cut(strings.ReplaceAll(tag, "\t", " "), " "); ok {
				voice = strings.TrimSpace(name)
			}
		}
	}
	return unescapeVTT(voice), unescapeVTT(strings.ReplaceAll(b.String(), "\n", " "))
}

var vttEntities = strings.NewReplacer(
	"&amp;", "&", "&lt;", "<", "&gt;", ">", "&nbsp;", " ", "&lrm;", "", "&rlm;", "",
	"&quot;", `"`, "&apos;", "'",
)

func unescapeVTT(s string) string { return vttEntities.Replace(s) }
