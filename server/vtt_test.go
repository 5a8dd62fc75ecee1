package server

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spacetui/spacetui/transport/wire"
)

func TestParseVTT(t *testing.T) {
	ms := time.Millisecond
	long := strings.Repeat("word ", 200)
	tests := []struct {
		name    string
		in      string
		want    []cue
		wantErr bool
	}{
		{name: "no header", in: "00:00.000 --> 00:01.000\nhi\n", wantErr: true},
		{name: "empty", in: "WEBVTT\n", want: nil},
		{
			name: "voices, ids, settings, hours",
			in: "\ufeffWEBVTT - title\nKind: captions\n\nc1\n00:00.300 --> 00:05.617 align:start\n<v Ada>Welcome back.\n\n" +
				"01:00:01.000 --> 01:00:02.500\n<v.loud Grace Hopper>Two\nlines</v>\n",
			want: []cue{
				{start: 300 * ms, end: 5617 * ms, voice: "Ada", text: "Welcome back."},
				{start: time.Hour + time.Second, end: time.Hour + 2500*ms, voice: "Grace Hopper", text: "Two lines"},
			},
		},
		{
			name: "CRLF, other tags, entities, no voice",
			in:   "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\n<b>bold</b> &amp; <i>it</i> <00:01.500>later &lt;3\r\n",
			want: []cue{{start: time.Second, end: 2 * time.Second, text: "bold & it later <3"}},
		},
		{
			name: "malformed cues skipped",
			in: "WEBVTT\n\nNOTE a comment\n--> not a cue\n\n00:02.000 --> 00:01.000\n<v A>backwards\n\n" +
				"00:01.00 --> 00:02.000\nshort fraction\n\n0:01.000 --> 00:02.000\none-digit minutes\n\n" +
				"00:61.000 --> 00:62.000\nbad seconds\n\n00:01.000 --> 00:02.000\n\n00:01.000 -->\nno end\n\n" +
				"00:03.000 --> 00:04.000\n<v Linus>kept\n",
			want: []cue{{start: 3 * time.Second, end: 4 * time.Second, voice: "Linus", text: "kept"}},
		},
		{
			name: "control characters removed from text and names",
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ev\x1b[31mil>hi\x07 \u202ethere\n",
			want: []cue{{start: time.Second, end: 2 * time.Second, voice: "Evil", text: "hi there"}},
		},
		{
			name: "long text truncated",
			in:   "WEBVTT\n\n00:01.000 --> 00:02.000\n" + long + "\n",
			want: []cue{{start: time.Second, end: 2 * time.Second, text: strings.Repeat("word ", 100)[:wire.MaxTextRunes-1] + "…"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVTT([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d cues %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("cue %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseVTTLimits(t *testing.T) {
	if _, err := parseVTT(make([]byte, maxVTTBytes+1)); err == nil {
		t.Error("a file over the limit was accepted")
	}
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for range maxCues + 10 {
		b.WriteString("00:01.000 --> 00:02.000\nx\n\n")
	}
	cues, err := parseVTT([]byte(b.String()))
	if err != nil || len(cues) != maxCues {
		t.Errorf("got %d cues, err %v; want %d", len(cues), err, maxCues)
	}
}

func TestDemoVTT(t *testing.T) {
	cues, err := parseVTT(demoVTT)
	if err != nil {
		t.Fatal(err)
	}
	voices := map[string]bool{}
	for _, c := range cues {
		voices[c.voice] = true
	}
	if len(cues) < 15 || len(voices) < 3 {
		t.Errorf("demo: %d cues, voices %v", len(cues), voices)
	}
}

func FuzzParseVTT(f *testing.F) {
	f.Add([]byte("WEBVTT\n\n00:00.300 --> 00:05.617\n<v Ada>Welcome back.\n"))
	f.Add([]byte("WEBVTT\r\n\r\nid\r\n01:00:01.000 --> 01:00:02.500 line:0\r\n<v.a B>x &amp; <b>y</b>\r\n"))
	f.Add([]byte("WEBVTT\n\n00:01.000 --> 00:02.000\n<v"))
	f.Add(demoVTT)
	f.Fuzz(func(t *testing.T, data []byte) {
		cues, err := parseVTT(data)
		if err != nil {
			return
		}
		for _, c := range cues {
			if c.end <= c.start || c.start < 0 {
				t.Fatalf("bad timing %+v", c)
			}
			if c.text == "" || utf8.RuneCountInString(c.text) > wire.MaxTextRunes || !utf8.ValidString(c.text) {
				t.Fatalf("bad text %q", c.text)
			}
			if utf8.RuneCountInString(c.voice) > wire.MaxNameRunes || strings.ContainsAny(c.voice+c.text, "\x1b\x00\n") {
				t.Fatalf("bad voice %q or text %q", c.voice, c.text)
			}
		}
	})
}
