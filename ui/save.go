package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/spacetui/spacetui/record"
	"github.com/spacetui/spacetui/transport"
)

// saveTranscript returns the command that writes the transcript so far as
// spacetui-ROOM-YYYYmmdd-HHMMSS.vtt in Options.SaveDir. Update only copies what it
// holds; formatting and the write happen in the command.
func (m *Model) saveTranscript() tea.Cmd {
	segs := m.transcript.Segments()
	if len(segs) == 0 {
		m.setFlash("no captions to save yet", false)
		return nil
	}
	names := map[string]string{}
	for _, s := range segs {
		names[s.Speaker] = m.common.Speakers.Name(s.Speaker)
	}
	name := fmt.Sprintf("spacetui-%s-%s", fileSafe(m.room.ID), m.now().Format("20060102-150405"))
	dir := m.opts.SaveDir
	return func() tea.Msg {
		path, err := writeVTT(dir, name, vttBytes(segs, names))
		return savedMsg{path: path, err: err}
	}
}

// vttBytes is the transcript as a WebVTT file, cues timed on the room's clock.
func vttBytes(segs []transport.TranscriptSegment, names map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString(record.VTTHeader)
	for _, s := range segs {
		end := max(s.End, s.Start+time.Millisecond) // a cue must end after it starts
		b.Write(record.VTTCue(oneLine(s.ID), s.Start, end, oneLine(names[s.Speaker]), oneLine(s.Text)))
	}
	return b.Bytes()
}

// oneLine keeps a cue's text on its line and its payload free of the timing arrow.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for strings.Contains(s, "-->") {
		s = strings.ReplaceAll(s, "-->", "->")
	}
	return s
}

// writeVTT writes data to dir/name.vtt, never over an existing file: a second save in
// the same second is name-2.vtt.
func writeVTT(dir, name string, data []byte) (string, error) {
	for i := 1; i <= 100; i++ {
		file := name + ".vtt"
		if i > 1 {
			file = fmt.Sprintf("%s-%d.vtt", name, i)
		}
		path := filepath.Join(dir, file)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	}
	return "", fmt.Errorf("%s.vtt and 99 more exist", name)
}

// fileSafe makes a room id part of a file name: letters, digits, '.', '_' and '-' only,
// at most 40 of them; "room" when nothing is left.
func fileSafe(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if strings.Trim(b.String(), "_.") == "" {
		return "room"
	}
	return b.String()
}
