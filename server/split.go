package server

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spacetui/spacetui/audio"
)

// SpeakerTrack is one speaker of a room's content on a track of its own, for a platform
// such as LiveKit where each speaker is a participant publishing its own audio. The room
// is split exactly as the reference server routes it, so both carry the same voices.
type SpeakerTrack struct {
	// ID, Name and Role are those of the roster: ID is derived from the voice name,
	// the first speaker is the "host", the others are "speaker"s.
	ID, Name, Role string
	// Packets holds one 20 ms Opus packet per tick of the whole file: the speaker's own
	// packet where the room routes that tick to it, an Opus silence packet elsewhere.
	// Every track of a room has the same length, so tracks played from the same instant
	// stay aligned with each other and with the cues.
	Packets [][]byte
	// Cues are the speaker's captions, in start order.
	Cues []Cue
}

// Cue is one caption, timed from the start of the file.
type Cue struct {
	// ID is unique within the room ("c1", "c2", ...).
	ID         string
	Start, End time.Duration
	// Text is the caption's plain text, sanitized and bounded like the reference
	// server's transcript segments.
	Text string
}

// Duration returns the length of the track: one pass through the file.
func (t SpeakerTrack) Duration() time.Duration { return time.Duration(len(t.Packets)) * tick }

// SpeakerTracks splits a room made from an Ogg Opus file and, optionally, a WebVTT file
// (vtt nil: no captions) into one track per speaker. The synthetic "room" speaker, which
// owns the audio no caption gives a voice, is left out when it owns neither audio nor
// a caption.
func SpeakerTracks(ogg, vtt []byte) ([]SpeakerTrack, error) {
	c, err := newContent(ogg, vtt)
	if err != nil {
		return nil, err
	}
	return c.speakerTracks(), nil
}

// DemoSpeakerTracks splits the embedded demo room into its speakers' tracks.
func DemoSpeakerTracks() ([]SpeakerTrack, error) { return SpeakerTracks(demoOgg, demoVTT) }

func (c *content) speakerTracks() []SpeakerTrack {
	silence := audio.SilencePacket()
	tracks := make([]SpeakerTrack, len(c.speakers))
	owns := make([]bool, len(c.speakers))
	for i, s := range c.speakers {
		tracks[i] = SpeakerTrack{ID: s.ID, Name: s.Name, Role: s.Role, Packets: make([][]byte, len(c.packets))}
	}
	for n, p := range c.packets {
		for i := range tracks {
			tracks[i].Packets[n] = silence
		}
		if p != nil { // a lost frame in the file is silence for everyone
			tracks[c.owner[n]].Packets[n] = p
			owns[c.owner[n]] = true
		}
	}
	for _, q := range c.cues {
		tracks[q.speaker].Cues = append(tracks[q.speaker].Cues, Cue{
			ID:    q.id,
			Start: time.Duration(q.startMs) * time.Millisecond,
			End:   time.Duration(q.endMs) * time.Millisecond,
			Text:  strings.Join(q.words, " "),
		})
	}
	if r := c.roomSpeaker; r >= 0 && !owns[r] && len(tracks[r].Cues) == 0 {
		tracks = append(tracks[:r], tracks[r+1:]...)
	}
	return tracks
}

// WriteOgg writes the track to w as a single-stream Ogg Opus file (RFC 7845), with the
// speaker's name as its ARTIST tag.
func (t SpeakerTrack) WriteOgg(w io.Writer) error {
	ow, err := audio.NewOggWriter(w, audio.OggOptions{Comments: []string{"ARTIST=" + t.Name}})
	if err != nil {
		return err
	}
	for n, p := range t.Packets {
		if err := ow.WritePacket(p); err != nil {
			return fmt.Errorf("packet %d: %w", n, err)
		}
	}
	return ow.Close()
}

// WriteOggFile writes the track into dir as ID.ogg and returns the file's path. The
// ".ogg" extension is what tools that pick a demuxer by name (LiveKit's
// NewLocalFileTrack among them) need.
func (t SpeakerTrack) WriteOggFile(dir string) (path string, err error) {
	if t.ID == "" || strings.ContainsAny(t.ID, `/\`) || t.ID == "." || t.ID == ".." {
		return "", fmt.Errorf("speaker id %q is not a file name", t.ID)
	}
	path = filepath.Join(dir, t.ID+".ogg")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := t.WriteOgg(f); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}
