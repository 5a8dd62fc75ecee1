package server

import (
	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport"
	"github.com/spacetui/spacetui/transport/wire"
)

// parseCaptions parses a room's WebVTT captions and cleans what listeners will be sent:
// a voice name is cut to wire.MaxNameRunes and a cue's text to wire.MaxTextRunes (ending
// in "…", never refused), both sanitized. Malformed cues are skipped, and so are cues
// left with no text.
func parseCaptions(data []byte) ([]webvtt.Cue, error) {
	f, err := webvtt.Parse(data)
	if err != nil {
		return nil, err
	}
	cues := f.Cues[:0]
	for _, c := range f.Cues {
		c.Voice = transport.Sanitize(c.Voice, wire.MaxNameRunes)
		c.Text = transport.Sanitize(c.Text, wire.MaxTextRunes)
		if c.Text != "" {
			cues = append(cues, c)
		}
	}
	return cues, nil
}
