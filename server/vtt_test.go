package server

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spacetui/spacetui/internal/webvtt"
	"github.com/spacetui/spacetui/transport/wire"
)

// The parsing itself is internal/webvtt's; these check what the server makes of it.
func TestParseCaptions(t *testing.T) {
	long := strings.Repeat("word ", 200)
	tests := []struct {
		name    string
		in      string
		want    []webvtt.Cue
		wantErr bool
	}{
		{name: "no header", in: "00:00.000 --> 00:01.000\nhi\n", wantErr: true},
		{
			name: "control characters removed from text and names",
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ev\x1b[31mil>hi\x07 \u202ethere\n",
			want: []webvtt.Cue{{Start: time.Second, End: 2 * time.Second, Voice: "Evil", Text: "hi there"}},
		},
		{
			name: "long text and names truncated",
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n<v " + long + ">" + long + "\n",
			want: []webvtt.Cue{{Start: time.Second, End: 2 * time.Second,
				Voice: strings.Repeat("word ", 100)[:wire.MaxNameRunes-1] + "…",
				Text:  strings.Repeat("word ", 100)[:wire.MaxTextRunes-1] + "…"}},
		},
		{
			name: "malformed cues and cues with no text skipped",
			in: "WEBVTT\n\n00:02.000 --> 00:01.000\n<v A>backwards\n\n00:01.000 --> 00:02.000\n<v A><b></b>\x07\n\n" +
				"00:03.000 --> 00:04.000\n<v Linus>kept\n",
			want: []webvtt.Cue{{Start: 3 * time.Second, End: 4 * time.Second, Voice: "Linus", Text: "kept"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCaptions([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("cues %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDemoVTT(t *testing.T) {
	cues, err := parseCaptions(demoVTT)
	if err != nil {
		t.Fatal(err)
	}
	voices := map[string]bool{}
	for _, c := range cues {
		voices[c.Voice] = true
	}
	if len(cues) < 15 || len(voices) < 3 {
		t.Errorf("demo: %d cues, voices %v", len(cues), voices)
	}
}

func FuzzParseCaptions(f *testing.F) {
	f.Add([]byte("WEBVTT\n\n00:00.300 --> 00:05.617\n<v Ada>Welcome back.\n"))
	f.Add([]byte("WEBVTT\r\n\r\nid\r\n01:00:01.000 --> 01:00:02.500 line:0\r\n<v.a B>x &amp; <b>y</b>\r\n"))
	f.Add(demoVTT)
	f.Fuzz(func(t *testing.T, data []byte) {
		cues, err := parseCaptions(data)
		if err != nil {
			return
		}
		for _, c := range cues {
			if c.Text == "" || utf8.RuneCountInString(c.Text) > wire.MaxTextRunes || !utf8.ValidString(c.Text) {
				t.Fatalf("bad text %q", c.Text)
			}
			if utf8.RuneCountInString(c.Voice) > wire.MaxNameRunes || strings.ContainsAny(c.Voice+c.Text, "\x1b\x00\n") {
				t.Fatalf("bad voice %q or text %q", c.Voice, c.Text)
			}
		}
	})
}
