// Package webvtt reads WebVTT files: the captions a room server plays from and the
// transcript.vtt a recording writes. It is the project's one parser of the format, so
// the server and the tests that check a recording read cues alike.
//
// It understands what captions need: the WEBVTT header, cue identifiers, cue timings
// (settings after the end time are ignored), the <v Name> voice tag and the header's
// X-TIMESTAMP-MAP that HLS segments carry; other tags are stripped and the common character references decoded. It does not clean the text for
// a terminal: a caller that shows or sends it does that.
package webvtt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits of the parser, which bounds its work whoever wrote the file: a file over
// MaxBytes is refused and cues past MaxCues are ignored.
const (
	MaxBytes = 4 << 20
	MaxCues  = 20000
)

// Cue is one cue of a file.
type Cue struct {
	// ID is the cue identifier, empty when the cue has none.
	ID string
	// Start and End are the cue's time span in the file; End is after Start.
	Start, End time.Duration
	// Voice is the annotation of the cue's first <v> tag, empty when it has none.
	Voice string
	// Text is the cue's payload with every tag removed, its lines joined by spaces and
	// character references decoded. It may be empty.
	Text string
}

// File is a parsed WebVTT file.
type File struct {
	// Cues are the well-formed cues, in file order.
	Cues []Cue
	// Malformed says why each block that is neither a cue nor a NOTE, STYLE or REGION
	// block was skipped (a bad timing, an end not after its start, no payload), in file
	// order. A player skips such a block too; a writer's test wants none.
	Malformed []error
	// TimestampMap is the header's X-TIMESTAMP-MAP, nil when it has none or one that
	// cannot be read.
	TimestampMap *TimestampMap
}

// TimestampMap is the X-TIMESTAMP-MAP of an HLS WebVTT segment (RFC 8216 section 3.5):
// the cue time Local is the MPEG-2 presentation timestamp MPEGTS of the media.
type TimestampMap struct {
	MPEGTS uint64 // 90 kHz ticks, 33 bits
	Local  time.Duration
}

// Offset is what a cue time must be moved by to be on the media's timeline, counted
// from MPEG-2 timestamp 0.
func (m TimestampMap) Offset() time.Duration {
	return time.Duration(m.MPEGTS)*time.Second/90000 - m.Local
}

// Parse parses a WebVTT file. It fails only on a missing header or a file over
// MaxBytes; a malformed cue is skipped and reported in File.Malformed.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("webvtt: file over %d bytes", MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	blocks := strings.Split(text, "\n\n")
	header, _, _ := strings.Cut(blocks[0], "\n")
	if header != "WEBVTT" && !strings.HasPrefix(header, "WEBVTT ") && !strings.HasPrefix(header, "WEBVTT\t") {
		return nil, errors.New("webvtt: missing WEBVTT header")
	}
	f := &File{TimestampMap: timestampMap(blocks[0])}
	line := 1 + strings.Count(blocks[0], "\n") + 2 // where the next block starts
	for _, block := range blocks[1:] {
		if len(f.Cues) == MaxCues {
			break
		}
		at := line + len(block) - len(strings.TrimLeft(block, "\n"))
		line += strings.Count(block, "\n") + 2
		lines := strings.Split(strings.Trim(block, "\n"), "\n")
		if lines[0] == "" || isComment(lines) {
			continue
		}
		c, err := parseCue(lines)
		if err != nil {
			f.Malformed = append(f.Malformed, fmt.Errorf("webvtt: line %d: %w", at, err))
			continue
		}
		f.Cues = append(f.Cues, c)
	}
	return f, nil
}

// timestampMap reads the X-TIMESTAMP-MAP of a header block, which says
// "X-TIMESTAMP-MAP=MPEGTS:<ticks>,LOCAL:<time>" (in either order).
func timestampMap(header string) *TimestampMap {
	for _, l := range strings.Split(header, "\n")[1:] {
		v, ok := strings.CutPrefix(l, "X-TIMESTAMP-MAP=")
		if !ok {
			continue
		}
		var m TimestampMap
		var hasTS, hasLocal bool
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), ":")
			var err error
			switch k {
			case "MPEGTS":
				n, ok := digits(val, 1, 10)
				m.MPEGTS, hasTS = uint64(n), ok && n < 1<<33
			case "LOCAL":
				m.Local, err = parseTime(val)
				hasLocal = err == nil
			}
		}
		if hasTS && hasLocal {
			return &m
		}
		return nil
	}
	return nil
}

// isComment reports whether the block of these lines is a NOTE, STYLE or REGION block.
// A block with a timing line in its first two lines is a cue, whatever its identifier.
func isComment(lines []string) bool {
	if strings.Contains(lines[0], "-->") || len(lines) > 1 && strings.Contains(lines[1], "-->") {
		return false
	}
	for _, kw := range []string{"NOTE", "STYLE", "REGION"} {
		if rest, ok := strings.CutPrefix(lines[0], kw); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return false
}

// parseCue parses the lines of a block that should be a cue.
func parseCue(lines []string) (Cue, error) {
	var c Cue
	if !strings.Contains(lines[0], "-->") {
		c.ID, lines = lines[0], lines[1:]
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "-->") {
		return Cue{}, errors.New("no timing line")
	}
	from, to, _ := strings.Cut(lines[0], "-->")
	var err error
	if c.Start, err = parseTime(strings.TrimSpace(from)); err != nil {
		return Cue{}, err
	}
	fields := strings.Fields(to)
	if len(fields) == 0 {
		return Cue{}, errors.New("no end time")
	}
	if c.End, err = parseTime(fields[0]); err != nil {
		return Cue{}, err
	}
	if c.End <= c.Start {
		return Cue{}, fmt.Errorf("end %v not after start %v", c.End, c.Start)
	}
	if len(lines) == 1 {
		return Cue{}, errors.New("no payload")
	}
	c.Voice, c.Text = cueText(strings.Join(lines[1:], "\n"))
	return c, nil
}

// parseTime parses a WebVTT timestamp: [hh:]mm:ss.ttt.
func parseTime(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) == 2 {
		parts = append([]string{"00"}, parts...)
	}
	if len(parts) != 3 {
		return 0, fmt.Errorf("bad timestamp %.20q", s)
	}
	secs, frac, _ := strings.Cut(parts[2], ".")
	h, okH := digits(parts[0], 2, 5)
	m, okM := digits(parts[1], 2, 2)
	sec, okS := digits(secs, 2, 2)
	ms, okF := digits(frac, 3, 3)
	if !okH || !okM || !okS || !okF || m > 59 || sec > 59 {
		return 0, fmt.Errorf("bad timestamp %.20q", s)
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
	return entities.Replace(voice), entities.Replace(strings.ReplaceAll(b.String(), "\n", " "))
}

// entities decodes the character references a cue's text may hold.
var entities = strings.NewReplacer(
	"&amp;", "&", "&lt;", "<", "&gt;", ">", "&nbsp;", " ", "&lrm;", "", "&rlm;", "",
	"&quot;", `"`, "&apos;", "'",
)
